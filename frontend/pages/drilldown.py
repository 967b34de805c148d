"""Drill-down: the page of each team, project or run a chart or table names.

``chart_links`` gives a chart's rows their ``(slug or id, URL)`` for ``figures.drilldown`` (a click on a bar
opens the page, static/frontend/drilldown.js); ``link_list`` gives the same pages as plain links under the
chart, for keyboards and screen readers, which cannot click a bar.
"""

from __future__ import annotations

import pandas as pd
from django.urls import reverse
from django.utils.http import urlencode

# Chart key column → the page it opens: team and project slugs, run ids.
PAGES = {"team_slug": "team", "project_slug": "project", "run_id": "run"}


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and value != ""


def chart_links(frame: pd.DataFrame, key: str, query: dict | None = None) -> list[tuple[object, str | None]]:
    """``(key value, URL)`` per row of ``frame``: the page of the team, project or run in column ``key``
    (``team_slug``, ``project_slug``, ``run_id``), with ``query`` (e.g. the period) for a team page; URL None
    for a row with no owner (unallocated records)."""
    suffix = f"?{urlencode(query)}" if query else ""
    links = []
    for value in frame[key].tolist():
        plain = int(value) if key == "run_id" and _present(value) else value
        links.append((plain, reverse(PAGES[key], args=[plain]) + suffix if _present(plain) else None))
    return links


def link_list(frame: pd.DataFrame, *, name: str, key: str, query: dict | None = None) -> list[dict]:
    """The pages of a chart's rows as ``{"name", "url"}`` for links under the chart (rows with a page only)."""
    names = frame[name].tolist()
    return [
        {"name": label, "url": url}
        for label, (_, url) in zip(names, chart_links(frame, key, query), strict=True)
        if url is not None
    ]
