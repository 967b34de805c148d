"""Billing-based energy and embodied estimate of one cloud usage line (CCF methodology, SCI embodied share).

Pure: stdlib only, no Django. ``estimate(record, tables)`` classifies one ``CloudUsageRecord`` (CCF
ClassifyingUsageTypes style) and returns a ``CloudEstimate`` with IT energies in kWh *before* PUE, the PUE to apply,
the SCI embodied share and every coefficient used. Formulas and sources: docs/cloud-estimation.md.
"""

from __future__ import annotations

import math
import statistics

from emissions.cloud_tables import (
    HOURS_PER_YEAR,
    CoefficientTables,
    GpuInstanceSpec,
    coefficient_tables_load,
    normalize_region,
)
from emissions.records import CloudEstimate, CloudUsageRecord

__all__ = ["NO_ENERGY", "CoefficientTables", "coefficient_tables_load", "estimate", "gpu_instance_spec"]

# Classifications of lines that never carry energy: not usage, marketplace licences, providers we have no
# coefficients for. They stay out of the kWh-per-cost ratio that unclassified lines borrow.
NO_ENERGY = frozenset({"none", "licence", "unsupported"})

HOURS_PER_MONTH = HOURS_PER_YEAR / 12  # 730 h: GB-month → GB-hour (assumption; CCF uses the billing month)
_CCF_VCPU_PER_CHIP = 96  # CCF memory helpers: chips = ceil(largest vCPU / 96)
_MEDIAN_ARCHS = {"Sandy Bridge", "Ivy Bridge"}  # CCF getWattsByAverageOrMedian
_RESOURCE_PREFIXES = ("db.", "cache.", "ml.", "ra3.", "dax.")
_GPU_TEXT = (  # GCP GPU SKUs name the accelerator only ("Nvidia Tesla A100 GPU running in Americas")
    ("h200", "NVIDIA H200 SXM 141GB"),
    ("h100", "NVIDIA H100 SXM 80GB"),
    ("a100 80", "NVIDIA A100 SXM4 80GB"),
    ("a100", "NVIDIA A100 SXM4 40GB"),
    ("l40s", "NVIDIA L40S 48GB"),
    ("l4", "NVIDIA L4"),
    ("t4", "NVIDIA T4"),
    ("v100", "NVIDIA V100 SXM2 16GB"),
    ("b200", "NVIDIA B200 180GB"),
)
_SSD = ("ssd", "gp2", "gp3", "io1", "io2", "premium", "aurora", "dynamodb", "efs", "fsx", "sagemaker")
_HDD = ("hdd", "st1", "sc1", "snapshot", "timedstorage", "glacier", "storage pd capacity", "standard")
_NETWORK = (
    "out-bytes",
    "regional-bytes",
    "egress",
    "transitgateway-bytes",
    "data transfer out",
    "inter-region",
    "inter region",
    "internet",
    "download",
    "network traffic",
    "data delivery",
    "geo-replication",
)
# (provider, any of these substrings, other_coefficients.csv replication name); first match wins, else default.
_REPLICATION = (
    ("aws", ("onezone", "one zone", "reducedredundancy"), "replication_factor.aws.s3_one_zone_reduced_redundancy"),
    ("aws", ("amazons3", "timedstorage"), "replication_factor.aws.s3"),
    ("aws", ("snapshotusage",), "replication_factor.aws.ec2_ebs_snapshot"),
    ("aws", ("volumeusage",), "replication_factor.aws.ec2_ebs_volume"),
    ("aws", ("amazonefs",), "replication_factor.aws.efs"),
    ("aws", ("aurora",), "replication_factor.aws.rds_aurora"),
    ("aws", ("multi-az",), "replication_factor.aws.rds_multi_az"),
    ("aws", ("amazonrds",), "replication_factor.aws.rds_backup"),
    ("aws", ("dynamodb",), "replication_factor.aws.dynamo_db"),
    ("aws", ("amazonecr",), "replication_factor.aws.ecr_storage"),
    ("gcp", ("cloud storage",), "replication_factor.gcp.cloud_storage_multi_region"),
    (
        "gcp",
        ("regional pd", "regional storage pd", "regional ssd"),
        "replication_factor.gcp.compute_engine_regional_disks",
    ),
    ("gcp", ("filestore",), "replication_factor.gcp.cloud_filestore"),
    ("gcp", ("kubernetes",), "replication_factor.gcp.kubernetes_engine"),
    ("azure", ("gzrs",), "replication_factor.azure.storage_gzrs"),
    ("azure", ("grs",), "replication_factor.azure.storage_grs"),
    ("azure", ("zrs",), "replication_factor.azure.storage_zrs"),
    ("azure", ("lrs",), "replication_factor.azure.storage_lrs"),
    ("azure", ("disk",), "replication_factor.azure.storage_disks"),
    ("azure", ("cosmos",), "replication_factor.azure.cosmos_db"),
    ("azure", ("mysql",), "replication_factor.azure.database_mysql"),
    ("azure", ("sql database",), "replication_factor.azure.sql_db"),
    ("azure", ("redis",), "replication_factor.azure.redis_cache"),
)


