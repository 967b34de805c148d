"""JSON: the report content as one object.

``datapoints`` items carry ``ref``, ``unit``, ``value`` and ``xbrl_concept``; ``totals_kg`` repeats the
inventory totals in kgCO2e to the gram. ``hourly_scope2`` is the supplementary hourly-matched Scope 2 (the
GHG Protocol revision's method, not ESRS datapoints): ``rows`` with ``hourly`` (a number, or ``"unknown"``)
and ``inventory`` (the 2015-method figure beside it, or null).
"""

from __future__ import annotations

import json

from reporting.reports.datapoints import ReportContent


def report_json(content: ReportContent) -> bytes:
    return (json.dumps(content.as_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
