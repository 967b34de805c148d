"""Golden files: the demo organization's 2025-Q1 report in every format matches tests/reporting/golden/.

Rewrite them deliberately with ``REWRITE_GOLDEN=1 .venv/bin/pytest -c tests/pytest.ini tests/reporting -k golden``
and review the diff. Database ids (``#123``) and the ``as_of`` timestamp differ from run to run and are
normalized first. CSV, JSON and XHTML are compared as text; the XLSX as the values of every sheet; the
PDF as its extracted text (the bytes of a zip or PDF depend on library versions).
"""

import io
import json
import os
import re
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings
from openpyxl import load_workbook
from pypdf import PdfReader

from frontend.demo import demo_organization_seed
from reporting.models import Report
from reporting.services import report_create, report_generate

GOLDEN = Path(__file__).resolve().parent / "golden"
REWRITE = os.environ.get("REWRITE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def demo_report(django_db_setup, django_db_blocker):
    """Seed the demo organization and generate its 2025-Q1 report once, rolled back after the module."""
    fast_hashing = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hashing, transaction.atomic():
        organization = demo_organization_seed()
        report = report_generate(report=report_create(organization=organization, period_label="2025-Q1", enqueue=False))
        assert report.status == Report.Status.DONE, report.error
        files = {stored.file_format: bytes(stored.content) for stored in report.files.all()}
        yield report, files
        transaction.set_rollback(True)


def _normalize(text: str, report: Report) -> str:
    text = text.replace(report.as_of.isoformat(), "<as_of>")
    text = text.replace(report.as_of.strftime("%Y-%m-%d %H:%M:%S"), "<as_of>")
    return re.sub(r"#\d+", "#<id>", text)


def _xlsx_values(data: bytes) -> str:
    workbook = load_workbook(io.BytesIO(data))
    sheets = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets}
    return json.dumps(sheets, indent=1, ensure_ascii=False, default=str) + "\n"


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages) + "\n"


RENDER = {
    "csv": ("demo-2025-Q1.csv", lambda data: data.decode()),
    "json": ("demo-2025-Q1.json", lambda data: data.decode()),
    "xhtml": ("demo-2025-Q1.xhtml", lambda data: data.decode()),
    "xlsx": ("demo-2025-Q1.xlsx.json", _xlsx_values),
    "pdf": ("demo-2025-Q1.pdf.txt", _pdf_text),
}


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", list(RENDER))
def test_golden_demo_report(demo_report, file_format):
    report, files = demo_report
    name, render = RENDER[file_format]
    actual = _normalize(render(files[file_format]), report)
    path = GOLDEN / name
    if REWRITE or not path.exists():
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(actual.encode())  # bytes: the CSV's CRLF rows stay as written
        if not REWRITE:
            pytest.fail(f"{name} did not exist: written, review and commit it")
    assert actual == path.read_bytes().decode(), f"{name} differs (REWRITE_GOLDEN=1 to accept)"


@pytest.mark.django_db
def test_demo_report_totals_equal_the_inventory(demo_report):
    from emissions.selectors import inventory_summary

    report, files = demo_report
    body = json.loads(files["json"])
    summary = inventory_summary(calculation=report.calculation)
    for key in ("scope_1_kg", "scope_2_location_kg", "scope_2_market_kg", "total_location_kg", "total_market_kg"):
        assert abs(body["totals_kg"][key] - summary[key]) < 0.0005, key
    values = {row["ref"]: row["value"] for row in body["datapoints"]}
    assert abs(values["E1-6.52a"] * 1000 - summary["total_location_kg"]) < 0.0005
    assert values["E1-6.52a"] > values["E1-6.52b"] or values["E1-6.49a"] <= values["E1-6.49b"]
