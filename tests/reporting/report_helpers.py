"""Helpers of the report tests: generate a report synchronously and read its JSON export's values."""

import json

from reporting.models import Report
from reporting.services import report_create, report_generate


def report_generated(org, label: str = "2025-Q1") -> Report:
    """A report of ``label`` generated in-process (no queue), asserted done."""
    report = report_generate(report=report_create(organization=org, period_label=label, enqueue=False))
    assert report.status == Report.Status.DONE, report.error
    return report


def report_json(report: Report) -> dict:
    """The report's JSON export, parsed."""
    return json.loads(bytes(report.files.get(file_format="json").content))


def report_values(body: dict) -> dict:
    """Datapoint and management values of a JSON export by reference (``E1-6.48a`` …)."""
    return {row["ref"]: row["value"] for row in [*body["datapoints"], *body["management"]]}
