"""Every CSV and XLSX the product writes, with names built to run in a spreadsheet: nothing evaluates.

The organization, a team and a project carry a name with CR, LF, ``=``, ``+``, ``-``, ``@`` and a tab (the
review's ``Eval\\r=2*21\\rend``, accepted by the CodeCarbon importer as a project name). Each download is read
back with Python's csv module and openpyxl: every row has as many cells as the header (no row split at a
line break), no cell or line inside a cell starts with a formula character, no XLSX cell is a formula,
and the name comes back whole in one cell (with its guard apostrophes).
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from emissions.tables import FORMULA_PREFIXES, cell_safe
from ingest.models import ImportBatch
from ingest.services import import_batch_create, import_batch_process
from reporting.models import Report
from reporting.rollups import rollup_refresh
from reporting.services import report_create, report_generate
from tests.factories import MembershipFactory
from tests.frontend.dashboard_data import small_ledger_create

HOSTILE = "Eval\r=2*21\rend\n+1+cmd|' /C calc'!A0\t@SUM(A1)\n-2+3"
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _evaluates(text: str) -> bool:
    """Whether a spreadsheet could run ``text``: a formula character at its start or at a line start in it."""
    lines = re.split(r"\r\n|\r|\n", text)
    return any(line.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.match(line) for line in lines if line)


def _csv_checked(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with the byte-order mark
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    for row in rows:
        assert len(row) == len(rows[0]), row  # a line break inside a name never splits a row
        for cell in row:
            assert not _evaluates(cell), cell
    return rows


def _xlsx_checked(content: bytes) -> list[str]:
    texts = []
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not _evaluates(cell.value), cell.value
                    texts.append(cell.value)
    return texts


@pytest.fixture
def hostile(org_a, media_root):
    small_ledger_create(org_a)
    org_a.name = HOSTILE
    org_a.save(update_fields=["name"])
    org_a.teams.filter(slug="a-team").update(name=HOSTILE)
    org_a.projects.filter(slug="a-project").update(name=HOSTILE)
    rollup_refresh(organization=org_a)
    admin = MembershipFactory(organization=org_a, role="org_admin", user__username="hostile-admin").user
    return org_a, admin


def _chart_downloads(client, page: str) -> list[bytes]:
    html = client.get(page).content.decode()
    charts = sorted(set(re.findall(r"download=([a-z_0-9]+)", html)))
    assert charts, page
    separator = "&" if "?" in page else "?"
    return [client.get(f"{page}{separator}download={chart}").content for chart in charts]


@pytest.mark.django_db
def test_no_download_evaluates_a_hostile_name(client, hostile):
    organization, admin = hostile
    client.force_login(admin)
    guarded = cell_safe(HOSTILE)
    found = []
    downloads = [
        *_chart_downloads(client, "/?period=2026-Q3"),
        *_chart_downloads(client, "/teams/a-team/?period=2026-Q3"),
        *_chart_downloads(client, "/projects/a-project/"),
        *_chart_downloads(client, f"/runs/{organization.runs.get(external_id='q3-run').pk}/"),
        *_chart_downloads(client, "/hardware/"),
        client.get("/leaderboard/?period=2026-Q3&metric=absolute&entity=team&download=csv").content,
        client.get("/leaderboard/?period=2026-Q3&metric=absolute&entity=project&download=csv").content,
        client.get("/api/v1/leaderboard/?period=2026-Q3&metric=absolute&entity=team&download=csv").content,
    ]
    for content in downloads:
        found += [cell for row in _csv_checked(content) for cell in row]
    assert guarded in found  # the name, whole, in one cell

    # Row errors: a sites file whose bad cell is the hostile text.
    bad = "site,ownership,grid_zone,pue\n" + '"' + HOSTILE.replace('"', '""') + '",owned,DE,' + '"' + HOSTILE + '"\n'
    batch = import_batch_create(organization=organization, source="sites", filename="s.csv", content=bad.encode())
    import_batch_process(batch=batch)
    assert ImportBatch.objects.get(pk=batch.pk).rows_rejected == 1
    response = client.get(f"/api/v1/imports/{batch.pk}/row-errors.csv")
    rows = _csv_checked(b"".join(response.streaming_content))
    assert any(guarded in cell for row in rows[1:] for cell in row)

    # The report's CSV and XLSX: the organization's name in the meta rows and on the cover sheet.
    report = report_generate(report=report_create(organization=organization, period_label="2026-Q3", enqueue=False))
    assert report.status == Report.Status.DONE, report.error
    report_rows = _csv_checked(client.get(f"/reports/{report.pk}/csv").content)
    assert any(cell.startswith(guarded) for row in report_rows for cell in row)
    texts = _xlsx_checked(client.get(f"/reports/{report.pk}/xlsx").content)
    assert any(text.startswith(guarded) for text in texts)


def test_the_check_above_can_fail():
    """The readers would see the unguarded name: as a formula in XLSX, as a split, evaluating row in CSV."""
    assert _evaluates(HOSTILE) and not _evaluates(cell_safe(HOSTILE))
    unguarded = io.StringIO()
    csv.writer(unguarded, lineterminator="\n").writerow(["a", HOSTILE])
    rows = list(csv.reader(io.StringIO(unguarded.getvalue(), newline="")))
    assert len(rows) > 1 or any(_evaluates(cell) for cell in rows[0])
