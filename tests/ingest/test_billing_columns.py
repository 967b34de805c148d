"""The columnar billing path (ingest/parsers/billing_columns.py, emissions/services/cloud_lines.py) gives exactly
what the row path gives: the same records and row errors from the parser, the same stored lines and digests."""

import csv
import gzip
import io
from pathlib import Path

import pytest

from bench.billing_ingest import cur_generate
from emissions.models import CloudTagSet, CloudUsage
from emissions.records import CloudUsageLines
from ingest.loaders import cloud_usage_load, cloud_usage_load_lines
from ingest.models import RowError
from ingest.parsers import aws_cur, azure_cost, focus, gcp_billing
from ingest.parsers.billing_columns import ColumnarUnavailable, read_lines
from ingest.records import ParsedRow, ParseError
from ingest.services import import_batch_create, import_batch_process
from tests.ingest.stored_lines import stored_lines

FIXTURES = Path(__file__).parent / "fixtures" / "billing"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "samples"
AWS_CSV = sorted(p for p in [*FIXTURES.glob("aws_cur*.csv"), *SHARED.glob("**/*cur*.csv")] if "carbon" not in p.name)


def _by_rows(content: bytes, module=aws_cur) -> list:
    """(row, record or issue) from the row path."""
    return [_item(item) for chunk in module.read_chunks(io.BytesIO(content), chunk_rows=7) for item in chunk]


def _by_columns(content: bytes, module=aws_cur, **piece) -> list:
    """(row, record or issue) from the columnar path; blocks that are not clean come as row items."""
    found = []
    for block in module.read_lines(io.BytesIO(content), **piece):
        if isinstance(block, CloudUsageLines):
            found += zip(block.row_number.tolist(), block.records(), strict=True)
        else:
            found += [_item(item) for item in block]
    return found


def _column_wise(content: bytes, module) -> int:
    """How many lines the columnar path reads column-wise (the rest goes row by row)."""
    return sum(len(block) for block in module.read_lines(io.BytesIO(content)) if isinstance(block, CloudUsageLines))


def _item(item):
    if isinstance(item, ParsedRow):
        return item.row_number, item.record
    return item.row_number, (item.column, item.reason)


def _cur(rows: list[dict[str, str]] | None = None, lines: int = 40) -> bytes:
    """``lines`` lines of the AWS sample with unique ids; ``rows`` edits: {line index: {column: value}}."""
    with (FIXTURES / "aws_cur.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        templates = list(reader)
        header = reader.fieldnames
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, lineterminator="\n")
    writer.writeheader()
    for i in range(lines):
        row = dict(templates[i % len(templates)], **{"identity/LineItemId": f"id{i:04d}"})
        row.update((rows or {}).get(i, {}))
        writer.writerow(row)
    return buffer.getvalue().encode()


@pytest.mark.parametrize("path", AWS_CSV, ids=lambda p: p.name)
def test_every_aws_csv_sample_gives_the_same_records(path):
    content = path.read_bytes()
    assert _by_columns(content) == _by_rows(content)


def test_the_bench_export_gives_the_same_records_column_wise(tmp_path):
    path = tmp_path / "cur.csv"
    cur_generate(path, 3000)
    content = path.read_bytes()
    blocks = list(aws_cur.read_lines(io.BytesIO(content)))
    assert all(isinstance(block, CloudUsageLines) for block in blocks)
    assert _by_columns(content) == _by_rows(content)


@pytest.mark.parametrize(
    "edit",
    [
        {"lineItem/UsageAmount": "lots"},  # not a number
        {"lineItem/UsageAmount": ""},  # a usage line without quantity
        {"lineItem/UsageAmount": "-3"},  # negative on a usage line
        {"lineItem/UsageAmount": "nan"},
        {"lineItem/UnblendedCost": "1e999"},
        {"lineItem/UsageStartDate": "9999-01-01T00:00:00Z"},
        {"lineItem/UsageStartDate": "yesterday"},
        {"lineItem/UsageEndDate": "   "},  # whitespace only
        {"identity/LineItemId": ""},  # no key: the row digest is the key
        {"lineItem/ResourceId": "r" * 600},  # longer than its stored column
    ],
    ids=lambda edit: repr(edit)[:40],
)
def test_a_line_that_is_not_clean_sends_its_block_row_by_row_with_the_same_result(edit):
    content = _cur({5: edit})
    blocks = list(aws_cur.read_lines(io.BytesIO(content)))
    assert [type(block) for block in blocks] == [list]  # one block here, read row by row
    assert _by_columns(content) == _by_rows(content)


