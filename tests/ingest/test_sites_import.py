"""The ``sites`` inventory import: parsing, row errors, idempotency, through the batch path."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from emissions.models import Site
from ingest.models import ImportBatch
from ingest.parsers import sites
from ingest.records import ParsedRow, ParseError, RowIssue
from ingest.services import import_batch_create, import_batch_process
from tests.factories import GridZoneFactory

FIXTURES = Path(__file__).parent / "fixtures" / "sites"


def test_parse_sample_gives_records():
    rows = list(sites.parse((FIXTURES / "sites.csv").read_bytes()))
    assert all(isinstance(row, ParsedRow) for row in rows)
    first, second = (row.record for row in rows)
    assert (first.name, first.ownership, first.grid_zone_code, first.pue) == ("Frankfurt DC", "owned", "DE", 1.35)
    assert (first.wue_l_per_kwh, first.buys_electricity) == (1.8, True)
    assert (second.name, second.grid_zone_code, second.wue_l_per_kwh) == ("Montréal colo", "CA-QC", 0.0)
    assert [row.row_number for row in rows] == [2, 3]


def test_parse_reports_row_column_and_reason():
    rows = list(sites.parse((FIXTURES / "sites_with_errors.csv").read_bytes()))
    issues = {row.row_number: row for row in rows if isinstance(row, RowIssue)}
    assert issues[3].column == "ownership" and "garage" in issues[3].reason
    assert issues[4].column == "pue" and "below the minimum" in issues[4].reason
    assert issues[6].column == "pue" and "not a number" in issues[6].reason
    assert 5 not in issues  # unknown zones are found when loading, not parsing


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"name,zone\nx,DE\n", "missing column"),
        (b"\xff\xfe\x00s\x00i", "not UTF-8"),
    ],
)
def test_parse_rejects_unusable_files(content, message):
    with pytest.raises(ParseError, match=message):
        list(sites.parse(content))


def test_parse_accepts_bom_and_header_case():
    rows = list(sites.parse("\ufeffSite,Ownership,Grid_Zone,PUE\nA,owned,de,1.5\n".encode()))
    assert rows[0].record.grid_zone_code == "DE"


@pytest.fixture
def zones(db):
    GridZoneFactory(code="DE", name="Germany")
    GridZoneFactory(code="CA-QC", name="Quebec", country_iso3="CAN")


def _import(org, path: Path) -> ImportBatch:
    batch = import_batch_create(organization=org, source="sites", filename=path.name, content=path.read_bytes())
    return import_batch_process(batch=batch)


@pytest.mark.django_db
def test_batch_counts_every_row(org_a, zones, media_root):
    batch = _import(org_a, FIXTURES / "sites_with_errors.csv")
    assert batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.PARTIAL)
    assert (batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (6, 2, 0, 4)
    errors = {error.row_number: error.reason for error in batch.row_errors.all()}
    assert set(errors) == {3, 4, 5, 6}
    assert "unknown grid zone 'XX'" in errors[5]
    assert set(Site.objects.for_org(org_a).values_list("name", flat=True)) == {"Frankfurt DC", "Quoted, with comma"}


@pytest.mark.django_db
def test_reimport_changes_nothing_and_counts_duplicates(org_a, zones, media_root):
    _import(org_a, FIXTURES / "sites.csv")
    before = list(Site.objects.for_org(org_a).values())
    again = _import(org_a, FIXTURES / "sites.csv")
    assert (again.rows_total, again.rows_loaded, again.rows_duplicate) == (2, 0, 2)
    assert list(Site.objects.for_org(org_a).values()) == before


@pytest.mark.django_db
def test_changed_row_updates_the_site(org_a, zones, media_root, tmp_path):
    _import(org_a, FIXTURES / "sites.csv")
    changed = tmp_path / "changed.csv"
    changed.write_text("site,ownership,grid_zone,pue\nFrankfurt DC,owned,DE,1.30\n")
    batch = _import(org_a, changed)
    assert (batch.rows_loaded, batch.rows_duplicate) == (1, 0)
    assert Site.objects.for_org(org_a).get(slug="frankfurt-dc").pue == 1.30


@pytest.mark.django_db
def test_processing_twice_is_idempotent(org_a, zones, media_root):
    """A redelivered task (worker killed after the commit) re-counts and writes nothing twice."""
    batch = _import(org_a, FIXTURES / "sites_with_errors.csv")
    batch = import_batch_process(batch=batch)
    assert (batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (6, 0, 2, 4)
    assert batch.row_errors.count() == 4
    assert Site.objects.for_org(org_a).count() == 2


@pytest.mark.django_db
def test_unparseable_file_fails_the_batch_with_a_reason(org_a, zones, media_root):
    batch = import_batch_create(organization=org_a, source="sites", filename="x.csv", content=b"a,b\n1,2\n")
    batch = import_batch_process(batch=batch)
    assert batch.status == ImportBatch.Status.FAILED
    assert "missing column(s) site, ownership, grid_zone, pue" in batch.error


@pytest.mark.django_db(transaction=True)  # the command commits its batch; processing starts on commit
def test_ingest_command(org_a, zones, media_root, capsys):
    call_command("ingest", str(FIXTURES / "sites.csv"), "--source", "sites", "--org", "org-a")
    out = capsys.readouterr().out
    assert "done: 2 rows = 2 loaded + 0 duplicate + 0 rejected" in out
    with pytest.raises(CommandError, match="no organization"):
        call_command("ingest", str(FIXTURES / "sites.csv"), "--source", "sites", "--org", "nope")


@pytest.mark.django_db
def test_progress_is_live_while_running_and_full_when_done(org_a, zones, media_root):
    from django.core.cache import cache

    from ingest.loading import progress_report as _progress_report
    from ingest.services import import_batch_progress

    # Progress lives in the cache by batch id; an earlier test's batch with the same id (its on-commit
    # cleanup never runs inside a test transaction) must not show through.
    cache.clear()
    batch = import_batch_create(organization=org_a, source="sites", filename="s.csv", content=b"site\n")
    batch.status = ImportBatch.Status.RUNNING
    assert import_batch_progress(batch=batch)["progress_pct"] == 0
    _progress_report(batch, 2500, 10_000)
    assert import_batch_progress(batch=batch) == {"rows_done": 2500, "rows_estimated": 10_000, "progress_pct": 25}
    done = _import(org_a, FIXTURES / "sites.csv")
    assert import_batch_progress(batch=done)["progress_pct"] == 100
