"""Honest quality tiers for tracker energy, per component (docs/methodology.md, "Quality of tracker energy").

A figure is *measured* only where a tracker read a power sensor (NVML for NVIDIA GPUs, RAPL for CPUs);
power taken from a TDP, a CPU-load model or a RAM-size model is *estimated* (``estimated_tdp``), whatever
the tracker calls its mode. The rule per tracker, from what each one documents:

* **CodeCarbon**: GPU energy comes from NVML (measured). CPU energy is RAPL only on some Intel/AMD Linux
  hosts and otherwise TDP × load or a constant, and its outputs do not say which: estimated, unless the
  import states ``cpu_measured`` (the tracker's log said "via RAPL"). RAM is always its size model: estimated.
* **carbontracker**: reads NVML and RAPL and nothing else (it skips a component it cannot read): measured.
* **Zeus**: NVML and RAPL: measured.
* **eco2ai**: GPU from NVML (measured); CPU from TDP × utilization and RAM from its size: estimated.
* Anything else (native API, BoAmps, unknown trackers): what the record states, else estimated.

The run's own tier is the one that covers most of its energy (a tie goes to the weaker tier).
"""

from __future__ import annotations

from emissions.choices import QualityTier
from emissions.records import RunRecord

MEASURED, ESTIMATED = QualityTier.MEASURED.value, QualityTier.ESTIMATED_TDP.value
COMPONENTS = ("cpu", "gpu", "ram")

TRACKER_RULES: dict[str, dict[str, str]] = {
    "codecarbon": {"cpu": ESTIMATED, "gpu": MEASURED, "ram": ESTIMATED},
    "carbontracker": {"cpu": MEASURED, "gpu": MEASURED, "ram": MEASURED},
    "zeus": {"cpu": MEASURED, "gpu": MEASURED, "ram": MEASURED},
    "eco2ai": {"cpu": ESTIMATED, "gpu": MEASURED, "ram": ESTIMATED},
}


def component_quality_of(record: RunRecord, *, cpu_measured: bool = False) -> dict[str, str]:
    """Tier per component: what the record states, else its tracker's rule, else estimated."""
    stated = dict(record.component_quality)
    rule = TRACKER_RULES.get(record.tracker_name.lower(), {})
    tiers = {name: stated.get(name) or rule.get(name, ESTIMATED) for name in COMPONENTS}
    if cpu_measured:
        tiers["cpu"] = MEASURED
    return tiers


def run_energy_quality(*, cpu_kwh: float, gpu_kwh: float, ram_kwh: float, component_quality: dict) -> str:
    """The tier covering most of the run's energy; a run without component figures is estimated."""
    by_tier: dict[str, float] = {}
    for name, kwh in (("cpu", cpu_kwh), ("gpu", gpu_kwh), ("ram", ram_kwh)):
        tier = (component_quality or {}).get(name, ESTIMATED)
        by_tier[tier] = by_tier.get(tier, 0.0) + max(kwh, 0.0)
    if not any(by_tier.values()):
        return ESTIMATED
    measured_kwh = by_tier.get(MEASURED, 0.0)
    return MEASURED if measured_kwh > sum(by_tier.values()) - measured_kwh else ESTIMATED


def run_tier(run) -> str:
    """``run_energy_quality`` of a stored Run."""
    return run_energy_quality(
        cpu_kwh=run.cpu_energy_kwh,
        gpu_kwh=run.gpu_energy_kwh,
        ram_kwh=run.ram_energy_kwh,
        component_quality=run.component_quality,
    )