def test_kinds_whose_cells_would_join_to_the_same_text_stay_apart_column_wise():
    # Joined with \x1f, both lines' region and usage type read "eu\x1fBoxUsage\x1fx": kinds are told apart column
    # by column, so the block stays columnar and each line keeps its own region.
    content = _cur({5: {"product/region": "eu\x1fBoxUsage", "lineItem/UsageType": "x"},
                    6: {"product/region": "eu", "lineItem/UsageType": "BoxUsage\x1fx"}})  # fmt: skip
    blocks = list(aws_cur.read_lines(io.BytesIO(content)))
    assert [type(block) for block in blocks] == [CloudUsageLines]
    records = dict(_by_columns(content))
    assert records == dict(_by_rows(content))
    assert [(r.region, r.usage_type) for r in records.values()][5:7] == [
        ("eu\x1fBoxUsage", "x"),
        ("eu", "BoxUsage\x1fx"),
    ]


def test_blank_lines_keep_the_row_numbers_of_the_row_path():
    content = _cur(lines=6).replace(b"\nid0003", b"\n\n\nid0003")
    assert _by_columns(content) == _by_rows(content)
    assert [row for row, _ in _by_columns(content)][3] == 7


@pytest.mark.parametrize(
    "content",
    [b"PAR1....", b'{"a": 1}\n', gzip.compress(b'{"a": 1}\n'), b'a,b\n1,2,3\n"unterminated\n'],
    ids=["parquet", "jsonl", "gzip-jsonl", "ragged"],
)
def test_what_arrow_does_not_read_as_csv_is_declined(content):
    with pytest.raises(ColumnarUnavailable):
        list(read_lines(aws_cur.DIALECT, aws_cur.DIALECT.line_fields, io.BytesIO(content)))


@pytest.mark.django_db
def test_both_paths_store_the_same_lines_and_a_reimport_is_all_duplicates(org, tmp_path):
    path = tmp_path / "cur.csv"
    cur_generate(path, 2000)
    content = path.read_bytes()
    numbered = _by_rows(content)
    records = [record for _, record in numbered]
    row_numbers = [row_number for row_number, _ in numbered]
    outcome = cloud_usage_load(organization=org, records=records, source_batch_id=1, row_numbers=row_numbers)
    assert outcome.loaded == 2000
    by_rows = stored_lines(org)
    CloudUsage.objects.for_org(org).delete()
    loaded = sum(
        cloud_usage_load_lines(organization=org, lines=lines, source_batch_id=2).loaded
        for lines in aws_cur.read_lines(io.BytesIO(content))
    )
    assert loaded == 2000
    assert stored_lines(org) == by_rows  # every column, digests included, on SQLite and PostgreSQL
    again = [cloud_usage_load_lines(organization=org, lines=lines) for lines in aws_cur.read_lines(io.BytesIO(content))]
    assert sum(o.duplicate for o in again) == 2000 and sum(o.loaded for o in again) == 0
    # The row path recognises the columnar path's lines as its own.
    assert cloud_usage_load(organization=org, records=records).duplicate == 2000


@pytest.mark.django_db
def test_a_changed_line_is_updated_and_a_repeated_id_keeps_both_lines(org):
    first = _cur(lines=30)
    for lines in aws_cur.read_lines(io.BytesIO(first)):
        cloud_usage_load_lines(organization=org, lines=lines)
    changed = _cur({3: {"lineItem/UnblendedCost": "123.456"}}, lines=30)
    outcomes = [cloud_usage_load_lines(organization=org, lines=x) for x in aws_cur.read_lines(io.BytesIO(changed))]
    assert (sum(o.loaded for o in outcomes), sum(o.duplicate for o in outcomes)) == (1, 29)
    assert str(CloudUsage.objects.get(organization=org, line_item_key__startswith="id0003@").cost) == "123.4560000000"
    repeated = _cur({7: {"identity/LineItemId": "id0006", "lineItem/UnblendedCost": "9"}}, lines=30)
    for lines in aws_cur.read_lines(io.BytesIO(repeated)):
        cloud_usage_load_lines(organization=org, lines=lines)
    # AWS ids are unique per partition only: a repeated id with other values is a line of its own.
    costs = CloudUsage.objects.filter(organization=org, line_item_key__startswith="id0006").values_list(
        "cost", flat=True
    )
    assert 9 in {float(cost) for cost in costs} and len(costs) == 2


