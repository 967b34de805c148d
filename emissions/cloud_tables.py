"""Coefficient tables for the billing-based cloud estimator (pure: stdlib + csv, no Django).

Reads the shipped CSVs of ``emissions/reference_data`` once (``coefficient_tables_load`` is cached per directory);
``coefficient_tables_digest`` hashes the same files for the ledger's inputs digest.
Every row keeps its ``source`` and a ``valid_from`` date: files without a ``valid_from`` column take the date of
the snapshot they were copied from (``_VALID_FROM``). See docs/cloud-estimation.md.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent / "reference_data"
HOURS_PER_YEAR = 8760.0

# Snapshot dates of files that carry no valid_from column: CCF @b7a049c; Karpenter docs @1d92708; the
# hardware_embodied.csv figures were computed/compiled on 2026-11-23 (see SOURCES.md §4-6).
_VALID_FROM = {
    "cpu_power_coefficients.csv": date(2024, 3, 25),
    "other_coefficients.csv": date(2024, 3, 25),
    "cloud_regions.csv": date(2024, 3, 25),
    "gpu_instances.csv": date(2026, 8, 21),
    "hardware_embodied.csv": date(2026, 11, 23),
}


@dataclass(frozen=True)
class Coefficient:
    value: float
    source: str
    valid_from: date


@dataclass(frozen=True)
class CpuPower:
    min_w: float
    max_w: float
    memory_gb_per_chip: float | None
    source: str
    valid_from: date


@dataclass(frozen=True)
class GpuPower:
    accelerator: str
    min_w: float | None
    max_w: float | None
    source: str
    valid_from: date


@dataclass(frozen=True)
class Embodied:
    hardware_model: str
    kind: str
    kg_co2e: float
    lifetime_years: float | None
    source: str
    valid_from: date


@dataclass(frozen=True)
class InstanceFamily:
    """CCF processor mapping of an instance family (AWS/GCP) or size (Azure) and its largest size."""

    microarchitectures: tuple[str, ...]
    largest_vcpu: float | None
    largest_memory_gb: float | None
    source: str
    valid_from: date


@dataclass(frozen=True)
class AzureVmSize:
    """vCPU and memory (GB) of one Azure VM size and of the largest size of its series (CCF's last entry)."""

    vcpu: float
    memory_gb: float
    largest_vcpu: float
    largest_memory_gb: float
    source: str
    valid_from: date


@dataclass(frozen=True)
class GpuInstanceSpec:
    """A GPU instance type and the host it is carved from (the largest size of its family in gpu_instances.csv)."""

    provider: str
    instance_type: str
    family: str
    gpu_model: str
    hardware_model: str
    gpu_count: float
    vcpu: float
    memory_gb: float
    host_gpu_count: float
    host_vcpu: float
    host_memory_gb: float
    source: str
    valid_from: date


@dataclass(frozen=True)
class CoefficientTables:
    cpu_power: dict[tuple[str, str], CpuPower]  # (provider, microarchitecture); "average" = provider fallback
    scalars: dict[str, Coefficient]  # other_coefficients.csv by name
    region_pue: dict[tuple[str, str], Coefficient]  # (provider, normalized region)
    gpu_instances: dict[tuple[str, str], GpuInstanceSpec]  # (provider, instance type lower case)
    gpu_power: dict[str, GpuPower]  # by accelerator (= hardware_model of gpu_instances.csv)
    embodied: dict[str, Embodied]  # by hardware_model
    families: dict[tuple[str, str], InstanceFamily]  # (provider, family key lower case)
    azure_sizes: dict[str, AzureVmSize] = field(default_factory=dict)  # CCF size name lower case ("d4s v5")

    def scalar(self, name: str) -> Coefficient:
        return self.scalars[name]


def normalize_region(region: str) -> str:
    return re.sub(r"[\s_]+", "", (region or "").lower())


def gpu_family(provider: str, instance_type: str) -> str:
    """Family key of a GPU instance: sizes of one family share a host (p4d, a2-highgpu, azure NC_A100_v4)."""
    it = instance_type.lower()
    if provider == "aws":
        return it.rsplit(".", 1)[0]
    if provider == "gcp":
        return it.rsplit("-", 1)[0]
    match = re.match(r"^(?:standard_)?([a-z]+)\d+[a-z]*_(.*)$", it)
    return f"{match.group(1)}_{match.group(2)}" if match else it


def _float(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def _rows(directory: Path, name: str) -> list[dict[str, str]]:
    with (directory / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _valid_from(row: dict[str, str], name: str) -> date:
    text = (row.get("valid_from") or "").strip()
    return date.fromisoformat(text) if text else _VALID_FROM[name]


def _cpu_power(directory: Path) -> dict[tuple[str, str], CpuPower]:
    out = {}
    for row in _rows(directory, "cpu_power_coefficients.csv"):
        arch = row["microarchitecture"]
        key = "average" if arch.startswith("Unknown") else arch
        out[(row["provider"], key)] = CpuPower(
            float(row["min_w_per_vcpu"]),
            float(row["max_w_per_vcpu"]),
            _float(row["memory_gb_per_chip"]),
            row["source"],
            _valid_from(row, "cpu_power_coefficients.csv"),
        )
    return out


def _gpu_instances(directory: Path) -> dict[tuple[str, str], GpuInstanceSpec]:
    rows = _rows(directory, "gpu_instances.csv")
    hosts: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        key = (row["provider"], gpu_family(row["provider"], row["instance_type"]))
        if key not in hosts or float(row["vcpu"]) > float(hosts[key]["vcpu"]):
            hosts[key] = row
    out = {}
    for row in rows:
        family = gpu_family(row["provider"], row["instance_type"])
        host = hosts[(row["provider"], family)]
        out[(row["provider"], row["instance_type"].lower())] = GpuInstanceSpec(
            provider=row["provider"],
            instance_type=row["instance_type"],
            family=family,
            gpu_model=row["gpu_model"],
            hardware_model=row["hardware_model"],
            gpu_count=float(row["gpu_count"]),
            vcpu=float(row["vcpu"]),
            memory_gb=float(row["memory_gib"]),
            host_gpu_count=float(host["gpu_count"]),
            host_vcpu=float(host["vcpu"]),
            host_memory_gb=float(host["memory_gib"]),
            source=row["source"],
            valid_from=_valid_from(row, "gpu_instances.csv"),
        )
    return out


def _azure_sizes(directory: Path) -> dict[str, AzureVmSize]:
    return {
        row["instance_type"].lower(): AzureVmSize(
            float(row["vcpu"]),
            float(row["memory_gb"]),
            float(row["largest_vcpu"]),
            float(row["largest_memory_gb"]),
            row["source"],
            _valid_from(row, "azure_vm_sizes.csv"),
        )
        for row in _rows(directory, "azure_vm_sizes.csv")
    }


# Every file coefficient_tables_load reads (tests/emissions/test_inputs_digest.py checks the list against the loader).
COEFFICIENT_FILES = (
    "azure_vm_sizes.csv",
    "cloud_coefficients.csv",
    "cloud_gpu_power.csv",
    "cloud_regions.csv",
    "cpu_power_coefficients.csv",
    "gpu_instances.csv",
    "hardware_embodied.csv",
    "other_coefficients.csv",
)


@functools.lru_cache(maxsize=4)
def coefficient_tables_digest(directory: Path | None = None) -> str:
    """SHA-256 (hex) of the bytes of every file ``coefficient_tables_load`` reads, with their names, computed once
    per process and directory. The ledger reads these tables at calculation time (cloud runs' embodied share,
    accelerator power), so a release that changes one of them must change the inputs digest."""
    directory = Path(directory) if directory is not None else REFERENCE_DIR
    digest = hashlib.sha256()
    for name in COEFFICIENT_FILES:
        content = (directory / name).read_bytes()
        # Name and length first, so bytes moved from the end of one file to the start of the next still differ.
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def coefficient_tables_load(directory: Path | None = None) -> CoefficientTables:
    """Read the shipped CSVs (once per directory) into immutable lookups."""
    directory = Path(directory) if directory is not None else REFERENCE_DIR
    other = "other_coefficients.csv"
    scalars = {
        row["name"]: Coefficient(float(row["value"]), row["source"], _valid_from(row, other))
        for row in _rows(directory, other)
    }
    region_pue = {
        (row["provider"], normalize_region(row["region"])): Coefficient(
            float(row["pue"]), row["pue_source"], _valid_from(row, "cloud_regions.csv")
        )
        for row in _rows(directory, "cloud_regions.csv")
        if row["pue"] and row["region"] != "Unknown"
    }
    gpu_power = {
        row["accelerator"]: GpuPower(
            row["accelerator"], _float(row["min_w"]), _float(row["max_w"]), row["source"], _valid_from(row, "")
        )
        for row in _rows(directory, "cloud_gpu_power.csv")
    }
    embodied = {
        row["hardware_model"]: Embodied(
            row["hardware_model"],
            row["kind"],
            float(row["embodied_kg_co2e"]),
            _float(row["default_lifetime_years"]),
            row["source"],
            _valid_from(row, "hardware_embodied.csv"),
        )
        for row in _rows(directory, "hardware_embodied.csv")
    }
    families = {
        (row["provider"], row["instance_family"].lower()): InstanceFamily(
            tuple(row["microarchitectures"].split("|")),
            _float(row["largest_vcpu"]),
            _float(row["largest_memory_gb"]),
            row["source"],
            _valid_from(row, ""),
        )
        for row in _rows(directory, "cloud_coefficients.csv")
    }
    return CoefficientTables(
        cpu_power=_cpu_power(directory),
        scalars=scalars,
        region_pue=region_pue,
        gpu_instances=_gpu_instances(directory),
        gpu_power=gpu_power,
        embodied=embodied,
        families=families,
        azure_sizes=_azure_sizes(directory),
    )