def gpu_instance_spec(provider: str, instance_type: str, tables: CoefficientTables) -> GpuInstanceSpec | None:
    """The GPU table row of an instance type (``ml.``/``db.`` prefixes and an Azure `` Spot`` suffix ignored)."""
    return tables.gpu_instances.get((provider.lower(), _instance_key(provider.lower(), instance_type)))


def _instance_key(provider: str, instance_type: str) -> str:
    it = (instance_type or "").strip().lower().removesuffix(" spot")
    if provider == "aws":
        it = it.rsplit(":", 1)[-1]
        for prefix in _RESOURCE_PREFIXES:
            it = it.removeprefix(prefix)
    return it


def _family_key(provider: str, instance_key: str) -> str:
    if provider == "aws":
        return instance_key.split(".", 1)[0]
    if provider == "gcp":
        return instance_key.split("-", 1)[0]
    return instance_key.removeprefix("standard_").replace("_", " ")  # CCF Azure names: "D4s v5"


class _Builder:
    """Accumulates energies, coefficients and the fallback flag of one estimate."""

    def __init__(self, record: CloudUsageRecord, tables: CoefficientTables, lifespan_years: float) -> None:
        self.record, self.tables, self.lifespan_years = record, tables, lifespan_years
        self.provider = record.provider.lower()
        self.energy = dict.fromkeys(("compute", "gpu", "memory", "storage", "network"), 0.0)
        self.embodied = 0.0
        self.coefficients: list[tuple[str, object]] = []
        self.fell_back = False
        self.text = " ".join((record.service, record.sku, record.usage_type)).lower()

    def use(self, name: str, value: object) -> object:
        self.coefficients.append((name, value))
        return value

    def scalar(self, name: str) -> float:
        coefficient = self.tables.scalar(name)
        self.use(name, coefficient.value)
        return coefficient.value

    def cpu_watts(self, family_key: str, utilization: float) -> tuple[float, float | None]:
        """Mean W per vCPU at ``utilization`` and GB/chip, by the family's microarchitecture else the average."""
        family = self.tables.families.get((self.provider, family_key))
        powers = [
            self.tables.cpu_power[(self.provider, arch)]
            for arch in (family.microarchitectures if family else ())
            if (self.provider, arch) in self.tables.cpu_power
        ]
        if powers:
            self.use("cpu_microarchitecture", "|".join(family.microarchitectures))
            pick = statistics.median if _MEDIAN_ARCHS & set(family.microarchitectures) else statistics.fmean
            min_w, max_w = pick(p.min_w for p in powers), pick(p.max_w for p in powers)
            chip_values = [p.memory_gb_per_chip for p in powers if p.memory_gb_per_chip is not None]
            gb_per_chip = pick(chip_values) if chip_values else None
        else:
            self.fell_back = True
            average = self.tables.cpu_power[(self.provider, "average")]
            self.use("cpu_microarchitecture", "provider average (fallback)")
            min_w, max_w, gb_per_chip = average.min_w, average.max_w, average.memory_gb_per_chip
        self.use("cpu_min_w_per_vcpu", min_w)
        self.use("cpu_max_w_per_vcpu", max_w)
        self.use("cpu_utilization", utilization)
        return min_w + utilization * (max_w - min_w), gb_per_chip

    def gpu_energy(self, hardware_model: str, gpu_hours: float, utilization: float) -> bool:
        power = self.tables.gpu_power.get(hardware_model)
        self.use("gpu_model", hardware_model)
        if power is None or power.min_w is None or power.max_w is None:
            self.use("gpu_power", "missing (gap)")
            self.fell_back = True
            return False
        self.use("gpu_min_w", power.min_w)
        self.use("gpu_max_w", power.max_w)
        self.use("gpu_utilization", utilization)
        self.use("gpu_hours", gpu_hours)
        self.energy["gpu"] += gpu_hours * (power.min_w + utilization * (power.max_w - power.min_w)) / 1000
        return True

    def embodied_share(self, te_kg: float, instance_hours: float, share: float) -> None:
        # SCI: M = TE × (TR / EL) × (RR / TotalR), with TR in instance-hours. CCF (AWS/Azure) passes
        # usageAmount / vCPU as TR although usageAmount is already instance-hours, then multiplies by
        # vCPU / largest vCPU: the vCPU count divides twice, under-allocating by ×vCPU. Here TR is the
        # instance-hours and RR/TotalR is applied once.
        lifespan_hours = self.lifespan_years * HOURS_PER_YEAR
        self.use("embodied_te_kg", te_kg)
        self.use("embodied_share", share)
        self.use("lifespan_years", self.lifespan_years)
        self.embodied += te_kg * (instance_hours / lifespan_hours) * share


