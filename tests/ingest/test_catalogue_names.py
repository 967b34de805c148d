"""Issue 16, defect 8: catalogue names as registers, docs, leak logs and trackers write them."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from emissions.catalogue_names import HardwareCatalogue, gas_lookup, hardware_lookup, name_key
from emissions.models import HardwareAsset, RefrigerantLoss, Run
from emissions.periods import period_parse
from emissions.selectors import inventory_summary
from emissions.services.ledger import inventory_calculate
from ingest.services import import_batch_create, import_batch_process
from tests.factories import SiteFactory

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "emissions" / "reference_data"
TRACKERS = Path(__file__).parent / "fixtures" / "trackers"


def _names(filename: str, column: str) -> dict[str, str]:
    with open(REFERENCE / filename, newline="", encoding="utf-8") as handle:
        return {name_key(row[column]): row[column] for row in csv.DictReader(handle)}


def _import(org, source: str, content: bytes, **options):
    batch = import_batch_create(organization=org, source=source, filename="upload", content=content, options=options)
    return import_batch_process(batch=batch)


# GPU names as trackers report them (NVML / nvidia-smi device names; CodeCarbon prefixes "N x ").
@pytest.mark.parametrize(
    ("written", "catalogue_name"),
    [
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 SXM4 80GB"),
        ("2 x NVIDIA A100-SXM4-80GB", "NVIDIA A100 SXM4 80GB"),  # CodeCarbon gpu_model
        ("NVIDIA A100-SXM4-40GB", "NVIDIA A100 SXM4 40GB"),
        ("NVIDIA A100-PCIE-40GB", "NVIDIA A100 PCIe 40GB"),
        ("NVIDIA A100 80GB PCIe", "NVIDIA A100 PCIe 80GB"),
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM 80GB"),
        ("8 x NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM 80GB"),
        ("NVIDIA H100 PCIe", "NVIDIA H100 PCIe 80GB"),
        ("Tesla V100-SXM2-16GB", "NVIDIA V100 SXM2 16GB"),
        ("NVIDIA L4", "NVIDIA L4"),
        ("Tesla T4", "NVIDIA T4"),
        ("NVIDIA L40S", "NVIDIA L40S 48GB"),
        ("NVIDIA H100 SXM5 80GB", "NVIDIA H100 SXM 80GB"),  # docs/import-formats.md
        # Not in the catalogue, or not one model: no guess.
        ("8 x NVIDIA H800", None),
        ("1 x NVIDIA GeForce RTX 3090", None),
        ("NVIDIA A100-SXM4-80GB, NVIDIA H100 PCIe", None),
        ("", None),
        # A catalogue name with commas of its own is that model, not a list.
        (
            "GPU server node excluding GPUs (8-GPU class, generic)",
            "GPU server node excluding GPUs (8-GPU class, generic)",
        ),
        (
            "8x NVIDIA H100 SXM 80GB server, complete (p5.48xlarge / DGX-H100 class)",
            "8x NVIDIA H100 SXM 80GB server, complete (p5.48xlarge / DGX-H100 class)",
        ),
    ],
)
def test_tracker_gpu_names_find_the_catalogue_model(written, catalogue_name):
    assert hardware_lookup(written, _names("hardware_embodied.csv", "hardware_model")) == catalogue_name


def test_every_hardware_alias_names_a_catalogue_model():
    catalogue = _names("hardware_embodied.csv", "hardware_model")
    with open(REFERENCE / "hardware_aliases.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["source"] for row in rows)
    assert [row["alias"] for row in rows if name_key(row["catalogue_name"]) not in catalogue] == []


@pytest.mark.parametrize(
    ("written", "gas"),
    [("R-32", "HFC-32"), ("R32", "HFC-32"), ("r-32", "HFC-32"), ("R 134a", "HFC-134a"), ("R-125", "HFC-125"),
     ("R-143a", "HFC-143a"), ("r410a", "R-410A"), ("HFC-32", "HFC-32"), ("R-23", None), ("R-999", None)],
)  # fmt: skip
def test_refrigerant_designations_find_the_gwp_table_gas(written, gas):
    # R-23 (HFC-23) has an alias but no row in gwp_ar6.csv: still unknown with the shipped table.
    assert gas_lookup(written, _names("gwp_ar6.csv", "gas")) == gas


def test_a_table_that_spells_the_designation_is_found_from_the_ipcc_name():
    assert gas_lookup("HFC-32", {name_key("R-32"): "R-32"}) == "R-32"


def _documented_hardware_rows() -> list[dict[str, str]]:
    """Every ``hardware_assets`` CSV example of docs/*.md (a fenced block starting with its header)."""
    rows = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in re.findall(r"```csv\n(asset_id,site,hardware_model,.*?)```", page.read_text(), re.DOTALL):
            rows += list(csv.DictReader(io.StringIO(block)))
    return rows


@pytest.mark.django_db
def test_documented_hardware_examples_import_as_written(reference, org_a, media_root):
    rows = _documented_hardware_rows()
    assert {row["hardware_model"] for row in rows} == {"NVIDIA H100 SXM5 80GB"}
    assert all(HardwareCatalogue(org_a).model_for(row["hardware_model"]) for row in rows)
    SiteFactory(organization=org_a, slug="frankfurt-dc", name="Frankfurt DC")
    header = "asset_id,site,hardware_model,quantity,acquired_on,in_service_on,lifetime_years,retired_on,"
    header += "embodied_kg_co2e_per_unit,disposal_route\n"
    content = header + "".join(",".join(row.values()) + "\n" for row in rows)
    batch = _import(org_a, "hardware_assets", content.encode())
    assert (batch.status, batch.rows_loaded, batch.rows_rejected) == ("done", 2, 0)
    models = set(HardwareAsset.objects.for_org(org_a).values_list("hardware_model__name", flat=True))
    assert models == {"NVIDIA H100 SXM 80GB"}


@pytest.mark.django_db
def test_a_leak_of_r32_counts_at_the_gwp_of_hfc32(reference, org_a, media_root):
    """2.0 kg of R-32 and 0.5 kg of r134a leaked in 2025.

    Scope 1 fugitive = 2.0 kg × 771 (HFC-32, AR6 GWP-100) + 0.5 kg × 1,530 (HFC-134a) = 1,542 + 765
    = 2,307 kgCO2e. Before the aliases both rows were rejected as unknown gases.
    """
    SiteFactory(organization=org_a, slug="frankfurt-dc", name="Frankfurt DC")
    content = b"site,date,gas,kg_leaked\nfrankfurt-dc,2025-03-01,R-32,2.0\nfrankfurt-dc,2025-04-01,r134a,0.5\n"
    batch = _import(org_a, "refrigerant", content)
    assert (batch.status, batch.rows_loaded) == ("done", 2)
    assert sorted(RefrigerantLoss.objects.for_org(org_a).values_list("gas", flat=True)) == ["HFC-134a", "HFC-32"]
    summary = inventory_summary(calculation=inventory_calculate(organization=org_a, period=period_parse("2025")))
    assert summary["scope_1_kg"] == pytest.approx(2.0 * 771 + 0.5 * 1530)
    assert summary["scope_1_kg"] == pytest.approx(2307.0)


@pytest.mark.django_db
def test_codecarbon_runs_are_linked_to_the_catalogue_model(reference, org_a, media_root):
    # The machine-mode rank files report gpu_model "2 x NVIDIA A100-SXM4-80GB" (CodeCarbon's format).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((TRACKERS / "edge" / "ranks_machine").iterdir()):
            archive.writestr(path.name, path.read_bytes())
    batch = _import(org_a, "codecarbon_csv", buffer.getvalue(), merge_ranks="true")
    assert batch.status == "done"
    runs = Run.objects.for_org(org_a).select_related("hardware_model")
    assert {(run.gpu_model, run.hardware_model.name) for run in runs} == {
        ("2 x NVIDIA A100-SXM4-80GB", "NVIDIA A100 SXM4 80GB")
    }