@pytest.mark.django_db
def test_a_batch_imports_column_wise_with_row_errors_from_the_row_path(org):
    content = _cur({4: {"lineItem/UsageAmount": "lots"}}, lines=60)
    batch = import_batch_create(organization=org, source="aws_cur", filename="cur.csv", content=content)
    import_batch_process(batch=batch)
    batch.refresh_from_db()
    assert (batch.status, batch.rows_total, batch.rows_loaded, batch.rows_rejected) == ("partial", 60, 59, 1)
    error = RowError.objects.get(batch=batch)
    assert (error.row_number, error.column) == (6, "lineItem/UsageAmount")


@pytest.mark.django_db
def test_a_short_line_arrow_refuses_is_read_row_by_row_as_before(org):
    # Arrow refuses a line with fewer cells; the row path (pandas) reads it with empty cells: a row error.
    content = _cur(lines=20) + b"x,y\n"
    batch = import_batch_create(organization=org, source="aws_cur", filename="cur.csv", content=content)
    import_batch_process(batch=batch)
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded, batch.rows_rejected) == ("partial", 20, 1)
    assert RowError.objects.get(batch=batch).row_number == 22
    assert CloudUsage.objects.for_org(org).count() == 20


def test_blocks_read_column_wise_and_row_by_row_come_in_file_order(monkeypatch):
    monkeypatch.setattr("ingest.parsers.billing_columns.BLOCK_BYTES", 2048)  # a few lines a block
    content = _cur({25: {"lineItem/UsageAmount": "lots"}}, lines=60)
    kinds = {type(block) for block in aws_cur.read_lines(io.BytesIO(content))}
    assert kinds == {CloudUsageLines, list}
    assert [row for row, _ in _by_columns(content)] == list(range(2, 62))
    assert _by_columns(content) == _by_rows(content)


PUBLIC = FIXTURES / "public"
# Exports without line ids, ours and the public ones: (module, file).
NO_ID_CSV = [
    (module, path)
    for module, pattern, folder in ((azure_cost, "azure_*.csv", "azure"), (focus, "focus*.csv", "focus"),
                                    (gcp_billing, "gcp_*.csv", "gcp"))
    for path in sorted([*FIXTURES.glob(pattern), *(PUBLIC / folder).glob("*.csv")])
]  # fmt: skip


@pytest.mark.parametrize(("module", "path"), NO_ID_CSV, ids=lambda value: getattr(value, "name", ""))
def test_every_export_without_line_ids_gives_the_same_records_both_ways(module, path):
    # The key is the row digest, computed column-wise. Azure: the daily end. FOCUS: the consumed quantity, or
    # the pricing one for kinds whose consumed unit is not converted. GCP: cost + the line's credits (rounded
    # to 9 decimals), invoice.month as the billing month, the pricing-unit or the usage amount per kind.
    content = path.read_bytes()
    try:
        by_rows = _by_rows(content, module)
    except ParseError:
        with pytest.raises(ParseError):  # not an export (the FOCUS spec's cdf table): refused both ways
            list(module.read_lines(io.BytesIO(content)))
        return
    assert _by_columns(content, module) == by_rows
    if path.parent == FIXTURES:  # our own samples are clean: every line goes column-wise
        assert _column_wise(content, module) == len(by_rows)


@pytest.mark.parametrize(("module", "name"), [(aws_cur, "aws_cur.csv"), (azure_cost, "azure_cost.csv")])
def test_a_gzip_export_is_read_column_wise_with_the_same_records(module, name):
    content = (FIXTURES / name).read_bytes()
    packed = gzip.compress(content)
    by_rows = _by_rows(content, module)
    assert _column_wise(packed, module) == len(by_rows)
    assert _by_columns(packed, module) == by_rows