def estimate(
    record: CloudUsageRecord,
    tables: CoefficientTables,
    *,
    cpu_utilization: float = 0.5,
    gpu_utilization: float = 0.5,
    lifespan_years: float = 4.0,
) -> CloudEstimate:
    """Estimate one billing line.

    Only ``charge_category == "usage"`` lines carry energy (others: classification ``none``); marketplace software
    is a licence (``licence``), and a provider without coefficients (Oracle, Alibaba…) is ``unsupported``: both
    without energy, the latter named in a data gap with its cost by the ledger. Lines whose unit or
    service cannot be classified (``unknown:*`` units, requests, scanned bytes, Azure ``month`` disks of unknown
    size…) come back ``unclassified`` with zero energy: CCF estimates them from the kWh/cost ratio of the
    classified lines, which needs the whole batch, so the caller applies that fallback at batch level.
    """
    if record.charge_category.strip().lower() != "usage":
        return CloudEstimate(classification="none")
    if record.marketplace:
        return CloudEstimate(classification="licence")
    if (record.provider.lower(), "average") not in tables.cpu_power:
        return CloudEstimate(classification="unsupported")
    b = _Builder(record, tables, lifespan_years)
    unit, qty = record.usage_unit, record.usage_quantity
    key = _instance_key(b.provider, record.instance_type)
    spec = gpu_instance_spec(b.provider, record.instance_type, tables) if key else None
    gcp_split = b.provider == "gcp" and any(w in b.text for w in ("gpu", "core", "cpu", "ram"))
    if unit == "hour" and b.provider == "gcp" and "gpu" in b.text:
        classification = _gcp_gpu_sku(b, spec, qty, gpu_utilization)
    elif unit == "vcpu-hour" or (unit == "hour" and gcp_split and "ram" not in b.text):
        classification = _vcpu_hours(b, key, spec, qty, cpu_utilization)
    elif unit == "hour" and key:
        classification = _instance_hours(b, key, spec, qty, cpu_utilization, gpu_utilization)
    elif unit == "gb-hour" and ("ram" in b.text or "memory" in b.text):
        b.energy["memory"] = qty * b.scalar(f"memory_coefficient.{b.provider}")
        classification = "memory"
    elif unit in ("gb-month", "gb-hour"):
        classification = _storage(b, qty * HOURS_PER_MONTH if unit == "gb-month" else qty)
    elif unit == "gb" and any(w in b.text for w in _NETWORK) and "cloudfront" not in b.text:
        b.energy["network"] = qty * b.scalar(f"networking_coefficient.{b.provider}")
        classification = "network"
    else:
        classification = "unclassified"
    if classification == "unclassified":
        return CloudEstimate(classification="unclassified", pue=_pue(b), coefficients=tuple(b.coefficients))
    pue = _pue(b)
    return CloudEstimate(
        compute_energy_kwh=b.energy["compute"],
        gpu_energy_kwh=b.energy["gpu"],
        memory_energy_kwh=b.energy["memory"],
        storage_energy_kwh=b.energy["storage"],
        network_energy_kwh=b.energy["network"],
        embodied_kg_co2e=b.embodied,
        pue=pue,
        classification=classification,
        fell_back=b.fell_back,
        coefficients=tuple(b.coefficients),
    )


