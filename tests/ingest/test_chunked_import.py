"""Large billing exports split into pieces (ingest/chunked.py): the same result as one task, safe to redeliver."""

import csv
import gzip
import io
from pathlib import Path

import pytest
from django.db.models import Sum

from bench.billing_ingest import GENERATORS, jsonl_write
from emissions.models import CloudUsage
from ingest.chunked import import_batch_finalize, import_chunk_process
from ingest.models import ImportBatch, ImportChunk, RowError
from ingest.services import import_batch_create, import_batch_process
from tests.factories import OrganizationFactory, TeamFactory

SAMPLE = Path(__file__).parent / "fixtures" / "billing" / "aws_cur.csv"
ENERGY = ("compute_energy_kwh", "gpu_energy_kwh", "memory_energy_kwh", "storage_energy_kwh", "network_energy_kwh")


def _org(slug: str):
    organization = OrganizationFactory(slug=slug, name=slug)
    TeamFactory(organization=organization, slug="ml-research", name="ML research")
    return organization


def _cur(lines: int, *, bad_every: int = 0, keep=lambda i: True) -> bytes:
    """``lines`` CUR lines built from the sample's, with unique line item ids; every ``bad_every``-th has a
    non-numeric usage amount (a row error)."""
    with SAMPLE.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        templates = list(reader)
    column = {name: index for index, name in enumerate(header)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for i in range(lines):
        if not keep(i):
            continue
        row = list(templates[i % len(templates)])
        row[column["identity/LineItemId"]] = f"line{i:05d}"
        if bad_every and i % bad_every == bad_every - 1:
            row[column["lineItem/UsageAmount"]] = "lots"
        writer.writerow(row)
    return buffer.getvalue().encode()


def _import(org, content: bytes, name: str = "cur.csv") -> ImportBatch:
    batch = import_batch_create(organization=org, source="aws_cur", filename=name, content=content)
    import_batch_process(batch=batch)
    batch.refresh_from_db()
    return batch


def _totals(org) -> dict:
    return CloudUsage.objects.for_org(org).aggregate(*(Sum(f) for f in ENERGY), Sum("embodied_kg_co2e"), Sum("cost"))


@pytest.fixture
def small_pieces(settings):
    settings.IMPORT_PIECE_BYTES = 4096


def test_split_import_equals_the_whole_file_import(reference, db, media_root, settings):
    content = _cur(300, bad_every=37)
    whole_org, split_org = _org("whole"), _org("split")
    whole = _import(whole_org, content)
    settings.IMPORT_PIECE_BYTES = 4096
    split = _import(split_org, content)

    chunks = ImportChunk.objects.filter(batch=split)
    assert chunks.count() > 5 and ImportChunk.objects.filter(batch=whole).count() == 0
    assert set(chunks.values_list("status", flat=True)) == {"done"}
    assert split.status == whole.status == ImportBatch.Status.PARTIAL
    counts = ("rows_total", "rows_loaded", "rows_duplicate", "rows_rejected")
    assert [getattr(split, c) for c in counts] == [getattr(whole, c) for c in counts] == [300, 292, 0, 8]
    assert sorted(RowError.objects.filter(batch=split).values_list("row_number", "column")) == sorted(
        RowError.objects.filter(batch=whole).values_list("row_number", "column")
    )
    assert RowError.objects.filter(batch=split).values_list("row_number", flat=True).first() == 38
    assert _totals(split_org) == pytest.approx(_totals(whole_org))
    assert CloudUsage.objects.for_org(split_org).count() == 292


def test_rows_after_a_quoted_line_break_keep_the_whole_file_s_numbers(reference, db, media_root, settings):
    # A description written over two lines is one record: the rows after it are numbered as in the whole file,
    # in every piece (row errors and each line's source row), not by physical lines.
    lines = _cur(300, bad_every=37).decode().splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    for at in (3, 40):
        row = next(csv.reader([lines[at]]))
        row[header.index("lineItem/LineItemDescription")] = "written over\ntwo lines"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row)
        lines[at] = out.getvalue()
    content = "".join(lines).encode()
    whole_org, split_org = _org("whole-quoted"), _org("split-quoted")
    whole = _import(whole_org, content)
    settings.IMPORT_PIECE_BYTES = 4096
    split = _import(split_org, content)
    assert ImportChunk.objects.filter(batch=split).count() > 5
    assert sorted(RowError.objects.filter(batch=split).values_list("row_number", flat=True)) == sorted(
        RowError.objects.filter(batch=whole).values_list("row_number", flat=True)
    )
    assert RowError.objects.filter(batch=split).order_by("row_number").first().row_number == 38

    def source_rows(org):
        return dict(CloudUsage.objects.for_org(org).values_list("line_item_key", "source_row"))

    assert source_rows(split_org) == source_rows(whole_org)