def test_a_gzip_bomb_stops_on_the_columnar_path_too(monkeypatch):
    from ingest.parsers import billing_columns, billing_columns_core

    monkeypatch.setattr(billing_columns_core, "DEFAULT_MAX_DECOMPRESSED_BYTES", 4096)
    packed = gzip.compress((FIXTURES / "aws_cur.csv").read_bytes() + b"," * 200_000)
    with pytest.raises((ParseError, billing_columns.ColumnarUnavailable)):
        list(aws_cur.read_lines(io.BytesIO(packed)))


@pytest.mark.parametrize("path", AWS_CSV, ids=lambda p: p.name)
def test_a_flat_cur_parquet_is_read_column_wise_with_the_same_records(path, tmp_path):
    # Athena-style flat Parquet with typed columns (ids as integers, timestamps, doubles), as pyarrow infers
    # them from the CSV: both paths read each value as parquet_text's text (test_billing_columns_typed.py).
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    parquet = tmp_path / "cur.parquet"
    pq.write_table(pa_csv.read_csv(path), parquet, row_group_size=5)
    content = parquet.read_bytes()
    assert _by_columns(content) == _by_rows(content)
    if pq.ParquetFile(parquet).num_row_groups < 2:
        return
    # A piece of the file (its second row group) reads alike, numbered from the piece's first row.
    numbers = [row for row, _ in _by_columns(content, first_row=7, row_groups=(1,))]
    assert numbers == list(range(7, 7 + len(numbers))) and 0 < len(numbers) <= 5


def test_a_cur_parquet_with_map_columns_is_declined():
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"line_item_usage_start_date": ["2025-03-01T00:00:00Z"], "line_item_usage_amount": [1.0],
                      "line_item_unblended_cost": [1.0], "identity_line_item_id": ["x"],
                      "product": pa.array([[("region", "us-east-1")]], pa.map_(pa.string(), pa.string()))})  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    buffer.seek(0)
    with pytest.raises(ColumnarUnavailable):
        list(aws_cur.read_lines(buffer))


@pytest.mark.django_db
def test_awkward_values_go_through_the_copy_as_the_row_path_stores_them(org):
    """The columnar path writes a block for a binary ``COPY`` (ingest/cloud_lines.py, ingest/copy_binary.py):
    tags as JSON text, costs rounded to 10 decimals, digests built column-wise. Values that CSV, JSON and the
    binary numeric treat specially are stored exactly as the row path stores them."""
    edits = {
        0: {
            "resourceTags/user:cost-center": 'quote " backslash \\ tab \t',
            "lineItem/UnblendedCost": "0.12345678901234",
        },
        1: {"resourceTags/user:cost-center": "ünïcödé ✓ 🌱", "lineItem/UnblendedCost": "-1234567.89"},
        2: {"resourceTags/user:cost-center": "line\nbreak", "lineItem/UnblendedCost": "1e-12"},
        3: {"resourceTags/user:cost-center": "NULL", "lineItem/UnblendedCost": "99999999999.99999999994"},
        4: {"lineItem/ResourceId": 'arn:aws:ec2:x:1:instance/i-0,"quoted"', "lineItem/UnblendedCost": "5E+3"},
        5: {"lineItem/UsageAmount": "0.000000000001", "lineItem/UnblendedCost": "0"},
    }
    content = _cur(edits, lines=12)
    assert _column_wise(content, aws_cur) == 12
    numbered = _by_rows(content)
    records = [record for _, record in numbered]
    cloud_usage_load(organization=org, records=records, source_batch_id=1, row_numbers=[n for n, _ in numbered])
    by_rows = stored_lines(org)
    CloudUsage.objects.for_org(org).delete()
    for lines in aws_cur.read_lines(io.BytesIO(content)):
        cloud_usage_load_lines(organization=org, lines=lines, source_batch_id=2)
    assert stored_lines(org) == by_rows
    stored = {row["line_item_key"][:6]: row for row in by_rows.values()}
    assert (
        str(stored["id0000"]["cost"]) == "0.1234567890" and str(stored["id0003"]["cost"]) == "100000000000.0000000000"
    )
    # Tags are stored once per set (CloudTagSet), named by the same digest from both paths (compared above).
    tag_sets = dict(CloudTagSet.objects.for_org(org).values_list("digest", "tags"))
    tags = {name: tag_sets[row["tags_digest"]]["cost-center"] for name, row in stored.items() if name < "id0003"}
    # (a cell's outer blanks are trimmed, the tab too, by both readers)
    assert tags == {"id0000": 'quote " backslash \\ tab', "id0001": "ünïcödé ✓ 🌱", "id0002": "line\nbreak"}