def _pue(b: _Builder) -> float:
    regional = b.tables.region_pue.get((b.provider, normalize_region(b.record.region)))
    if regional is not None:
        b.use("pue", regional.value)
        b.use("pue_source", "region")
        return regional.value
    b.use("pue_source", "provider_average")
    return b.scalar(f"pue_default.{b.provider}")


def _instance_hours(
    b: _Builder, key: str, spec: GpuInstanceSpec | None, hours: float, cpu_util: float, gpu_util: float
) -> str:
    """Whole instance for ``hours``: vCPU compute, memory, GPUs (GPU instances) and the embodied share."""
    vcpu = b.record.vcpu_count or (spec.vcpu if spec else None)
    if not vcpu:
        vcpu = 1.0  # CCF (Azure): unknown size counts as 1 vCPU
        b.fell_back = True
    b.use("vcpu", vcpu)
    b.use("instance_hours", hours)
    watts, gb_per_chip = b.cpu_watts(_family_key(b.provider, key), cpu_util)
    b.energy["compute"] = vcpu * hours * watts / 1000
    family = b.tables.families.get((b.provider, _family_key(b.provider, key)))
    memory = b.record.memory_gb or (spec.memory_gb if spec else None)
    largest_vcpu = spec.host_vcpu if spec else (family.largest_vcpu if family and family.largest_vcpu else vcpu)
    largest_memory = spec.host_memory_gb if spec else (family.largest_memory_gb if family else None)
    _instance_memory(b, hours, memory, largest_memory or memory, largest_vcpu, gb_per_chip)
    if spec is not None:
        b.gpu_energy(spec.hardware_model, spec.gpu_count * hours, gpu_util)
        _gpu_embodied(b, spec, hours)
        return "gpu"
    _cpu_embodied(b, hours, vcpu / largest_vcpu, largest_vcpu, largest_memory or memory or 0.0)
    return "compute"


def _instance_memory(
    b: _Builder,
    hours: float,
    memory: float | None,
    largest_memory: float | None,
    largest_vcpu: float,
    gb_per_chip: float | None,
) -> None:
    coefficient = b.scalar(f"memory_coefficient.{b.provider}")
    if not memory:
        return
    if b.provider == "gcp" or gb_per_chip is None:
        gb = memory  # GCP bills RAM separately; CCF has no GB/chip allowance there: count it all
    else:
        # CCF memory helpers: only memory above SPECpower's GB per chip, pro rata to the instance's share
        chips = math.ceil(largest_vcpu / _CCF_VCPU_PER_CHIP)
        b.use("memory_gb_per_chip", gb_per_chip)
        gb = max(0.0, largest_memory / chips - gb_per_chip) * memory / largest_memory
    b.use("memory_gb_counted", gb)
    b.energy["memory"] = gb * hours * coefficient


