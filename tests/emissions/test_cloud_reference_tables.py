"""Provenance of the cloud coefficient tables, read straight from the CSVs (not through our loaders): every row
says where its values come from and under which licence, and every GPU model an instance names has a power row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).parents[2] / "emissions" / "reference_data"


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", ["gpu_instances.csv", "cloud_gpu_power.csv", "azure_vm_sizes.csv"])
def test_every_row_has_a_source_and_a_licence(name):
    rows = _rows(name)
    assert rows, f"{name} is empty"
    missing = [
        index for index, row in enumerate(rows, start=2) if not row["source"].strip() or not row["licence"].strip()
    ]
    assert not missing, f"{name}: lines without source or licence: {missing}"


def test_every_gpu_instance_model_has_a_power_row():
    """No exceptions today: each ``hardware_model`` of gpu_instances.csv is an ``accelerator`` of
    cloud_gpu_power.csv. Rows without a power figure (Trainium, Inferentia, recent TPUs, GB200) are allowed, and
    must say so in their source ("GAP"): the ledger names their lines as a data gap."""
    accelerators = {row["accelerator"]: row for row in _rows("cloud_gpu_power.csv")}
    models = {row["hardware_model"] for row in _rows("gpu_instances.csv")}
    assert sorted(models - accelerators.keys()) == []
    unpowered = [name for name, row in accelerators.items() if not row["max_w"].strip()]
    assert all("GAP" in accelerators[name]["source"] for name in unpowered), unpowered