def test_a_line_key_repeated_in_one_month_is_found_and_one_in_another_month_is_not():
    """``lines_keys_unique`` (ingest/cloud_lines.py) guards the COPY: lines sharing (provider, month, key) go
    through the record path, where the last one wins."""
    from dataclasses import replace
    from datetime import date

    from ingest.cloud_lines import lines_keys_unique

    assert lines_keys_unique(next(aws_cur.read_lines(io.BytesIO(_cur(lines=20)))))
    hour = {"lineItem/UsageStartDate": "2025-03-05T00:00:00Z", "lineItem/UsageEndDate": "2025-03-05T01:00:00Z"}
    repeated = next(aws_cur.read_lines(io.BytesIO(_cur({0: hour, 1: {**hour, "identity/LineItemId": "id0000"}}))))
    assert repeated.line_item_key[0] == repeated.line_item_key[1]
    assert not lines_keys_unique(repeated)
    # The same key billed in another month (a restated period) is another stored line.
    months, index = repeated.billing_period
    index = index.copy()
    index[1] = len(months)
    assert lines_keys_unique(replace(repeated, billing_period=((*months, date(2025, 4, 1)), index)))


@pytest.mark.django_db
def test_a_block_is_written_in_the_unique_keys_order_month_then_key_then_provider(org):
    """Pieces of one file stored in parallel take shared keys in the unique key's order, so they cannot
    deadlock: a block of three providers over two months is written (ids ascending) in (month, line key,
    provider) order, as ``emissions.services.cloud._unique_order`` orders the row path's lines."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("pieces are stored in parallel with COPY on PostgreSQL only (elsewhere in one process)")
    with (FIXTURES / "focus.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows, header = list(reader), reader.fieldnames
    february = {"BillingPeriodStart": "2025-02-01T00:00:00Z", "BillingPeriodEnd": "2025-03-01T00:00:00Z",
                "ChargePeriodStart": "2025-02-10T00:00:00Z", "ChargePeriodEnd": "2025-02-11T00:00:00Z"}  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows([*rows, *({**row, **february} for row in rows)])
    content = buffer.getvalue().encode()
    assert _column_wise(content, focus) == 2 * len(rows)
    for lines in focus.read_lines(io.BytesIO(content)):
        cloud_usage_load_lines(organization=org, lines=lines, source_batch_id=1)
    written = list(CloudUsage.objects.for_org(org).order_by("pk").values_list("billing_period", "line_key", "provider"))
    assert len(written) == 2 * len(rows) and len({provider for _, _, provider in written}) == 3
    assert written == sorted(written)


@pytest.mark.django_db
def test_the_blocks_of_one_load_read_owners_regions_and_coefficient_sets_once(org, monkeypatch):
    """A file's blocks share one load (one transaction): the allocation rules, teams, projects and regions are read
    once, not once per block, and the stored lines are those of loading each block on its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("lines are written column-wise (COPY) on PostgreSQL only; elsewhere as records")
    monkeypatch.setattr("ingest.parsers.billing_columns.BLOCK_BYTES", 4096)  # several blocks
    content = _cur(lines=300)
    blocks = list(aws_cur.read_lines(io.BytesIO(content)))
    assert len(blocks) > 4 and all(isinstance(block, CloudUsageLines) for block in blocks)
    memo: dict = {}
    with CaptureQueriesContext(connection) as queries:
        for lines in blocks:
            cloud_usage_load_lines(organization=org, lines=lines, source_batch_id=1, memo=memo)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    for table in ("emissions_allocationrule", "emissions_team", "emissions_project", "emissions_cloudregion"):
        assert sum(f'FROM "{table}"' in sql for sql in reads) == 1, table
    shared = stored_lines(org)
    CloudUsage.objects.for_org(org).delete()
    for lines in blocks:
        cloud_usage_load_lines(organization=org, lines=lines, source_batch_id=1)
    assert stored_lines(org) == shared