def test_reimport_and_redelivery_never_double(reference, db, media_root, small_pieces):
    org = _org("again")
    content = _cur(200)
    first = _import(org, content)
    totals = _totals(org)
    import_chunk_process(batch_id=first.pk, index=0)  # a redelivered chunk task: already done
    import_batch_finalize(batch_id=first.pk)  # and a second finalization: already finished
    again = _import(org, content)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 200)
    assert CloudUsage.objects.for_org(org).count() == 200
    assert _totals(org) == pytest.approx(totals)
    assert set(CloudUsage.objects.for_org(org).values_list("source_batch_id", flat=True)) == {again.pk}


def test_a_restated_month_split_in_pieces_replaces_the_old_lines(reference, db, media_root, small_pieces):
    org = _org("restated")
    _import(org, _cur(200))
    restated = _import(org, _cur(200, keep=lambda i: i % 2 == 0))
    assert restated.status == ImportBatch.Status.DONE
    assert ImportChunk.objects.filter(batch=restated).count() > 1
    assert CloudUsage.objects.for_org(org).count() == 100


def test_pieces_tallied_without_their_months_still_replace_the_restated_month(
    reference, db, media_root, small_pieces, monkeypatch
):
    # Chunks finished by a version whose tallies had no months (an upgrade mid-import): the finalization finds
    # the months from the stored lines, and the reconciliation still adds up.
    from ingest.reconciliation import FileTally

    as_dict = FileTally.as_dict
    monkeypatch.setattr(FileTally, "as_dict", lambda self: {k: v for k, v in as_dict(self).items() if k != "periods"})
    org = _org("old-tallies")
    _import(org, _cur(200))
    restated = _import(org, _cur(200, keep=lambda i: i % 2 == 0))
    assert "periods" not in ImportChunk.objects.filter(batch=restated).first().tally
    assert (restated.status, CloudUsage.objects.for_org(org).count()) == (ImportBatch.Status.DONE, 100)
    assert restated.reconciliation["warnings"] == [] and restated.reconciliation["stored"]["lines"] == 100


def test_gzip_is_inflated_once_and_split(reference, db, media_root, small_pieces):
    org, plain_org = _org("gz"), _org("plain")
    content = _cur(150)
    batch = _import(org, gzip.compress(content), "cur.csv.gz")
    _import(plain_org, content)
    assert batch.status == ImportBatch.Status.DONE and batch.rows_loaded == 150
    assert ImportChunk.objects.filter(batch=batch).first().file_name.endswith(".inflated.csv")
    assert _totals(org) == pytest.approx(_totals(plain_org))


def test_an_unreadable_piece_fails_the_batch_and_says_where(reference, db, media_root, small_pieces):
    org = _org("broken")
    lines = _cur(200).decode().splitlines(keepends=True)
    lines[150] = lines[150].rstrip("\n") + ",one,field,too,many\n"
    batch = _import(org, "".join(lines).encode())
    assert batch.status == ImportBatch.Status.FAILED
    failed = ImportChunk.objects.get(batch=batch, status="failed")
    assert f"rows from {failed.first_row}" in batch.error and "import it again" in batch.error
    assert failed.first_row <= 151


def _gcp_jsonl(tmp_path, lines: int) -> bytes:
    csv_path, jsonl_path = tmp_path / "gcp.csv", tmp_path / "gcp.jsonl"
    GENERATORS["gcp_billing"](csv_path, lines)
    jsonl_write(csv_path, jsonl_path)
    text = jsonl_path.read_text().splitlines()
    text[40] = '{"billing_account_id": "broken"'  # a line that is not JSON: a row error on row 42
    text.insert(90, "")  # a blank line: skipped, not numbered
    return ("\n".join(text) + "\n").encode()


