"""Billing-based energy and embodied estimate of one cloud usage line (CCF methodology, SCI embodied share).

Pure: stdlib only, no Django. ``estimate(record, tables)`` classifies one ``CloudUsageRecord`` (CCF
ClassifyingUsageTypes style) and returns a ``CloudEstimate`` with IT energies in kWh *before* PUE, the PUE to apply,
the SCI embodied share and every coefficient used. Formulas and sources: docs/cloud-estimation.md.
"""

from __future__ import annotations

import math
import re
import statistics
from datetime import date

from emissions.cloud_replication import replication_name
from emissions.cloud_tables import (
    HOURS_PER_YEAR,
    CoefficientTables,
    GpuInstanceSpec,
    coefficient_tables_load,
    gpu_family,
    normalize_region,
)
from emissions.records import CloudEstimate, CloudUsageRecord

__all__ = [
    "NO_ENERGY",
    "CoefficientTables",
    "accelerator_of",
    "cloud_run_embodied_kg_per_gpu_hour",
    "coefficient_tables_load",
    "estimate",
    "gpu_instance_spec",
    "gpu_like",
]

# Classifications of lines that never carry energy: not usage, marketplace licences, providers we have no
# coefficients for. They stay out of the kWh-per-cost ratio that unclassified lines borrow.
NO_ENERGY = frozenset({"none", "licence", "unsupported"})

