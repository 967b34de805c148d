"""Hostile input for every parser: mutated sample files end in rows, row errors or a clear ParseError.

Each source's real sample is mutated by hypothesis (truncated, bytes flipped, wrong encoding, BOM, huge
fields, NaN/inf, negative numbers, year 9999, quotes and newlines in cells, a gzip bomb, Parquet with
wrong types). The parser may accept rows, reject rows with a reason, or refuse the file with a
ParseError; any other exception is a crash and fails the test. Parsers are pure, so no database here.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.parsers import PARSERS
from ingest.records import ParsedRow, ParseError, RowIssue

FIXTURES = Path(__file__).parent / "fixtures"
NATIVE = json.dumps(
    {
        "runs": [
            {
                "run_id": "r1",
                "project": "p",
                "started_at": "2025-03-01T00:00:00Z",
                "ended_at": "2025-03-01T01:00:00Z",
                "energy_kwh": 1.5,
                "gpu_model": "NVIDIA A100 SXM4 40GB",
                "gpu_count": 1,
                "cloud_provider": "aws",
                "cloud_region": "us-east-1",
            }
        ]
    }
).encode()

SAMPLES: dict[str, bytes] = {
    "sites": (FIXTURES / "sites" / "sites.csv").read_bytes(),
    **{
        name: (FIXTURES / "inventory" / f"{name}.csv").read_bytes()
        for name in (
            "site_electricity",
            "site_electricity_hourly",
            "granular_certificates",
            "grid_factors",
            "grid_intensity_hourly",
            "energy_instruments",
            "hardware_assets",
            "fuel",
            "refrigerant",
            "carbon_credits",
            "disposal_factors",
        )
    },
    "codecarbon_csv": (FIXTURES / "trackers" / "codecarbon-3.3.2" / "offline_3runs" / "emissions.csv").read_bytes(),
    "codecarbon_task_csv": next(
        (FIXTURES / "trackers" / "codecarbon-3.3.2" / "task_tracking").glob("emissions_*.csv")
    ).read_bytes(),
    "carbontracker": next((FIXTURES / "trackers" / "carbontracker-2.4.7").glob("*_output.log")).read_bytes(),
    "eco2ai_csv": (FIXTURES / "trackers" / "eco2ai-0.3.12" / "emission.csv").read_bytes(),
    "zeus_csv": (FIXTURES / "trackers" / "edge" / "zeus_energy.csv").read_bytes(),
    "hf_model_card": (FIXTURES / "trackers" / "hf_model_cards" / "full_mapping_README.md").read_bytes(),
    "boamps_json": next((FIXTURES / "trackers" / "codecarbon-3.3.2" / "boamps").glob("*.json")).read_bytes(),
    "aws_cur": (FIXTURES / "billing" / "aws_cur.csv").read_bytes(),
    "gcp_billing": (FIXTURES / "billing" / "gcp_billing.csv").read_bytes(),
    "azure_cost": (FIXTURES / "billing" / "azure_cost.csv").read_bytes(),
    "focus": (FIXTURES / "billing" / "focus.csv").read_bytes(),
    "billing": (FIXTURES / "billing" / "azure_mca.csv").read_bytes(),
    "aws_carbon": (FIXTURES / "provider_carbon" / "aws_ccft_export.csv").read_bytes(),
    "gcp_carbon": (FIXTURES / "provider_carbon" / "gcp_carbon_footprint.csv").read_bytes(),
    "azure_carbon": (FIXTURES / "provider_carbon" / "azure_carbon_emissions.csv").read_bytes(),
    "native_json": NATIVE,
    "site_electricity_hourly_json": (FIXTURES / "meter_api" / "hourly_readings.json").read_bytes(),
}

NASTY_CELLS = [
    "NaN", "nan", "inf", "-inf", "1e309", "-1", "-0.0", "9999-12-31T23:59:59Z", "0000-00-00", "",
    '"', '""', 'a"b', "x\ny", "x\r\ny", ",", ";", "=1+1", "\x00", "\ufeff", "é", "𝔘", "1,5", "0x10", "A" * 100_000,
]  # fmt: skip


def test_every_source_has_a_sample():
    assert set(SAMPLES) == set(PARSERS)


def _parse(source: str, content: bytes) -> list:
    """All items of a parse; a ParseError is a clear refusal and returns None."""
    parser = PARSERS[source]
    options = {"options": {"filename": "emissions_sweep-a_599e122a-0a0c-42ed-8515-20da44c6f6df.csv"}}
    try:
        items = list(parser.parse(content, **(options if parser.takes_options else {})))
    except ParseError as exc:
        assert str(exc).strip(), "a ParseError must say why"
        return None
    for item in items:
        assert isinstance(item, ParsedRow | RowIssue), item
        if isinstance(item, RowIssue):
            assert item.reason.strip() and item.row_number >= 0
    return items


def _replace_cell(content: bytes, index: int, cell: str) -> bytes:
    """The ``index``-th comma-separated cell of the file (over all lines) replaced by ``cell``."""
    text = content.decode("utf-8", errors="replace")
    lines = text.split("\n")
    cells = [(i, j) for i, line in enumerate(lines[1:], start=1) for j in range(line.count(",") + 1)]
    if not cells:
        return content
    i, j = cells[index % len(cells)]
    parts = lines[i].split(",")
    parts[j] = cell if not any(ch in cell for ch in ',"\n\r') else '"' + cell.replace('"', '""') + '"'
    lines[i] = ",".join(parts)
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_the_unmutated_sample_parses(source):
    assert _parse(source, SAMPLES[source])


@pytest.mark.parametrize("source", sorted(SAMPLES))
@_FUZZ
@given(data=st.data())
def test_mutated_files_never_crash_a_parser(source, data):
    content = SAMPLES[source]
    mutation = data.draw(st.sampled_from(["truncate", "flip", "cell", "latin1", "bom", "junk", "empty"]))
    if mutation == "truncate":
        content = content[: data.draw(st.integers(0, len(content)))]
    elif mutation == "flip":
        position = data.draw(st.integers(0, max(len(content) - 1, 0)))
        content = content[:position] + bytes([data.draw(st.integers(0, 255))]) + content[position + 1 :]
    elif mutation == "cell":
        content = _replace_cell(content, data.draw(st.integers(0, 10_000)), data.draw(st.sampled_from(NASTY_CELLS)))
    elif mutation == "latin1":
        content = content.decode("utf-8", errors="replace").replace("a", "é").encode("latin-1", errors="replace")
    elif mutation == "bom":
        content = b"\xef\xbb\xbf" + content
    elif mutation == "junk":
        content = data.draw(st.binary(max_size=2000))
    else:
        content = b""
    _parse(source, content)


@pytest.mark.parametrize("source", ["aws_cur", "gcp_billing", "azure_cost", "focus", "billing"])
def test_a_gzip_bomb_is_refused(source):
    bomb = gzip.compress(SAMPLES[source] + b"0" * 50_000_000)
    parser = PARSERS[source]
    with pytest.raises(ParseError, match="decompresses to more than"):
        list(parser.parse(bomb, options={"max_decompressed_bytes": 1_000_000}))


@pytest.mark.parametrize("source", ["aws_cur", "focus", "billing"])
def test_parquet_with_wrong_types_gives_row_errors_not_crashes(source):
    import csv

    rows = list(csv.DictReader(io.StringIO(SAMPLES[source].decode("utf-8-sig"))))
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    # Numbers where text belongs, text where numbers belong, and nulls everywhere else.
    mangled = {
        name: pa.array([float(i) if i % 2 else None for i in range(len(values))])
        if index % 3 == 0
        else pa.array(["not a number" if i % 2 else value for i, value in enumerate(values)])
        for index, (name, values) in enumerate(columns.items())
    }
    buffer = io.BytesIO()
    pq.write_table(pa.table(mangled), buffer)
    _parse(source, buffer.getvalue())
