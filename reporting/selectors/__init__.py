"""Aggregating reads for the dashboard pages, one module per page; each returns tidy pandas DataFrames.

- ``overview``: the organization overview (``/``), KPI cards and charts from the daily rollup.
- ``team`` and ``project``: the team page and the project page.
- ``run``: the run page (samples, ledger lines with their factors, our figure beside the tracker's).
- ``hardware``: the fleet page (register, embodied in both views, refresh timeline, roll-forward, idle share).
- ``cloud``: the cloud page and ``manage.py cloud_reconciliation`` (estimate vs provider-reported).
- ``settings``: the settings hub's read-only lists.
- ``lists``: the Teams and Projects list pages.
- ``common``: what several pages share (views and their bases, quality tiers, ``PageData``, rollup helpers).

Import from the page's module (``from reporting.selectors.team import team_dashboard``): this package
re-exports nothing.
"""