HOURS_PER_MONTH = HOURS_PER_YEAR / 12  # 730 h: GB-month → GB-hour (assumption; CCF uses the billing month)
_CCF_VCPU_PER_CHIP = 96  # CCF memory helpers: chips = ceil(largest vCPU / 96)
_MEDIAN_ARCHS = {"Sandy Bridge", "Ivy Bridge"}  # CCF getWattsByAverageOrMedian
_RESOURCE_PREFIXES = ("db.", "cache.", "ml.", "ra3.", "dax.")
_GPU_TEXT = (  # GCP GPU SKUs name the accelerator only ("Nvidia Tesla A100 GPU running in Americas"); whole words
    ("h200", "NVIDIA H200 SXM 141GB"),
    ("h100", "NVIDIA H100 SXM 80GB"),
    ("a100 80gb", "NVIDIA A100 SXM4 80GB"),
    ("a100", "NVIDIA A100 SXM4 40GB"),
    ("l40s", "NVIDIA L40S 48GB"),
    ("l4", "NVIDIA L4"),
    ("t4", "NVIDIA T4"),
    ("v100", "NVIDIA V100 SXM2 16GB"),
    ("b200", "NVIDIA B200 180GB"),
    ("p100", "NVIDIA Tesla P100"),  # legacy GCP SKUs: "Nvidia Tesla P100 GPU running in Americas"
    ("p4", "NVIDIA Tesla P4"),
    ("k80", "NVIDIA Tesla K80"),
)
# Instance family → accelerator, for GPU instance types gpu_instances.csv does not list (new sizes, new
# families). AWS: the family before the "."; GCP: the machine type without its "-<n>g"/"-<n>t" suffix (fullmatch).
# Azure: a pattern searched in the size name ("nd96isr h100 v5"). Names are cloud_gpu_power.csv accelerators.
_FAMILY_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "aws": (
        (r"p6-b200", "NVIDIA B200 180GB"),
        (r"p5en?|p5e", "NVIDIA H200 SXM 141GB"),
        (r"p5", "NVIDIA H100 SXM 80GB"),
        (r"p4de", "NVIDIA A100 SXM4 80GB"),
        (r"p4d", "NVIDIA A100 SXM4 40GB"),
        (r"p3dn", "NVIDIA V100 SXM2 32GB"),
        (r"p3", "NVIDIA V100 SXM2 16GB"),
        (r"p2", "NVIDIA Tesla K80"),
        (r"g6e", "NVIDIA L40S 48GB"),
        (r"g6f?|gr6f?", "NVIDIA L4"),
        (r"g5g", "NVIDIA T4"),  # T4G: the T4 part on Graviton hosts (accelerators.md)
        (r"g5", "NVIDIA A10G 24GB (AWS)"),
        (r"g4dn", "NVIDIA T4"),
        (r"trn2\w*", "AWS Trainium2 (trn2)"),
        (r"trn1\w*", "AWS Trainium (trn1)"),
        (r"inf2\w*", "AWS Inferentia2 (inf2)"),
        (r"inf1\w*", "AWS Inferentia (inf1)"),
    ),
    "gcp": (
        (r"a2-(high|mega)gpu", "NVIDIA A100 SXM4 40GB"),
        (r"a2-ultragpu", "NVIDIA A100 SXM4 80GB"),
        (r"a3-(high|mega|edge)gpu", "NVIDIA H100 SXM 80GB"),
        (r"a3-ultragpu", "NVIDIA H200 SXM 141GB"),
        (r"a4-highgpu", "NVIDIA B200 180GB"),
        (r"g2-standard", "NVIDIA L4"),
        (r"ct4p-hightpu", "Google TPU v4"),
        (r"ct5lp-hightpu", "Google TPU v5e"),
        (r"ct5p-hightpu", "Google TPU v5p"),
        (r"ct6e-standard", "Google TPU v6e (Trillium)"),
    ),
    "azure": (
        (r"gb200", "NVIDIA GB200 (Blackwell GPU)"),
        (r"\bh200\b", "NVIDIA H200 SXM 141GB"),
        (r"\bmi300x\b", "AMD Instinct MI300X 192GB"),
        (r"^nc\w* h100\b", "NVIDIA H100 NVL 94GB"),
        (r"^nd\w* h100\b", "NVIDIA H100 SXM 80GB"),
        (r"^nc\w* a100\b", "NVIDIA A100 PCIe 80GB"),
        (r"^nd\d+amsr\b", "NVIDIA A100 SXM4 80GB"),
        (r"^nd\d+asr\b", "NVIDIA A100 SXM4 40GB"),
        (r"\bt4\b", "NVIDIA T4"),
        (r"\ba10\b", "NVIDIA A10 24GB"),
    ),
}
_FAMILY_RULE = "family rule"
_RULES_VALID_FROM = date(2026, 12, 5)  # when _FAMILY_RULES were written (accelerators without a power row)
_GENERIC_NODE = "GPU server node excluding GPUs (8-GPU class, generic)"
_GENERIC_GPU_CARD = "Generic data-centre GPU card (CCF/BLOOM default)"
_H100_SERVER = "8x NVIDIA H100 SXM 80GB server, complete (p5.48xlarge / DGX-H100 class)"
_HGX_H100_BOARD = "NVIDIA HGX H100 8-GPU baseboard"
_H100_CLASS_HOSTS = frozenset({"NVIDIA H100 SXM 80GB", "NVIDIA H200 SXM 141GB"})
# Words of a GPU/accelerator line: accelerator names, and instance families of GPU/TPU/Neuron machines (AWS
# families need their ".size" so that Azure's P30 disks or t4g CPUs do not match; "P4" and "A10" are also Azure
# disk and CPU VM sizes, so Tesla P4 and the Azure A10 VMs match by "tesla"/"gpu" and their N-series name).
_GPU_LIKE = re.compile(
    r"(?<![a-z0-9])(?:gpus?|nvidia|tesla|tpus?|trainium\d?|inferentia\d?|neuron(?:core)?"
    r"|[abh]100|[hb]200|gb200|a10g|l40s?|l4|t4|v100|k80|p100|mi300x?|radeon"
    r"|(?:p[2-6][a-z]*(?:-[a-z0-9]+)?|g[4-6][a-z]*|gr6|trn\d[a-z]*|inf\d)\.[a-z0-9]+"
    r"|a[2-4]-(?:high|mega|ultra|edge)gpu|g2-standard|ct\d[a-z]*-(?:hightpu|standard)|n[cdv]\d+[a-z]*)(?![a-z0-9])"
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


def gpu_instance_spec(provider: str, instance_type: str, tables: CoefficientTables) -> GpuInstanceSpec | None:
    """The GPU table row of an instance type (``ml.``/``db.`` prefixes and an Azure `` Spot`` suffix ignored;
    Azure's legacy names "ND96isr H100 v5" match "Standard_ND96isr_H100_v5")."""
    provider = provider.lower()
    key = _instance_key(provider, instance_type)
    if provider == "azure":
        key = "standard_" + key.removeprefix("standard_").replace(" ", "_")
    return tables.gpu_instances.get((provider, key))


def accelerator_of(
    provider: str, instance_type: str, tables: CoefficientTables, gpu_count: float | None = None
) -> tuple[str, float | None, str] | None:
    """``(hardware_model, accelerators per instance, source)`` of a GPU/TPU/Neuron instance type, else None.

    ``source`` is ``"gpu_instances.csv"`` (table row, its count) or ``"family rule"`` (``_FAMILY_RULES``): then the
    count is ``gpu_count`` (CUR ``product/gpu``), else the GCP machine-type suffix ("-8g", "-4t"), else None
    (unknown). ``hardware_model`` names a cloud_gpu_power.csv row, whose W may be empty (Trainium, TPU v5e…).
    """
    spec = gpu_instance_spec(provider, instance_type, tables)
    if spec is not None:
        return spec.hardware_model, spec.gpu_count, "gpu_instances.csv"
    provider = provider.lower()
    key = _instance_key(provider, instance_type)
    if not key:
        return None
    family = _rule_family(provider, key)
    matches = re.search if provider == "azure" else re.fullmatch  # Azure: a pattern in the size name
    model = next((m for pattern, m in _FAMILY_RULES.get(provider, ()) if matches(pattern, family)), None)
    if model is None:
        return None
    suffix = re.search(r"-(\d+)[gt]$", key) if provider == "gcp" else None
    count = gpu_count if gpu_count else (float(suffix.group(1)) if suffix else None)
    return model, count, _FAMILY_RULE


def gpu_like(record_text: str) -> bool:
    """Whether a line's service/SKU/usage type/instance type text names a GPU or accelerator (GPU, NVIDIA, A100,
    TPU, Trainium, Inferentia, p4d./p5./g5. instances, a2-highgpu, Azure N-series…)."""
    return bool(_GPU_LIKE.search((record_text or "").lower().replace("_", " ")))


def _rule_family(provider: str, key: str) -> str:
    if provider == "aws":
        return key.split(".", 1)[0]
    if provider == "gcp":
        return re.sub(r"-\d+[gt]?$", "", key)  # "a3-highgpu-8g" → "a3-highgpu", "g2-standard-8" → "g2-standard"
    return key.removeprefix("standard_").replace("_", " ")


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
    # CCF Azure names: "D4s v5"; "D3 v2/DS3 v2" meters name the first size (CCF parseUsageType)
    return instance_key.removeprefix("standard_").replace("_", " ").split("/", 1)[0]


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
        if family is not None and powers:
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
    classification = _classify(b, cpu_utilization, gpu_utilization)
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


def _classify(b: _Builder, cpu_util: float, gpu_util: float) -> str:
    """Fill ``b`` with the line's energies (CCF ClassifyingUsageTypes) and return its classification."""
    unit, qty, usage = b.record.usage_unit, b.record.usage_quantity, b.record.usage_type.lower()
    key = _instance_key(b.provider, b.record.instance_type)
    spec = _accelerator_spec(b, key) if key else None
    gcp_split = b.provider == "gcp" and any(w in b.text for w in ("gpu", "core", "cpu", "ram"))
    # Fargate bills tasks by vCPU-hour (pricing unit "hours" or "vCPU-Hours") and GB-hour of memory
    fargate_cpu = "fargate" in usage and "vcpu-hours" in usage and unit in ("hour", "vcpu-hour")
    fargate_memory = "fargate" in usage and "gb-hours" in usage and unit in ("hour", "gb-hour")
    if unit == "hour" and b.provider == "gcp" and "gpu" in b.text:
        return _gcp_gpu_sku(b, spec, qty, gpu_util)
    if fargate_cpu or unit == "vcpu-hour" or (unit == "hour" and gcp_split and "ram" not in b.text):
        return _vcpu_hours(b, key, spec, qty, cpu_util)
    if unit == "hour" and key:
        return _instance_hours(b, key, spec, qty, cpu_util, gpu_util)
    if fargate_memory or (unit == "gb-hour" and ("ram" in b.text or "memory" in b.text)):
        b.energy["memory"] = qty * b.scalar(f"memory_coefficient.{b.provider}")
        return "memory"
    if unit in ("gb-month", "gb-hour"):
        return _storage(b, qty * HOURS_PER_MONTH if unit == "gb-month" else qty)
    if unit == "gb" and any(w in b.text for w in _NETWORK) and "cloudfront" not in b.text:
        b.energy["network"] = qty * b.scalar(f"networking_coefficient.{b.provider}")
        return "network"
    return "unclassified"


def _pue(b: _Builder) -> float:
    regional = b.tables.region_pue.get((b.provider, normalize_region(b.record.region)))
    if regional is not None:
        b.use("pue", regional.value)
        b.use("pue_source", "region")
        return regional.value
    b.use("pue_source", "provider_average")
    return b.scalar(f"pue_default.{b.provider}")


def _accelerator_spec(b: _Builder, key: str) -> GpuInstanceSpec | None:
    """The table row of a GPU instance, else one built from the family rule (``accelerator_of``)."""
    spec = gpu_instance_spec(b.provider, b.record.instance_type, b.tables)
    found = accelerator_of(b.provider, b.record.instance_type, b.tables, b.record.gpu_count) if not spec else None
    if found is None:
        return spec
    model, count, _ = found
    # Sizes of one family share a host: a listed sibling size gives the host; else the instance is its own host
    # (as CCF takes the size itself when a family's largest size is unknown).
    family = gpu_family(b.provider, key)
    host = next((s for s in b.tables.gpu_instances.values() if (s.provider, s.family) == (b.provider, family)), None)
    count = count or 0.0  # 0 = unknown: no GPU energy, a gap (_gpu_part)
    share = count / host.host_gpu_count if host and count else 1.0  # of the host, when vCPU/memory are unbilled
    size = b.tables.azure_sizes.get(_family_key(b.provider, key)) if b.provider == "azure" else None
    vcpu = b.record.vcpu_count or (size.vcpu if size else None) or (host.host_vcpu * share if host else 0.0)
    memory = b.record.memory_gb or (size.memory_gb if size else None) or (host.host_memory_gb * share if host else 0.0)
    return GpuInstanceSpec(
        provider=b.provider,
        instance_type=b.record.instance_type,
        family=family,
        gpu_model=model,
        hardware_model=model,
        gpu_count=count,
        vcpu=vcpu,
        memory_gb=memory,
        host_gpu_count=host.host_gpu_count if host else count,
        host_vcpu=host.host_vcpu if host else (vcpu or 1.0),
        host_memory_gb=host.host_memory_gb if host else memory,
        source=_FAMILY_RULE,
        valid_from=b.tables.gpu_power[model].valid_from if model in b.tables.gpu_power else _RULES_VALID_FROM,
    )


def _note_gpu_source(b: _Builder, spec: GpuInstanceSpec) -> None:
    rule = spec.source == _FAMILY_RULE
    b.use("gpu_model_source", _FAMILY_RULE if rule else "gpu_instances.csv")
    b.fell_back = b.fell_back or rule


def _host_size(
    b: _Builder, key: str, spec: GpuInstanceSpec | None
) -> tuple[float | None, float | None, float | None, float | None]:
    """(vCPU, memory GB, host's vCPU, host's memory GB) of the instance: the billing line, the GPU table, the
    family table (largest size) and, for Azure, the size table (azure_vm_sizes.csv; CCF's Azure size list)."""
    family = b.tables.families.get((b.provider, _family_key(b.provider, key)))
    size = b.tables.azure_sizes.get(_family_key(b.provider, key)) if b.provider == "azure" else None
    vcpu = b.record.vcpu_count or (spec.vcpu if spec else None) or (size.vcpu if size else None)
    memory = b.record.memory_gb or (spec.memory_gb if spec else None) or (size.memory_gb if size else None)
    if spec is not None:
        return vcpu, memory, spec.host_vcpu, spec.host_memory_gb
    largest_vcpu = (family.largest_vcpu if family else None) or (size.largest_vcpu if size else None)
    largest_memory = (family.largest_memory_gb if family else None) or (size.largest_memory_gb if size else None)
    return vcpu, memory, largest_vcpu, largest_memory


def _instance_hours(
    b: _Builder, key: str, spec: GpuInstanceSpec | None, hours: float, cpu_util: float, gpu_util: float
) -> str:
    """Whole instance for ``hours``: vCPU compute, memory, GPUs (GPU instances) and the embodied share."""
    vcpu, memory, largest_vcpu, largest_memory = _host_size(b, key, spec)
    if not vcpu:
        vcpu = 1.0  # CCF (Azure): unknown size counts as 1 vCPU
        b.fell_back = True
    largest_vcpu = largest_vcpu or vcpu
    b.use("vcpu", vcpu)
    b.use("instance_hours", hours)
    watts, gb_per_chip = b.cpu_watts(_family_key(b.provider, key), cpu_util)
    b.energy["compute"] = vcpu * hours * watts / 1000
    _instance_memory(b, hours, memory, largest_memory, largest_vcpu, gb_per_chip)
    if spec is not None:
        _gpu_part(b, spec, hours, gpu_util)
        return "gpu"
    _cpu_embodied(b, hours, vcpu / largest_vcpu, largest_vcpu, largest_memory or memory or 0.0)
    return "compute"


def _gpu_part(b: _Builder, spec: GpuInstanceSpec, hours: float, gpu_util: float) -> None:
    """GPU energy and the host's embodied share of a GPU instance; an unknown GPU count is a gap (0 kWh)."""
    _note_gpu_source(b, spec)
    if spec.gpu_count:
        b.gpu_energy(spec.hardware_model, spec.gpu_count * hours, gpu_util)
    else:
        b.use("gpu_model", spec.hardware_model)
        b.use("gpu_count", "unknown (gap)")
        b.fell_back = True
    _gpu_embodied(b, spec, hours)


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
        largest = largest_memory or memory  # the instance's own memory where its family's largest is unknown
        chips = math.ceil(largest_vcpu / _CCF_VCPU_PER_CHIP)
        b.use("memory_gb_per_chip", gb_per_chip)
        gb = max(0.0, largest / chips - gb_per_chip) * memory / largest
    b.use("memory_gb_counted", gb)
    b.energy["memory"] = gb * hours * coefficient


def _gpu_node_kg(tables: CoefficientTables, hardware_model: str) -> tuple[float, str]:
    """kgCO2e of the GPU server without its GPUs, and its source: model-specific where hardware_embodied.csv has
    the host, else the generic 8-GPU-class node (BLOOM)."""
    if hardware_model in _H100_CLASS_HOSTS:
        # The complete 8×H100 server (Boavizta's p5.48xlarge host + NVIDIA's HGX H100 PCF) minus its GPU
        # baseboard = the host without GPUs. H200 hosts (p5e/p5en, a3-ultragpu, ND H200 v5) are the same machine
        # class (2 CPUs, ~2 TiB DRAM, NVMe), only the GPUs differ.
        kg = tables.embodied[_H100_SERVER].kg_co2e - tables.embodied[_HGX_H100_BOARD].kg_co2e
        return kg, f"{_H100_SERVER} minus {_HGX_H100_BOARD}"
    return tables.embodied[_GENERIC_NODE].kg_co2e, _GENERIC_NODE


def _gpu_node(b: _Builder, hardware_model: str) -> float:
    kg, source = _gpu_node_kg(b.tables, hardware_model)
    b.use("embodied_node_source", source)
    return kg


# A cloud GPU run's host is taken to be an 8-GPU server (the class of the generic node and of every H100/H200
# host): a GPU-hour reserves one GPU and an eighth of the node without GPUs.
CLOUD_RUN_HOST_GPUS = 8


def cloud_run_embodied_kg_per_gpu_hour(
    tables: CoefficientTables, hardware_model: str, *, lifespan_years: float = 4.0
) -> tuple[float, dict[str, str | float]]:
    """SCI's M for one GPU-hour of a cloud tracker run, in kgCO2e, with its provenance.

    M = (GPU card + node without GPUs ÷ 8) × 1 h ÷ (lifespan × 8,760 h): the card of the run's model (the generic
    data-centre card when the catalogue does not know it), the node as billing estimates take it, and the same
    4-year lifespan (CCF's) as billing estimates, so a run and a billing line of the same hardware agree.
    """
    card = tables.embodied.get(hardware_model) or tables.embodied[_GENERIC_GPU_CARD]
    node_kg, node_source = _gpu_node_kg(tables, hardware_model)
    per_gpu_kg = card.kg_co2e + node_kg / CLOUD_RUN_HOST_GPUS
    provenance: dict[str, str | float] = {
        "gpu_card": hardware_model if hardware_model in tables.embodied else _GENERIC_GPU_CARD,
        "gpu_card_kg": card.kg_co2e,
        "node_kg": node_kg,
        "node_source": node_source,
        "host_gpus": CLOUD_RUN_HOST_GPUS,
        "lifespan_years": lifespan_years,
    }
    return per_gpu_kg / (lifespan_years * HOURS_PER_YEAR), provenance


def _gpu_embodied(b: _Builder, spec: GpuInstanceSpec, instance_hours: float) -> None:
    # TE of the host = its GPUs × per-GPU embodied + the GPU server node without GPUs. The instance
    # reserves gpu_count/host_gpu_count of the GPUs and vcpu/host_vcpu of the node (both 1 for a full host).
    gpu = b.tables.embodied.get(spec.hardware_model) or b.tables.embodied[_GENERIC_GPU_CARD]
    node_kg = _gpu_node(b, spec.hardware_model)
    b.use("embodied_gpu_kg", gpu.kg_co2e)
    b.use("embodied_node_kg", node_kg)
    b.use("host_gpu_count", spec.host_gpu_count)
    b.use("host_vcpu", spec.host_vcpu)
    te = spec.host_gpu_count * gpu.kg_co2e + node_kg
    reserved = spec.gpu_count * gpu.kg_co2e + node_kg * spec.vcpu / spec.host_vcpu
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
    """vCPU-hours (AWS vCPU-Hours, Fargate, GCP core SKUs): compute energy at the family's CPU power (the provider
    average when the family is unknown, as CCF does for Fargate); embodied when the instance size is known."""
    b.use("vcpu_hours", vcpu_hours)
    watts, _ = b.cpu_watts(_family_key(b.provider, key), cpu_util)
    b.energy["compute"] = vcpu_hours * watts / 1000
    vcpu, _, largest_vcpu, largest_memory = _host_size(b, key, spec) if key else (None, None, None, None)
    if vcpu:
        b.use("vcpu", vcpu)
        if spec is not None:
            _note_gpu_source(b, spec)
            _gpu_embodied(b, spec, vcpu_hours / vcpu)  # GCP GPU VMs: the core SKU carries the host's embodied
        else:
            # the host's memory (family's largest size), as for instance-hours; the line's own when unknown
            largest = largest_vcpu or vcpu
            host_memory = largest_memory or b.record.memory_gb or 0.0
            _cpu_embodied(b, vcpu_hours / vcpu, vcpu / largest, largest, host_memory)
    return "compute"


def _gcp_gpu_sku(b: _Builder, spec: GpuInstanceSpec | None, gpu_hours: float, gpu_util: float) -> str:
    """GCP bills GPUs as their own SKU (GPU-hours); the host's vCPU/RAM/embodied come on the core/RAM lines."""
    model = spec.hardware_model if spec else next((m for w, m in _GPU_TEXT if re.search(rf"\b{w}\b", b.text)), None)
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
    usage_text = f"{b.record.usage_type} {b.record.sku}"
    name = replication_name(b.provider, b.record.service, usage_text, normalize_region(b.record.region))
    replication = b.scalar(name)
    b.use("storage_gb_hours", gb_hours)
    b.energy["storage"] = gb_hours / 1000 * wh_per_tbh * replication / 1000
    return "storage"