def _gpu_embodied(b: _Builder, spec: GpuInstanceSpec, instance_hours: float) -> None:
    # TE of the host = its GPUs × per-GPU embodied + the GPU server node without GPUs (BLOOM). The instance
    # reserves gpu_count/host_gpu_count of the GPUs and vcpu/host_vcpu of the node (both 1 for a full host).
    gpu = (
        b.tables.embodied.get(spec.hardware_model)
        or b.tables.embodied["Generic data-centre GPU card (CCF/BLOOM default)"]
    )
    node = b.tables.embodied["GPU server node excluding GPUs (8-GPU class, generic)"]
    b.use("embodied_gpu_kg", gpu.kg_co2e)
    b.use("embodied_node_kg", node.kg_co2e)
    b.use("host_gpu_count", spec.host_gpu_count)
    b.use("host_vcpu", spec.host_vcpu)
    te = spec.host_gpu_count * gpu.kg_co2e + node.kg_co2e
    reserved = spec.gpu_count * gpu.kg_co2e + node.kg_co2e * spec.vcpu / spec.host_vcpu
    b.embodied_share(te, instance_hours, reserved / te)


def _cpu_embodied(b: _Builder, instance_hours: float, share: float, largest_vcpu: float, largest_mem: float) -> None:
    # CCF cloud-carbon-coefficients: base server + DRAM above 16 GB + extra CPU sockets, for the family's host.
    chips = max(1, math.ceil(largest_vcpu / _CCF_VCPU_PER_CHIP))
    te = (
        b.scalar("embodied.server_base_manufacturing")
        + max(0.0, largest_mem - 16) * b.scalar("embodied.dram_per_gb_above_16gb")
        + (chips - 1) * b.scalar("embodied.additional_cpu")
    )
    b.embodied_share(te, instance_hours, share)


def _vcpu_hours(b: _Builder, key: str, spec: GpuInstanceSpec | None, vcpu_hours: float, cpu_util: float) -> str:
    """vCPU-hours (AWS vCPU-Hours, GCP core SKUs): compute energy; embodied when the instance size is known."""
    b.use("vcpu_hours", vcpu_hours)
    watts, _ = b.cpu_watts(_family_key(b.provider, key), cpu_util)
    b.energy["compute"] = vcpu_hours * watts / 1000
    vcpu = b.record.vcpu_count or (spec.vcpu if spec else None)
    if vcpu:
        b.use("vcpu", vcpu)
        if spec is not None:
            _gpu_embodied(b, spec, vcpu_hours / vcpu)  # GCP GPU VMs: the core SKU carries the host's embodied
        else:
            family = b.tables.families.get((b.provider, _family_key(b.provider, key)))
            largest = family.largest_vcpu if family and family.largest_vcpu else vcpu
            _cpu_embodied(b, vcpu_hours / vcpu, vcpu / largest, largest, b.record.memory_gb or 0.0)
    return "compute"


def _gcp_gpu_sku(b: _Builder, spec: GpuInstanceSpec | None, gpu_hours: float, gpu_util: float) -> str:
    """GCP bills GPUs as their own SKU (GPU-hours); the host's vCPU/RAM/embodied come on the core/RAM lines."""
    model = spec.hardware_model if spec else next((m for word, m in _GPU_TEXT if word in b.text), None)
    if model is None or not b.gpu_energy(model, gpu_hours, gpu_util):
        return "unclassified"
    return "gpu"


def _storage(b: _Builder, gb_hours: float) -> str:
    ssd = any(w in b.text for w in _SSD)
    hdd = not ssd and any(w in b.text for w in _HDD)
    if not ssd and not hdd:
        b.fell_back = True  # medium unknown: SSD, the higher coefficient
    medium = "hdd" if hdd else "ssd"
    b.use("storage_medium", medium)
    wh_per_tbh = b.scalar(f"{medium}_coefficient.{b.provider}")
    name = next(
        (n for p, words, n in _REPLICATION if p == b.provider and any(w in b.text for w in words)),
        f"replication_factor.{b.provider}.default",
    )
    replication = b.scalar(name)
    b.use("storage_gb_hours", gb_hours)
    b.energy["storage"] = gb_hours / 1000 * wh_per_tbh * replication / 1000
    return "storage"
