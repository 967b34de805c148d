"""The columnar path of typed billing exports (ingest/parsers/billing_columns_typed.py): flat Parquet of the
dialects without line ids and GCP JSON lines give exactly the row path's records, and clean files go
column-wise (``CloudUsageLines``), not row by row."""

import csv
import gzip
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from emissions.models import CloudUsage
from emissions.records import CloudUsageLines, CloudUsageRecord
from ingest.loaders import cloud_usage_load
from ingest.parsers import azure_cost, gcp_billing
from ingest.parsers.billing_columns import ColumnarUnavailable
from ingest.parsers.billing_columns_typed import _MISSING, _flat_columns
from ingest.parsers.billing_read import flat_rows, parquet_text
from ingest.parsers.billing_rows import loads_lenient
from ingest.parsers.input_limits import MAX_RECORD_BYTES
from ingest.records import ParseError
from ingest.services import import_batch_create, import_batch_process
from tests.ingest.stored_lines import stored_lines
from tests.ingest.test_billing_columns import FIXTURES, NO_ID_CSV, PUBLIC, _by_columns, _by_rows, _column_wise

GCP_CSV = [FIXTURES / "gcp_billing.csv", *sorted((PUBLIC / "gcp").glob("*.csv"))]
# BigQuery's REPEATED fields (arrays of records) and FLOAT64 fields of the billing export.
_REPEATED = {"labels", "system_labels", "project.labels", "credits"}
_FLOATS = {"cost", "currency_conversion_rate", "usage.amount", "usage.amount_in_pricing_units"}


def _parquet(table: pa.Table, row_group_size: int = 4) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=row_group_size)
    return buffer.getvalue()


def _typed_parquet(path) -> bytes:
    """A CSV sample as typed Parquet: pyarrow infers timestamps, floats, ints, dates, booleans and nulls."""
    return _parquet(pa_csv.read_csv(path))


def _bigquery_jsonl(path) -> bytes:
    """A flattened GCP CSV as BigQuery writes its JSON export: nested objects, REPEATED fields as arrays of
    objects, FLOAT64 fields as numbers, null fields left out."""
    lines = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            record: dict = {}
            for name, cell in row.items():
                if cell == "":
                    continue
                value = loads_lenient(cell) if name in _REPEATED else float(cell) if name in _FLOATS else cell
                *parents, leaf = name.split(".")
                node = record
                for parent in parents:
                    node = node.setdefault(parent, {})
                node[leaf] = value
            lines.append(json.dumps(record))
    return ("\n".join(lines) + "\n").encode()


def _clean(numbered: list) -> bool:
    """Whether the row path read every line as a record (no row issue)."""
    return all(isinstance(item, CloudUsageRecord) for _, item in numbered)


# ---- Parquet ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("module", "path"), NO_ID_CSV, ids=lambda value: getattr(value, "name", ""))
def test_every_export_without_line_ids_as_typed_parquet_gives_the_same_records_column_wise(module, path):
    # Both paths read each typed value as parquet_text's text: the row digests (the lines' keys) agree.
    content = _typed_parquet(path)
    try:
        by_rows = _by_rows(content, module)
    except ParseError:
        with pytest.raises(ParseError):  # not an export (the FOCUS spec's cdf table): refused both ways
            list(module.read_lines(io.BytesIO(content)))
        return
    assert _by_columns(content, module) == by_rows
    if _clean(by_rows):
        assert _column_wise(content, module) == len(by_rows)


