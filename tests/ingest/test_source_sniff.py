"""The upload form's "Detect automatically": each kind of file told by its name, bytes and header."""

import io
import zipfile
from pathlib import Path

import pytest

from ingest.parsers import PARSERS
from ingest.parsers.source_sniff import SIGNATURES, source_detect
from ingest.records import ParseError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
INVENTORY = ["site_electricity", "grid_factors", "energy_instruments", "hardware_assets", "fuel", "refrigerant"]
INVENTORY += ["carbon_credits", "disposal_factors"]
SAMPLES = {
    "trackers/codecarbon-3.3.2/offline_3runs/emissions.csv": "codecarbon_csv",
    "trackers/codecarbon-2.8.4/emissions.csv": "codecarbon_csv",
    "trackers/public/codecarbon/mlco2-examples-2020-bom/emissions.csv": "codecarbon_csv",  # BOM, old columns
    "trackers/codecarbon-3.3.2/task_tracking/emissions_sweep-a_599e122a-0a0c-42ed-8515-20da44c6f6df.csv": (
        "codecarbon_task_csv"
    ),
    "trackers/eco2ai-0.3.12/emission.csv": "eco2ai_csv",
    "trackers/zeus-0.16.0/zeus_log.csv": "zeus_csv",
    "trackers/carbontracker-2.4.7/27991.807784_2026-11-23T135126Z_carbontracker_output.log": "carbontracker",
    "trackers/hf_model_cards/full_mapping_README.md": "hf_model_card",
    "trackers/codecarbon-3.3.2/boamps/boamps_report_baf27cdb-0a36-4bf2-85d9-98bb6b0e3b3c.json": "boamps_json",
    "billing/aws_cur.csv": "billing",
    "billing/azure_cost.csv": "billing",
    "billing/focus.csv": "billing",
    "billing/gcp_billing.csv": "billing",
    "billing/gcp_billing.jsonl": "billing",
    "provider_carbon/aws_ccft_export.csv": "aws_carbon",
    "provider_carbon/gcp_carbon_footprint.csv": "gcp_carbon",
    "provider_carbon/azure_carbon_emissions.csv": "azure_carbon",
    "sites/sites.csv": "sites",
    **{f"inventory/{name}.csv": name for name in INVENTORY},
}


def _detect(name: str, content: bytes) -> str:
    return source_detect(filename=name, stream=io.BytesIO(content))


@pytest.mark.parametrize(("path", "source"), SAMPLES.items())
def test_each_sample_is_detected(path, source):
    stream = (FIXTURES / path).open("rb")
    assert source_detect(filename=Path(path).name, stream=stream) == source
    assert stream.tell() == 0  # rewound for the upload


def test_every_source_with_a_header_has_a_signature_and_detection_names_only_real_sources():
    assert set(SIGNATURES) <= set(PARSERS) and set(SAMPLES.values()) <= set(PARSERS)


def test_native_runs_json_and_zip_archives():
    assert _detect("runs.json", b'{"runs": [{"external_id": "a"}]}') == "native_json"
    ranks = io.BytesIO()
    with zipfile.ZipFile(ranks, "w") as archive:
        for rank in range(2):
            archive.writestr(f"emissions_rank{rank}.csv", b"timestamp,run_id,duration,energy_consumed\n")
    assert _detect("ranks.zip", ranks.getvalue()) == "codecarbon_csv"
    logs = io.BytesIO()
    with zipfile.ZipFile(logs, "w") as archive:
        archive.writestr("log/1.2_2026-11-23T135126Z_carbontracker_output.log", b"...")
    assert _detect("logs.zip", logs.getvalue()) == "carbontracker"
    assert _detect("export.csv.gz", b"\x1f\x8b\x08\x00rest") == "billing"
    assert _detect("export.parquet", b"PAR1rest") == "billing"


@pytest.mark.parametrize("content", [b"colour,size\nred,3\n", b"", b"\x00\x01\x02binary", b"[1, 2, 3]"])
def test_an_unknown_file_is_refused_with_the_columns_to_expect_never_its_own_header(content):
    with pytest.raises(ParseError) as refused:
        _detect("mystery.csv", content)
    message = str(refused.value)
    assert "choose its source in the list" in message and "timestamp, duration, energy_consumed" in message
    assert "colour" not in message
