"""Billing export parsers: the four samples, header variants, formats (gzip, Parquet, JSONL), chunking, errors."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.parsers import aws_cur, azure_cost, billing_sniff, billing_units, focus, gcp_billing
from ingest.records import ParsedRow, ParseError, RowIssue

FIXTURES = Path(__file__).parent / "fixtures" / "billing"


def records(module, name: str):
    rows = list(module.parse((FIXTURES / name).read_bytes()))
    assert all(isinstance(r, ParsedRow) for r in rows), [r for r in rows if isinstance(r, RowIssue)]
    return [r.record for r in rows]


def one(recs, **match):
    found = [r for r in recs if all(getattr(r, k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


# ---- units -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quantity", "expected"),
    [
        ("Hrs", 2, ("hour", 2)),
        ("hours", 2, ("hour", 2)),
        ("hour", 2, ("hour", 2)),
        ("Hour", 2, ("hour", 2)),
        ("1 Hour", 2, ("hour", 2)),
        ("10 Hours", 2, ("hour", 20)),
        ("vCPU-Hours", 3, ("vcpu-hour", 3)),
        ("GB-Mo", 1.5, ("gb-month", 1.5)),
        ("GB-Month", 1.5, ("gb-month", 1.5)),
        ("gibibyte month", 1.5, ("gb-month", 1.5)),
        ("1 GB/Month", 1.5, ("gb-month", 1.5)),
        ("100 GB/Month", 2, ("gb-month", 200)),
        ("GB", 4, ("gb", 4)),
        ("gibibyte", 4, ("gb", 4)),
        ("1 GB", 4, ("gb", 4)),
        ("tebibyte", 3.2, ("gb", 3276.8)),
        ("TB", 1, ("gb", 1024)),
        ("GiB-Hours", 5, ("gb-hour", 5)),
        ("gibibyte hour", 5, ("gb-hour", 5)),
        ("Requests", 7, ("request", 7)),
        ("count", 7, ("request", 7)),
        ("seconds", 7200, ("hour", 2)),
        ("1/Month", 0.5, ("month", 0.5)),
    ],
)
def test_unit_table(text, quantity, expected):
    unit, value = billing_units.convert(text, quantity)
    assert unit == expected[0]
    assert value == pytest.approx(expected[1])


def test_unknown_unit_is_kept_not_an_error():
    assert billing_units.convert("Widgets", 3) == ("unknown:Widgets", 3)


# ---- samples -----------------------------------------------------------------------------------------------


def test_aws_cur_sample():
    recs = records(aws_cur, "aws_cur.csv")
    assert len(recs) == 15
    assert {r.charge_category for r in recs} == {"usage", "tax"}
    p4d = one(recs, line_item_key="syn0001@20250301T000000Z@20250302T000000Z")
    assert (p4d.provider, p4d.instance_type, p4d.region) == ("aws", "p4d.24xlarge", "us-east-1")
    assert (p4d.usage_quantity, p4d.usage_unit, p4d.cost, p4d.currency) == (24, "hour", 786.5424, "USD")
    assert (p4d.vcpu_count, p4d.gpu_count, p4d.memory_gb) == (96, 8, 1152)
    assert ("team", "ml-research") in p4d.tags and ("cost-center", "cc-4100") in p4d.tags
    assert p4d.billing_account == "111111111111" and p4d.account_id == "222222222222"
    assert p4d.billing_period == date(2025, 3, 1)
    assert p4d.usage_start == datetime(2025, 3, 1, tzinfo=UTC)
    assert one(recs, line_item_key="syn0006@20250301T000000Z@20250302T000000Z").instance_type == "ml.p4d.24xlarge"
    assert one(recs, line_item_key="syn0011@20250301T000000Z@20250302T000000Z").usage_unit == "gb-month"
    assert one(recs, line_item_key="syn0008@20250301T000000Z@20250302T000000Z").tags == ()
    tax = one(recs, line_item_key="syn0015@20250301T000000Z@20250302T000000Z")
    assert (tax.charge_category, tax.cost) == ("tax", 210.45)


def test_gcp_sample():
    recs = records(gcp_billing, "gcp_billing.csv")
    assert len(recs) == 15
    assert {r.charge_category for r in recs} == {"usage", "tax"}
    a100 = one(recs, sku="SYN1-A100-0001")
    assert (a100.instance_type, a100.region, a100.usage_quantity, a100.usage_unit) == (
        "a2-highgpu-8g",
        "us-central1",
        192,
        "hour",
    )
    assert (a100.vcpu_count, a100.memory_gb, a100.account_id) == (96, 680, "acme-ml-research")
    assert ("team", "ml-research") in a100.tags and ("project_label:cost-center", "cc-4100") in a100.tags
    h100 = one(recs, sku="SYN1-H100-0004")
    assert h100.instance_type == "a3-highgpu-8g"
    assert h100.cost == pytest.approx(761.88)  # 1061.88 less the -300 CUD credit
    assert one(recs, sku="SYN1-BQAN-0013").usage_quantity == pytest.approx(3.2 * 1024)
    assert one(recs, sku="SYN1-N2CR-0014").tags == (("project_label:cost-center", "cc-4300"),)
    tax = one(recs, charge_category="tax")
    assert tax.cost == 104.37
    assert len({r.line_item_key for r in recs}) == 15


def test_azure_sample():
    recs = records(azure_cost, "azure_cost.csv")
    assert len(recs) == 14
    assert {r.charge_category for r in recs} == {"usage", "purchase"}
    nd = [r for r in recs if r.instance_type == "Standard_ND96asr_v4"]
    assert len(nd) == 2  # on-demand and Spot
    ondemand = one(nd, cost=652.728)
    assert (ondemand.usage_quantity, ondemand.usage_unit, ondemand.region) == (24, "hour", "eastus")
    assert ondemand.vcpu_count == 96
    assert ondemand.tags == (("project", "llm-pretrain"), ("team", "ml-research"))
    assert ondemand.usage_end == datetime(2025, 3, 2, tzinfo=UTC)
    assert one(recs, usage_type="Hot LRS Data Stored").usage_unit == "gb-month"
    assert one(recs, usage_type="P30 LRS Disk").usage_unit == "month"
    purchase = one(recs, charge_category="purchase")
    assert purchase.cost == 11250


def test_focus_sample():
    recs = records(focus, "focus.csv")
    assert len(recs) == 15
    assert {r.provider for r in recs} == {"aws", "gcp", "azure"}
    assert sorted(r.charge_category for r in recs if r.charge_category != "usage") == ["credit", "purchase", "tax"]
    p5 = [r for r in recs if r.instance_type == "p5.48xlarge"]
    assert sorted(r.cost for r in p5) == [612, 1320.96]  # EffectiveCost of the Savings Plan line
    assert (p5[0].vcpu_count, p5[0].gpu_count, p5[0].memory_gb) == (192, 8, 2048)
    h100 = one(recs, instance_type="Standard_ND96isr_H100_v5")
    assert (h100.provider, h100.usage_quantity, h100.usage_unit, h100.region) == ("azure", 20, "hour", "swedencentral")
    a3 = one(recs, instance_type="a3-highgpu-8g")
    assert (a3.usage_quantity, a3.usage_unit, a3.cost) == (96, "hour", 761.88)
    assert ("team", "ml-research") in a3.tags
    assert one(recs, charge_category="credit").cost == -50


# ---- header variants ---------------------------------------------------------------------------------------


def test_cur_athena_snake_case():
    recs = records(aws_cur, "aws_cur_athena.csv")
    assert len(recs) == 3
    p4d = one(recs, line_item_key="syn0001@20250301T000000Z@20250302T000000Z")
    assert (p4d.instance_type, p4d.region, p4d.gpu_count) == ("p4d.24xlarge", "us-east-1", 8)
    assert ("team", "ml-research") in p4d.tags and ("cost_center", "cc-4100") in p4d.tags


def test_cur2_json_maps():
    recs = records(aws_cur, "aws_cur2.csv")
    assert [r.charge_category for r in recs] == ["usage", "usage", "tax"]
    p4d = recs[0]
    assert (p4d.instance_type, p4d.region, p4d.vcpu_count, p4d.memory_gb) == ("p4d.24xlarge", "us-east-1", 96, 1152)
    assert p4d.tags == (("project", "llm-pretrain"), ("team", "ml-research"))


def test_cur_parquet_with_map_columns(tmp_path):
    source = list(csv.DictReader(io.StringIO((FIXTURES / "aws_cur2.csv").read_text())))
    table = pa.table(
        {
            "identity_line_item_id": [r["identity_line_item_id"] for r in source],
            "line_item_line_item_type": [r["line_item_line_item_type"] for r in source],
            "line_item_usage_start_date": [datetime(2025, 3, 1, tzinfo=UTC)] * len(source),
            "line_item_usage_end_date": [datetime(2025, 3, 2, tzinfo=UTC)] * len(source),
            "line_item_usage_type": [r["line_item_usage_type"] for r in source],
            "line_item_usage_amount": [float(r["line_item_usage_amount"]) for r in source],
            "line_item_unblended_cost": [float(r["line_item_unblended_cost"]) for r in source],
            "pricing_unit": [r["pricing_unit"] for r in source],
            "product_region_code": [r["product_region_code"] for r in source],
            "product": pa.array(
                [[("instance_type", "p4d.24xlarge"), ("gpu", "8")], [], []], pa.map_(pa.string(), pa.string())
            ),
            "resource_tags": pa.array([[("user_team", "ml-research")], [], []], pa.map_(pa.string(), pa.string())),
        }
    )
    path = tmp_path / "cur.parquet"
    pq.write_table(table, path)
    rows = list(aws_cur.read_chunks(path))
    recs = [r.record for chunk in rows for r in chunk]
    assert [r.row_number for chunk in rows for r in chunk] == [2, 3, 4]
    assert (recs[0].instance_type, recs[0].gpu_count, recs[0].tags) == ("p4d.24xlarge", 8, (("team", "ml-research"),))
    assert recs[0].usage_start == datetime(2025, 3, 1, tzinfo=UTC)
    assert recs[2].charge_category == "tax"
    assert list(aws_cur.parse(path.read_bytes())) == [r for chunk in rows for r in chunk]


def test_csv_gz_detected_by_magic_bytes(tmp_path):
    path = tmp_path / "export.bin"  # no .gz in the name
    path.write_bytes(gzip.compress((FIXTURES / "aws_cur.csv").read_bytes()))
    gz = [r.record for chunk in aws_cur.read_chunks(path, chunk_rows=4) for r in chunk]
    assert gz == records(aws_cur, "aws_cur.csv")


def test_gcp_jsonl_matches_csv():
    jsonl = records(gcp_billing, "gcp_billing.jsonl")
    plain = records(gcp_billing, "gcp_billing.csv")
    strip = [(r.sku, r.instance_type, r.usage_quantity, r.usage_unit, r.cost, r.tags, r.charge_category) for r in plain]
    assert [
        (r.sku, r.instance_type, r.usage_quantity, r.usage_unit, r.cost, r.tags, r.charge_category) for r in jsonl
    ] == strip


def test_azure_mca_camel_case():
    recs = records(azure_cost, "azure_mca.csv")
    assert [r.charge_category for r in recs] == ["usage", "usage", "purchase"]
    assert (recs[0].instance_type, recs[0].billing_account, recs[0].region) == (
        "Standard_ND96asr_v4",
        "syn-mca-0001",
        "eastus",
    )
    assert ("team", "ml-research") in recs[0].tags


def test_azure_legacy_ea_names_and_block_units():
    recs = records(azure_cost, "azure_ea_legacy.csv")
    assert len(recs) == 2
    nd = recs[0]
    assert (nd.usage_quantity, nd.usage_unit, nd.cost) == (24, "hour", 652.728)  # 2.4 blocks of 10 Hours
    assert nd.instance_type == "ND96asr A100 v4"  # no AdditionalInfo: the meter name
    assert nd.resource_id.endswith("virtualMachines/0") and nd.charge_category == "usage"


def test_focus_1_0_without_sku_price_details():
    recs = records(focus, "focus_1_0.csv")
    assert len(recs) == 3
    assert recs[0].instance_type == "p5.48xlarge"  # from x_UsageType
    assert recs[0].gpu_count is None
    assert recs[2].instance_type == "ml.p4d.24xlarge"


# ---- sniffing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dialect"),
    [
        ("aws_cur.csv", "aws_cur"),
        ("aws_cur_athena.csv", "aws_cur"),
        ("aws_cur2.csv", "aws_cur"),
        ("gcp_billing.csv", "gcp_billing"),
        ("azure_cost.csv", "azure_cost"),
        ("azure_mca.csv", "azure_cost"),
        ("azure_ea_legacy.csv", "azure_cost"),
        ("focus.csv", "focus"),
        ("focus_1_0.csv", "focus"),
    ],
)
def test_sniff_dialect(name, dialect):
    header = next(csv.reader(io.StringIO((FIXTURES / name).read_text())))
    assert billing_sniff.sniff_dialect(header) == dialect


def test_sniff_rejects_unknown_header():
    with pytest.raises(ParseError, match="FOCUS"):
        billing_sniff.sniff_dialect(["date", "amount"])


def test_auto_source_reads_every_sample_and_jsonl():
    for name, module in [("focus.csv", focus), ("aws_cur.csv", aws_cur), ("gcp_billing.jsonl", gcp_billing)]:
        content = (FIXTURES / name).read_bytes()
        assert list(billing_sniff.parse(content)) == list(module.parse(content))


# ---- chunking, row numbers, errors -------------------------------------------------------------------------


def test_chunks_concatenate_to_parse():
    path = FIXTURES / "azure_cost.csv"
    chunks = list(azure_cost.read_chunks(path, chunk_rows=3))
    assert len(chunks) == 5
    flat = [row for chunk in chunks for row in chunk]
    assert flat == list(azure_cost.parse(path.read_bytes()))
    assert [r.row_number for r in flat] == list(range(2, 16))
    with path.open("rb") as handle:  # a binary file object works too
        assert [row for chunk in azure_cost.read_chunks(handle, chunk_rows=3) for row in chunk] == flat


def test_jsonl_row_numbers_over_chunks():
    chunks = list(gcp_billing.read_chunks(FIXTURES / "gcp_billing.jsonl", chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 4, 4, 3]
    assert [r.row_number for c in chunks for r in c] == list(range(2, 17))


def _cur_with(row_index: int, column: str, value: str) -> bytes:
    rows = list(csv.reader(io.StringIO((FIXTURES / "aws_cur.csv").read_text())))
    rows[row_index][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("lineItem/UsageStartDate", "yesterday", "not a date-time"),
        ("lineItem/UsageStartDate", "2201-03-01T00:00:00Z", "outside the years"),
        ("lineItem/UsageAmount", "abc", "not a number"),
        ("lineItem/UsageAmount", "NaN", "not a finite number"),
        ("lineItem/UnblendedCost", "12,5", "not a number"),
    ],
)
def test_bad_cells_are_row_issues(column, value, reason):
    rows = list(aws_cur.parse(_cur_with(3, column, value)))
    issues = [r for r in rows if isinstance(r, RowIssue)]
    assert len(rows) == 15 and len(issues) == 1
    assert (issues[0].row_number, issues[0].column, issues[0].value) == (4, column, value)
    assert reason in issues[0].reason


def test_negative_quantity_allowed_off_usage_lines():
    rows = list(aws_cur.parse(_cur_with(15, "lineItem/UsageAmount", "-1")))
    assert all(isinstance(r, ParsedRow) for r in rows)


def test_a_negative_usage_quantity_is_a_correction_without_energy():
    # Providers write corrections as usage with a negative quantity (the FOCUS 1.0 sample's Azure rows):
    # stored as a cost line (category adjustment), never as negative energy and never as a row error.
    rows = list(aws_cur.parse(_cur_with(3, "lineItem/UsageAmount", "-3")))
    assert all(isinstance(r, ParsedRow) for r in rows)
    assert (rows[2].record.charge_category, rows[2].record.usage_quantity) == ("adjustment", -3.0)


def test_digest_keys_are_stable():
    content = (FIXTURES / "focus.csv").read_bytes()
    assert [r.record.line_item_key for r in focus.parse(content)] == [
        r.record.line_item_key for r in focus.parse(content)
    ]


@pytest.mark.parametrize(
    ("module", "content", "match"),
    [
        (aws_cur, b"", "empty"),
        (aws_cur, b"date,amount\n2025-03-01,3\n", "not a AWS CUR export"),
        (gcp_billing, (FIXTURES / "aws_cur.csv").read_bytes(), "not a GCP billing export"),
        (focus, (FIXTURES / "azure_cost.csv").read_bytes(), "ChargeCategory|chargecategory"),
        (aws_cur, gzip.compress((FIXTURES / "aws_cur.csv").read_bytes())[:200], "truncated or corrupt"),
        (aws_cur, b"PAR1garbage", "Parquet"),
    ],
)
def test_unusable_files_raise_parse_error(module, content, match):
    with pytest.raises(ParseError, match=match):
        list(module.parse(content))


def test_gzip_bomb_guard_stops_early():
    bomb = gzip.compress((FIXTURES / "aws_cur.csv").read_bytes() + b"\n" * 5_000_000)
    with pytest.raises(ParseError, match="decompresses to more than"):
        list(aws_cur.parse(bomb, options={"max_decompressed_bytes": 100_000}))
    with pytest.raises(ParseError, match="decompresses to more than"):
        list(aws_cur.read_chunks(io.BytesIO(bomb), max_decompressed_bytes=100_000))