def test_a_piece_of_a_digest_keyed_parquet_reads_alike_both_ways():
    content = _typed_parquet(FIXTURES / "azure_cost.csv")  # 14 lines in row groups of 4
    assert pq.ParquetFile(io.BytesIO(content)).num_row_groups == 4
    pieces = [((0,), 2), ((1, 2), 6), ((3,), 14)]
    by_pieces = []
    for row_groups, first_row in pieces:
        blocks = list(azure_cost.read_lines(io.BytesIO(content), first_row=first_row, row_groups=row_groups))
        assert all(isinstance(block, CloudUsageLines) for block in blocks)
        numbered = _by_columns(content, azure_cost, first_row=first_row, row_groups=row_groups)
        chunks = azure_cost.read_chunks(io.BytesIO(content), first_row=first_row, row_groups=row_groups)
        assert numbered == [(item.row_number, item.record) for chunk in chunks for item in chunk]
        by_pieces += numbered
    assert by_pieces == _by_rows(content, azure_cost)  # the pieces make the whole file, numbered alike


def _gcp_table() -> pa.Table:
    """The GCP sample as Parquet with a column of every type a digest must read alike both ways."""
    table = pa_csv.read_csv(FIXTURES / "gcp_billing.csv")
    count = table.num_rows

    def replace(name: str, values: pa.Array) -> None:
        nonlocal table
        table = table.set_column(table.schema.get_field_index(name), name, values)

    replace("billing_account_id", pa.array([111111111111.0] * count))  # a float id: "111111111111"
    replace("project.id", pa.array([1234567890123 + i % 3 for i in range(count)], pa.int64()))
    replace("currency", pa.array(["USD"] * count).dictionary_encode())
    replace("usage.amount", pa.array([1e-05, 1e16, 2.5e-07, 691200.0, 0.1] * (count // 5) + [3.0] * (count % 5)))
    extra = {
        "export_time": pa.array([datetime(2025, 3, 2, 1, 11, 12, 66000)] * count, pa.timestamp("us")),
        "export_time_ns": pa.array([datetime(2025, 3, 2, 1, 11, 12)] * count, pa.timestamp("ns", "Europe/Paris")),
        "partition_date": pa.array([date(2025, 3, 1)] * count, pa.date32()),
        "is_preemptible": pa.array([i % 2 == 0 for i in range(count)]),
        "currency_conversion_rate": pa.array([Decimal("1.2300")] * count, pa.decimal128(10, 4)),
        "tax_rate": pa.array([0.1] * count, pa.float32()),
        "nothing": pa.nulls(count),
        "small_int": pa.array(list(range(count)), pa.int8()),
    }
    for name, values in extra.items():
        table = table.append_column(name, values)
    return table


def test_typed_parquet_cells_give_the_same_line_keys_both_ways():
    # Fails when the two paths hash different text for a typed cell: a float account id, floats written
    # with exponents, int, timestamp (zoned, naive, ns), date, boolean, decimal, float32 and null columns.
    content = _parquet(_gcp_table())
    blocks = list(gcp_billing.read_lines(io.BytesIO(content)))
    assert blocks and all(isinstance(block, CloudUsageLines) for block in blocks)
    by_rows = _by_rows(content, gcp_billing)
    assert _clean(by_rows) and _by_columns(content, gcp_billing) == by_rows
    assert {record.billing_account for _, record in by_rows} == {"111111111111"}
    assert {record.account_id for _, record in by_rows} == {"1234567890123", "1234567890124", "1234567890125"}
    assert len({record.line_item_key for _, record in by_rows}) == len(by_rows)


def test_parquet_text_writes_each_type_as_documented():
    table = pa.table(
        {
            "float": [111111111111.0, 1e-05, 1e16, -0.0, float("nan"), None],
            "int": pa.array([1, -2, None, 4, 5, 6], pa.int64()),
            "utc": pa.array([datetime(2025, 3, 1, tzinfo=UTC)] * 6, pa.timestamp("s", "UTC")),
            "zoned": pa.array([datetime(2025, 3, 1, tzinfo=UTC)] * 6, pa.timestamp("ms", "America/New_York")),
            "naive": pa.array([datetime(2025, 3, 1, 0, 0, 0, 500000)] * 6, pa.timestamp("us")),
            "flag": [True, False, None, True, True, True],
            "day": pa.array([date(2025, 3, 1)] * 6, pa.date32()),
            "amount": pa.array([Decimal("1.2300")] * 6, pa.decimal128(10, 4)),
            "single": pa.array([0.1] * 6, pa.float32()),
        }
    )
    text = parquet_text(table.to_batches()[0]).to_pylist()[:2]
    assert text[0] == {
        "float": "111111111111",
        "int": "1",
        "utc": "2025-03-01 00:00:00Z",
        "zoned": "2025-03-01 00:00:00.000Z",
        "naive": "2025-03-01 00:00:00.500000",
        "flag": "True",
        "day": "2025-03-01",
        "amount": "1.2300",
        "single": "0.10000000149011612",  # the float32's own value, as the typed read gave it
    }
    assert [row["float"] for row in parquet_text(table.to_batches()[0]).to_pylist()] == [
        "111111111111",
        "0.00001",
        "10000000000000000",
        "0",
        "nan",
        "",
    ]
    assert (text[1]["int"], text[1]["flag"]) == ("-2", "False")


def test_a_parquet_of_text_columns_keys_its_lines_as_the_csv_does():
    # parquet_text leaves text as it is: a Parquet written with text columns reads as its CSV.
    path = FIXTURES / "gcp_billing.csv"
    names = next(csv.reader(path.open()))
    options = pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False)
    content = _parquet(pa_csv.read_csv(path, convert_options=options))
    assert _by_columns(content, gcp_billing) == _by_rows(path.read_bytes(), gcp_billing)


def test_a_nested_gcp_parquet_is_read_row_by_row():
    table = pa.table(
        {
            "service": pa.array([{"id": "6F81", "description": "Compute Engine"}]),
            "usage_start_time": pa.array([datetime(2025, 3, 1, tzinfo=UTC)], pa.timestamp("s", "UTC")),
            "cost": [1.5],
            "usage": pa.array([{"amount": 7200.0, "unit": "seconds"}]),  # a struct's fields are read as text too
            "labels": pa.array([[{"key": "team", "value": "ml"}]]),
        }
    )
    content = _parquet(table)
    with pytest.raises(ColumnarUnavailable):
        list(gcp_billing.read_lines(io.BytesIO(content)))
    [(_, record)] = _by_rows(content, gcp_billing)
    assert (record.service, record.tags, record.cost) == ("Compute Engine", (("team", "ml"),), 1.5)
    assert (record.usage_quantity, record.usage_unit) == (2.0, "hour")


# ---- JSON lines -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*GCP_CSV, FIXTURES / "gcp_billing.jsonl"], ids=lambda path: path.name)
def test_every_gcp_sample_as_json_lines_gives_the_same_records_column_wise(path):
    content = path.read_bytes() if path.suffix == ".jsonl" else _bigquery_jsonl(path)
    by_rows = _by_rows(content, gcp_billing)
    assert by_rows and _clean(by_rows)
    assert _by_columns(content, gcp_billing) == by_rows
    assert _column_wise(content, gcp_billing) == len(by_rows)
    packed = gzip.compress(content)
    assert _by_columns(packed, gcp_billing) == by_rows
    assert _column_wise(packed, gcp_billing) == len(by_rows)


def _jsonl_edited(edits: dict[int, dict]) -> bytes:
    """The GCP JSON-lines sample with top-level keys of some lines set (``...``: left out)."""
    lines = (FIXTURES / "gcp_billing.jsonl").read_text().splitlines()
    for index, edit in edits.items():
        record = json.loads(lines[index])
        for key, value in edit.items():
            if value is ...:
                record.pop(key, None)
            else:
                record[key] = value
        lines[index] = json.dumps(record)
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    "edits",
    [
        {
            1: {"billing_account_id": 123},
            2: {"billing_account_id": 123.0},
            3: {"billing_account_id": "123"},
            4: {"billing_account_id": "123.0"},
        },
        {1: {"labels": None}, 2: {"labels": ...}, 3: {"labels": []}, 4: {"labels": {}}},
        {1: {"project": {"id": "p", "number": 12}}, 2: {"project": ...}},
        {1: {"cost": 7}, 2: {"cost": 10**20}, 3: {"cost": "7.25"}, 4: {"cost": ...}},
        {1: {"credits": [{"amount": -1}, {"amount": "-0.5"}, -0.25]}, 2: {"credits": '[{"amount": -2}]'}},
        {5: {"usage_start_time": "2025-03-01T00:00:00+02:00", "usage_end_time": ...}},
        {1: {"project": None}, 2: {"project": {}}, 3: {"location": "us"}, 4: {"invoice": {"month": {"x": 1}}}},
    ],
    ids=[
        "number-ids",
        "empty-labels",
        "project",
        "int-and-text-costs",
        "credit-forms",
        "offset-no-end",
        "objects-among-other-values",
    ],
)
def test_json_values_of_every_type_go_column_wise_with_the_same_records(edits):
    content = _jsonl_edited(edits)
    by_rows = _by_rows(content, gcp_billing)
    assert _by_columns(content, gcp_billing) == by_rows
    assert _column_wise(content, gcp_billing) == len(by_rows)


def test_lines_that_differ_only_in_a_value_s_type_are_kinds_of_their_own():
    # Row.text reads 123.0 as "123" but "123.0" as itself: one kind for both would give one account id.
    first = json.loads((FIXTURES / "gcp_billing.jsonl").read_text().splitlines()[0])
    variants = [123, "123", 123.0, "123.0", True, "True", None, "", ..., [], {}]
    lines = [json.dumps({**first, "billing_account_id": value} if value is not ... else first) for value in variants]
    content = ("\n".join(lines) + "\n").encode()
    by_rows = _by_rows(content, gcp_billing)
    assert _by_columns(content, gcp_billing) == by_rows
    assert _column_wise(content, gcp_billing) == len(variants)
    assert [record.billing_account for _, record in by_rows][:6] == ["123", "123", "123", "123.0", "True", "True"]


@pytest.mark.parametrize(
    "edit",
    [
        {"cost": True},  # a boolean where a number belongs
        {"cost": "lots"},
        {"cost": float("nan")},
        {"usage_start_time": 1740787200},  # a number where a timestamp belongs
        {"credits": "[oops"},  # not a list of credits
        {"credits": 5},
        {"usage": {"amount_in_pricing_units": [1]}},
        {"labels": [{"no": "key"}]},  # a kind that does not build
        {"usage_amount": 1.0},  # a second column matching usage.amount
        {"service.description": "Other"},  # the dotted name of a nested cell, as a key of its own
    ],
    ids=lambda edit: repr(edit)[:40],
)
def test_a_json_line_that_is_not_clean_sends_its_block_row_by_row_with_the_same_result(edit):
    content = _jsonl_edited({3: edit})
    blocks = list(gcp_billing.read_lines(io.BytesIO(content)))
    assert [type(block) for block in blocks] == [list]
    assert _by_columns(content, gcp_billing) == _by_rows(content, gcp_billing)


def test_a_separator_inside_a_repeated_cell_is_read_column_wise_with_the_row_path_s_result():
    # A cell of few distinct values is written for the digest by Python, exactly as the row path trims it
    # (Arrow's trim keeps 0x1c-0x1f, Python's strips them): the block need not go row by row.
    content = _jsonl_edited({3: {"sku": {"id": "SYN\x1f1"}}})
    assert _by_columns(content, gcp_billing) == _by_rows(content, gcp_billing)
    assert _column_wise(content, gcp_billing) == len(content.splitlines())


def test_json_records_taken_apart_column_by_column_give_flatten_s_cells():
    records = [
        {"a": {"b": 1, "c": {"d": [1]}}, "tags": {"k": "v"}, "e": None},
        {"a": {"c": {}}, "e": {"f": "x"}},
        {"a": None, "tags": {}, "e": {}},
        {"e": {"f": {"g": True}}, "h": "only here"},
    ]
    numbered = list(enumerate(records, start=2))
    keys, rows = flat_rows(numbered)
    expected = {key: [cells.get(key, _MISSING) for _, cells in rows] for key in keys}
    flat, types = _flat_columns(numbered)
    assert flat == expected
    assert types == {name: set(map(type, cells)) for name, cells in expected.items()}
    assert "tags" in expected and "tags.k" not in expected  # a map column stays whole, as flatten keeps it
    assert _flat_columns([*numbered, (6, {"a.b": 2})]) is None  # which cell wins depends on key order
    assert _flat_columns([numbered[0], (4, records[1])]) is None  # not one block


def test_a_line_that_is_not_json_keeps_its_row_error():
    lines = (FIXTURES / "gcp_billing.jsonl").read_bytes().splitlines()
    content = b"\n".join([*lines[:2], b"{not json", *lines[2:]]) + b"\n"
    by_columns = _by_columns(content, gcp_billing)
    assert by_columns == _by_rows(content, gcp_billing)
    assert by_columns[2][0] == 4 and by_columns[2][1][1].startswith("invalid JSON")


def test_json_lines_of_a_dialect_without_them_or_of_no_export_are_declined():
    from ingest.parsers import aws_cur

    with pytest.raises(ColumnarUnavailable):
        list(aws_cur.read_lines(io.BytesIO((FIXTURES / "gcp_billing.jsonl").read_bytes())))
    with pytest.raises(ColumnarUnavailable):  # the row path decides (and refuses it)
        list(gcp_billing.read_lines(io.BytesIO(b'{"a": 1}\n')))


def test_a_gzip_bomb_of_json_lines_stops_on_the_columnar_path(monkeypatch):
    from ingest.parsers import billing_columns_core

    monkeypatch.setattr(billing_columns_core, "DEFAULT_MAX_DECOMPRESSED_BYTES", 4096)
    packed = gzip.compress((FIXTURES / "gcp_billing.jsonl").read_bytes() * 20)
    with pytest.raises(ParseError, match="decompresses to more than"):
        list(gcp_billing.read_lines(io.BytesIO(packed)))


def test_a_json_line_over_the_record_bound_is_refused_on_the_columnar_path():
    content = _jsonl_edited({2: {"sku": {"id": "x" * (MAX_RECORD_BYTES + 1)}}})
    with pytest.raises(ParseError, match="a record longer than"):
        list(gcp_billing.read_lines(io.BytesIO(content)))


# ---- stored lines -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["parquet", "jsonl", "jsonl-numbers"])
def test_a_gcp_import_stores_what_the_row_path_stores(org, kind):
    path = FIXTURES / "gcp_billing.csv"
    content = {
        "parquet": lambda: _typed_parquet(path),
        "jsonl": lambda: _bigquery_jsonl(path),
        # Digests of number columns of floats only (usage.amount), of ints and floats (cost), of lists.
        "jsonl-numbers": lambda: _jsonl_edited(
            {1: {"cost": 7}, 2: {"cost": 2.5e-05, "credits": [{"amount": -1.0}]}, 3: {"usage": {"amount": 1e20}}}
        ),
    }[kind]()
    assert _column_wise(content, gcp_billing) == 15
    numbered = _by_rows(content, gcp_billing)
    records, row_numbers = [r for _, r in numbered], [n for n, _ in numbered]
    assert cloud_usage_load(organization=org, records=records, row_numbers=row_numbers).loaded == 15
    by_rows = stored_lines(org)
    CloudUsage.objects.for_org(org).delete()
    batch = import_batch_create(organization=org, source="gcp_billing", filename=f"gcp.{kind}", content=content)
    import_batch_process(batch=batch)
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded) == ("done", 15)
    assert stored_lines(org) == by_rows
