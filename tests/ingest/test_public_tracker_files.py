"""Real tracker files from public repositories (fixtures/trackers/public/PROVENANCE.csv): stored kWh = file kWh.

The expected figures were computed apart from our parsers (fixtures/trackers/public/EXPECTED.csv, Python's
csv module, one rule per file written in its notes) and, for the files with plain run ids, are recomputed
here by ``_last_row_per_run`` — a dozen lines that share nothing with ingest/. The README's table of public
tracker files lists the same figures.
"""

import csv
from pathlib import Path

import pytest

from emissions.models import Run
from ingest.services import import_batch_create, import_batch_process

PUBLIC = Path(__file__).parent / "fixtures" / "trackers" / "public"
SOURCES = {"codecarbon": "codecarbon_csv", "codecarbon_task": "codecarbon_task_csv", "eco2ai": "eco2ai_csv",
           "hf_model_card": "hf_model_card"}  # fmt: skip

# path → (runs stored, kWh stored, rows rejected, why the stored figure is what it is)
EXPECTED = {
    "codecarbon/mlco2-examples-2024/emissions.csv": (
        18, 0.008044586495837417, 2,
        "id-less flushes (lines 4-7) are one run; lines 6-7 have an empty energy_consumed: rejected, line 5 counts",
    ),
    "codecarbon/mlco2-examples-2020-bom/emissions.csv": (
        98, 484.0, 2, "upstream sample data with a BOM; 2020-04-31 and 2020-06-31 are not dates: rows rejected",
    ),
    "codecarbon/mlco2-examples-2021-glued-row/emissions.csv": (
        0, 0.0, 100, "upstream sample data whose energy_consumed ≠ cpu+gpu+ram (e.g. 8.0 vs 8.157): every row "
        "rejected with both figures; line 101 is two rows glued together",
    ),
    "codecarbon/peft-outputs/emissions.csv": (3, 0.001002356454835243, 0, "1.x header, no run_id"),
    "codecarbon/unstructured-pruning-llama/emissions.csv": (103, 0.8656782993036171, 0, "1.x header, CRLF"),
    "codecarbon/ecocode/emissions.csv": (2, 5.693618332403317e-07, 0, "2.0 header without version columns"),
    "codecarbon/cubes-and-clouds/emissions.csv": (6, 0.0035783536931753945, 0, "two runs written twice: latest row"),
    "codecarbon/green-ai-lifecycle-tracker/emissions.csv": (
        196, 26.496069359478525, 0, "flushes (21 rows per run); negative gpu_energy on 3 runs dropped, CPU and RAM "
        "kept (the file's energy_consumed, which subtracts them, totals 26.194)",
    ),
    "codecarbon/aira-llama-factory/emissions.csv": (
        30, 4.450058643666518, 0, "7 pairs of DDP ranks (machine mode, 2 GPUs seen by each) merged: the node "
        "counted once; the rows sum to 4.796",
    ),
    "codecarbon/chanformer/emissions.csv": (12, 0.21529839421649322, 0, "3.2 header, cloud columns at the end"),
    "codecarbon/nnlandmark/emissions.csv": (1, 1.2337170316766916e-05, 0, "3.2 header"),
    "codecarbon_task/pideel-system1/emissions_PiDeeL_dab2cc3a-e418-40bb-9fd0-edacca159dee.csv": (
        26, 1.6469761315314505, 0, "task rows add up; negative gpu_energy on 2 tasks dropped",
    ),
    "codecarbon_task/pideel-system1/emissions.csv": (1, 2.0504579242279113, 0, "the run-level row of the same run"),
    "codecarbon_task/pideel-system2/emissions_PiDeeL_b83e1ad5-32a5-4e9a-aa8c-84998f4c6705.csv": (
        26, 3.4109039745157803, 0, "task rows add up",
    ),
    "codecarbon_task/pideel-system2/emissions.csv": (1, 4.2144190053240695, 0, "the run-level row of the same run"),
    "eco2ai/eco2ai-upstream/emission.csv": (1, 0.002, 0, "one run"),
    "hf_model_cards/aira/Aira-2-1B1.md": (1, 0.0, 0, "1,710 g CO2e, no energy: emissions-only run"),
    "hf_model_cards/aira/Aira-2-124M-DPO.md": (1, 0.0, 0, "150 g CO2e, no energy"),
    "hf_model_cards/aira/ToxiGuardrail.md": (1, 0.0, 0, "0.2 g CO2e, no energy"),
}  # fmt: skip


def _provenance() -> dict[str, dict[str, str]]:
    with (PUBLIC / "EXPECTED.csv").open(newline="") as handle:
        return {row["path"]: row for row in csv.DictReader(handle)}


def _last_row_per_run(path: Path) -> float:
    """Reference rule for CodeCarbon files whose runs have ids: the last row of each run; a negative
    component counts 0 and the run's energy is then the sum of the others."""
    latest: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            latest[row.get("run_id") or row.get("experiment_id") or str(len(latest))] = row
    total = 0.0
    for row in latest.values():
        parts = [float(row[name]) for name in ("cpu_energy", "gpu_energy", "ram_energy") if row.get(name)]
        total += sum(max(part, 0.0) for part in parts) if any(p < 0 for p in parts) else float(row["energy_consumed"])
    return total


@pytest.mark.parametrize("path", sorted(EXPECTED))
@pytest.mark.django_db
def test_a_public_tracker_file_is_stored_with_the_files_energy(path, org_a, media_root):
    row = _provenance()[path]
    runs, kwh, rejected, _why = EXPECTED[path]
    options = {"project": "public", **({"model_id": Path(path).stem} if row["tracker"] == "hf_model_card" else {})}
    batch = import_batch_create(organization=org_a, source=SOURCES[row["tracker"]], filename=Path(path).name,
                                content=(PUBLIC / path).read_bytes(), options=options)  # fmt: skip
    batch = import_batch_process(batch=batch)
    assert batch.rows_rejected == rejected and batch.rows_total == batch.rows_loaded + batch.rows_duplicate + rejected
    stored = Run.objects.for_org(org_a)
    assert stored.count() == runs
    assert sum(run.energy_kwh for run in stored) == pytest.approx(kwh, rel=1e-12, abs=1e-15)
    if row["tracker"] == "codecarbon" and rejected == 0 and "ranks" not in _why:
        assert kwh == pytest.approx(_last_row_per_run(PUBLIC / path), rel=1e-12)
    if row["tracker"] == "hf_model_card":  # grams in the card's front matter → the tracker's kgCO2e
        grams = float(_why.split(" g ")[0].replace(",", ""))
        assert stored.get().tracker_emissions_kg_co2e == pytest.approx(grams / 1000)
    if row["file_kwh"] and rejected == 0 and "negative" not in _why and "ranks" not in _why:
        assert kwh == pytest.approx(float(row["file_kwh"]), rel=1e-12)  # the independent figure, unchanged