def test_json_lines_split_in_pieces_equal_the_whole_file(reference, db, media_root, settings, tmp_path):
    """A BigQuery JSON lines export is cut at newlines into pieces (plain and gzip): same counts, row
    errors, lines and totals as the file imported whole."""
    content = _gcp_jsonl(tmp_path, 300)
    orgs = {name: _org(name) for name in ("whole", "split", "gzsplit")}
    batches = {}
    for name, org in orgs.items():
        if name != "whole":
            settings.IMPORT_PIECE_BYTES = 8192
        data = gzip.compress(content) if name == "gzsplit" else content
        batch = import_batch_create(organization=org, source="gcp_billing", filename=f"{name}.jsonl", content=data)
        import_batch_process(batch=batch)
        batch.refresh_from_db()
        batches[name] = batch
    assert ImportChunk.objects.filter(batch=batches["whole"]).count() == 0
    assert ImportChunk.objects.filter(batch=batches["split"]).count() > 5
    assert ImportChunk.objects.filter(batch=batches["gzsplit"]).first().file_name.endswith(".inflated.jsonl")
    counts = ("status", "rows_total", "rows_loaded", "rows_duplicate", "rows_rejected")
    whole = [getattr(batches["whole"], c) for c in counts]
    assert whole == [ImportBatch.Status.PARTIAL, 300, 299, 0, 1]
    for name in ("split", "gzsplit"):
        assert [getattr(batches[name], c) for c in counts] == whole
        errors = RowError.objects.filter(batch=batches[name]).values_list("row_number", flat=True)
        assert list(errors) == [42]
        keys = set(CloudUsage.objects.for_org(orgs[name]).values_list("line_item_key", "source_row"))
        assert keys == set(CloudUsage.objects.for_org(orgs["whole"]).values_list("line_item_key", "source_row"))
        assert _totals(orgs[name]) == pytest.approx(_totals(orgs["whole"]))


def test_a_record_over_the_bound_fails_its_piece_as_the_whole_file_fails(reference, db, media_root, settings):
    # The split measures every record: pieces of a file within the bound are read in place, without the bound's
    # reader; a file with one record over 4 MiB keeps the bound on every piece, and the piece holding that
    # record fails with the whole-file import's reason while the others are stored.
    from ingest.parsers.input_limits import MAX_RECORD_BYTES

    lines = _cur(300).decode().splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[150]]))
    row[header.index("lineItem/LineItemDescription")] = "x" * (MAX_RECORD_BYTES + 10)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    lines[150] = out.getvalue()
    content = "".join(lines).encode()
    whole = _import(_org("whole-long"), content)
    assert whole.status == ImportBatch.Status.FAILED and "a record longer than 4,194,304 bytes" in whole.error
    settings.IMPORT_PIECE_BYTES = 8192
    split = _import(_org("split-long"), content)
    chunks = ImportChunk.objects.filter(batch=split).order_by("index")
    assert chunks.count() > 5
    assert {chunk.longest_record for chunk in chunks} == {len(lines[150])}
    failed = [chunk for chunk in chunks if chunk.status == ImportChunk.Status.FAILED]
    assert len(failed) == 1 and "a record longer than 4,194,304 bytes" in failed[0].error
    assert failed[0].first_row <= 151 and split.status == ImportBatch.Status.FAILED


def test_pieces_within_the_bound_are_measured_and_equal_the_whole_file(reference, db, media_root, settings):
    content = _cur(300)
    whole_org, split_org = _org("whole-measured"), _org("split-measured")
    _import(whole_org, content)
    settings.IMPORT_PIECE_BYTES = 4096
    split = _import(split_org, content)
    longest = max(map(len, content.splitlines(keepends=True)))
    assert set(ImportChunk.objects.filter(batch=split).values_list("longest_record", flat=True)) == {longest}
    assert _totals(split_org) == pytest.approx(_totals(whole_org))
    assert CloudUsage.objects.for_org(split_org).count() == 300
