"""Efficiency techniques: measured savings of tagged runs against like-for-like untagged runs.

Runs carry ``efficiency_techniques`` (set by the tracker upload or the native run API; ``region_move`` by
hand). A technique's tagged runs are compared with **baseline runs** of the same **group**: same project,
same kind (training, inference…), same GPU model, and no technique at all. Like for like (docs/guild.md):

- **Work done**: a group is measured per unit of work, never per run: per 1M tokens when every run compared
  declares tokens, else per 1k inferences (inference runs that all declare them), else per GPU-hour (GPU
  count × duration). A group with none of these is not compared; its tagged runs are counted as such.
- **Quantity**: IT kWh for the techniques that lower the energy. gCO2e for those that lower the grid
  intensity instead (carbon-aware scheduling, region move), whose kWh do not change: the run's IT kWh ×
  the mean hourly intensity of its zone over its own hours when the dataset has every hour of every run of
  the group, else × the intensity the ledger applied to it (location-based kg ÷ kWh of its electricity line).
- **Saving**: per group, expected = the baseline's ratio of sums (Σ quantity ÷ Σ units) × the tagged runs'
  units; saving = 1 − Σ tagged quantity ÷ Σ expected over the groups. Only kWh (or g) are added, never
  intensities of different units.
- **Interval**: a seeded percentile bootstrap (2,000 resamples of runs with replacement, within each group's
  tagged and baseline runs separately) gives a 95 % interval; none when a group has fewer than 2 tagged or
  2 baseline runs.

An observed difference, not a controlled experiment: the tagged runs may differ in other ways, and a run
with several techniques counts for each. Early stopping and checkpoint reuse save work rather than energy
per unit of work, so a per-unit comparison shows little of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from emissions.choices import EfficiencyTechnique, RunKind
from emissions.functional_units import run_inferences, run_tokens
from emissions.models import HourlyIntensity, Organization, Project, Run
from emissions.periods import Period
from emissions.units import G_PER_KG, SECONDS_PER_HOUR
from reporting.guild.runs import run_ledger_figures, run_zone_code
from reporting.guild.whatif import hour_weights

TECHNIQUE_LABELS = dict(EfficiencyTechnique.choices)
# Techniques that lower the grid intensity (g/kWh) of the energy, not the energy: measured in gCO2e.
CARBON_TECHNIQUES = frozenset(
    {EfficiencyTechnique.CARBON_AWARE_SCHEDULING.value, EfficiencyTechnique.REGION_MOVE.value}
)

BOOTSTRAP_RESAMPLES = 2_000
BOOTSTRAP_SEED = 24  # fixed, so the interval is the same on every page load and tests can pin it
INTERVAL_PCT = 95.0
TOO_FEW_FOR_INTERVAL = "too few runs for an interval (a group has fewer than 2 tagged or 2 baseline runs)"

HOURLY = "hourly intensity"
LEDGER = "ledger"


@dataclass(frozen=True)
class WorkUnit:
    """A unit of work a group is measured per: ``scale`` raw units (tokens, inferences, GPU-hours) each."""

    key: str
    label: str
    scale: float


TOKENS = WorkUnit("tokens", "1M tokens", 1e6)
INFERENCES = WorkUnit("inferences", "1k inferences", 1e3)
GPU_HOURS = WorkUnit("gpu_hours", "GPU-hour", 1.0)


@dataclass(frozen=True)
class GroupSample:
    """One group's runs for one technique: quantity (kWh or gCO2e) and work (in the group's unit) per run."""

    tagged_quantity: np.ndarray
    tagged_units: np.ndarray
    baseline_quantity: np.ndarray
    baseline_units: np.ndarray

    @property
    def baseline_per_unit(self) -> float:
        """The baseline's ratio of sums: Σ quantity ÷ Σ units (a mean weighted by work, not a mean of ratios)."""
        return float(self.baseline_quantity.sum() / self.baseline_units.sum())

    @property
    def tagged_per_unit(self) -> float:
        return float(self.tagged_quantity.sum() / self.tagged_units.sum())

    @property
    def expected(self) -> float:
        """What the tagged runs' work would have needed at the baseline's quantity per unit (kWh or g)."""
        return self.baseline_per_unit * float(self.tagged_units.sum())


# --- pure arithmetic ----------------------------------------------------------------------------


def saving_pct(samples: list[GroupSample]) -> float | None:
    """100 × (1 − Σ tagged quantity ÷ Σ expected quantity) over the groups; None without an expectation."""
    expected = sum(sample.expected for sample in samples)
    if expected <= 0:
        return None
    return 100.0 * (1.0 - sum(float(sample.tagged_quantity.sum()) for sample in samples) / expected)


def saving_interval_pct(
    samples: list[GroupSample], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float] | None:
    """Percentile bootstrap interval (``INTERVAL_PCT``) of ``saving_pct``, or None when any group has fewer
    than 2 tagged or 2 baseline runs (a resample of one run has no spread to show).

    Each resample draws, with replacement, as many tagged runs as the group has from its tagged runs and as
    many baseline runs from its baseline runs, group by group, and recomputes the saving from the sums.
    """
    if not samples or any(len(s.tagged_quantity) < 2 or len(s.baseline_quantity) < 2 for s in samples):
        return None
    rng = np.random.default_rng(seed)
    tagged_total = np.zeros(resamples)
    expected_total = np.zeros(resamples)
    for sample in samples:
        tagged = rng.integers(0, len(sample.tagged_quantity), size=(resamples, len(sample.tagged_quantity)))
        baseline = rng.integers(0, len(sample.baseline_quantity), size=(resamples, len(sample.baseline_quantity)))
        per_unit = sample.baseline_quantity[baseline].sum(axis=1) / sample.baseline_units[baseline].sum(axis=1)
        tagged_total += sample.tagged_quantity[tagged].sum(axis=1)
        expected_total += per_unit * sample.tagged_units[tagged].sum(axis=1)
    valid = expected_total > 0
    if not valid.any():
        return None
    savings = 100.0 * (1.0 - tagged_total[valid] / expected_total[valid])
    tail = (100.0 - INTERVAL_PCT) / 2
    low, high = np.percentile(savings, [tail, 100.0 - tail])
    return float(low), float(high)


def work_unit(kind: str, runs: list[Run]) -> WorkUnit | None:
    """The unit a group is measured per: tokens, else inferences (inference runs), else GPU-hours, each
    only when every run declares it; None when no unit covers every run (the group is not compared)."""
    if all(run_tokens(run.tokens_processed) > 0 for run in runs):
        return TOKENS
    if kind == RunKind.INFERENCE and all(run_inferences(run.kind, run.inferences_count) > 0 for run in runs):
        return INFERENCES
    if all(run.gpu_hours > 0 for run in runs):
        return GPU_HOURS
    return None


def run_work(run: Run, unit: WorkUnit) -> float:
    """The work a run did, in ``unit`` (e.g. 2.5 for 2.5M tokens when the unit is 1M tokens)."""
    if unit is TOKENS:
        raw = run_tokens(run.tokens_processed)
    elif unit is INFERENCES:
        raw = run_inferences(run.kind, run.inferences_count)
    else:
        raw = run.gpu_hours
    return raw / unit.scale


# --- grid intensity of a run's energy (carbon techniques) ----------------------------------------


def _hourly_intensities(organization: Organization, runs: list[Run]) -> dict[int, float]:
    """Per run, the mean grid intensity (g/kWh) of its zone over its own hours, weighted by its time in each
    hour (the what-if "hour" rule, ``hour_weights``), for the runs whose every hour the data has: shipped hours
    and the organization's own, its own value where both hold an hour (``HourlyIntensityQuerySet.by_hour``)."""
    weights = {}
    for run in runs:
        zone = run_zone_code(run)
        if zone is not None:
            weights[run.pk] = (
                zone,
                hour_weights(start=run.started_at.astimezone(UTC), duration_h=run.duration_s / SECONDS_PER_HOUR),
            )
    zones = {zone for zone, _ in weights.values()}
    visible = HourlyIntensity.objects.visible_to(organization)
    loaded = set(visible.filter(zone__code__in=zones).order_by().values_list("zone__code", flat=True).distinct())
    values: dict[tuple[str, datetime], float] = {}
    for zone in loaded:  # one range query per zone, not one per run
        hours = [hour for code, run_hours in weights.values() if code == zone for hour in run_hours]
        rows = visible.filter(zone__code=zone, hour_start__gte=min(hours), hour_start__lte=max(hours))
        values.update((key, intensity) for key, (intensity,) in rows.by_hour("intensity_g_per_kwh").items())
    means = {}
    for pk, (zone, run_hours) in weights.items():
        if zone in loaded and all((zone, hour) in values for hour in run_hours):
            means[pk] = sum(weight * values[zone, hour] for hour, weight in run_hours.items())
    return means


def _ledger_intensities(runs: list[Run]) -> dict[int, float]:
    """Per run, the intensity (g/kWh) the current ledger applied to its electricity: location-based kg ÷ kWh."""
    figures = run_ledger_figures(run_ids=[run.pk for run in runs])
    return {
        pk: G_PER_KG * figure["kg_co2e"] / figure["energy_kwh"]
        for pk, figure in figures.items()
        if figure["energy_kwh"] > 0
    }


def _carbon_quantities(runs: list[Run], hourly: dict[int, float], ledger: dict[int, float]) -> tuple[str, dict]:
    """gCO2e of each run's IT energy, from one source for the whole group so that its runs compare like for
    like: hourly data when it covers every run, else the ledger (runs it does not hold are left out)."""
    if all(run.pk in hourly for run in runs):
        return HOURLY, {run.pk: run.energy_kwh * hourly[run.pk] for run in runs}
    return LEDGER, {run.pk: run.energy_kwh * ledger[run.pk] for run in runs if run.pk in ledger}


# --- the savings --------------------------------------------------------------------------------


def _project_runs(project: Project, period: Period | None) -> list[Run]:
    runs = Run.objects.filter(project=project, energy_kwh__gt=0)
    if period is not None:
        runs = runs.filter(started_at__date__gte=period.start, started_at__date__lte=period.end)
    # No run names a technique (most projects): nothing to compare, found from the index of the runs that do
    # (``run_with_techniques``) without reading the project's runs.
    if not runs.exclude(efficiency_techniques=[]).exists():
        return []
    # A fixed order keeps the bootstrap's draws, hence the interval, the same on every call.
    return list(runs.select_related("site__zone", "cloud_region__zone", "grid_zone").order_by("started_at", "pk"))


def technique_savings(*, project: Project, period: Period | None = None) -> list[dict]:
    """One row per technique used by the project's runs (started in ``period``, when given).

    Keys: ``technique``, ``label``; ``quantity`` ("kWh" IT energy, or "gCO2e"), ``measure`` (e.g. "kWh per
    1M tokens; kWh per GPU-hour"); ``tagged_runs``, ``compared_runs`` (tagged runs in a comparable group),
    ``not_compared_runs``, ``baseline_runs``; ``tagged_quantity`` and ``expected_quantity`` (what the
    compared tagged runs used, and would have used at their baselines' rate, in ``quantity``);
    ``saving_pct``, ``saving_low_pct``, ``saving_high_pct`` (95 % interval, None with too few runs) and
    ``interval_note``; ``intensity_source`` (carbon techniques: "hourly intensity", "ledger" or both;
    "" otherwise); ``groups``, the comparison of each group.
    """
    runs = _project_runs(project, period)
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.kind, run.gpu_model)].append(run)
    techniques = sorted({technique for run in runs for technique in (run.efficiency_techniques or [])})
    hourly = ledger = {}
    if CARBON_TECHNIQUES.intersection(techniques):
        hourly, ledger = _hourly_intensities(project.organization, runs), _ledger_intensities(runs)
    return [_technique_row(technique, groups, hourly, ledger) for technique in techniques]


def _technique_row(technique: str, groups: dict, hourly: dict[int, float], ledger: dict[int, float]) -> dict:
    carbon = technique in CARBON_TECHNIQUES
    quantity_unit = "gCO2e" if carbon else "kWh"
    samples, group_rows, sources = [], [], set()
    tagged_count = baseline_count = 0
    for (kind, gpu_model), group in sorted(groups.items()):
        tagged = [run for run in group if technique in (run.efficiency_techniques or [])]
        baseline = [run for run in group if not run.efficiency_techniques]
        tagged_count += len(tagged)
        if not tagged or not baseline:
            continue
        if carbon:
            source, quantity = _carbon_quantities(tagged + baseline, hourly, ledger)
            tagged = [run for run in tagged if run.pk in quantity]
            baseline = [run for run in baseline if run.pk in quantity]
        else:
            source, quantity = "", {run.pk: run.energy_kwh for run in tagged + baseline}
        unit = work_unit(kind, tagged + baseline) if tagged and baseline else None
        if unit is None:
            continue
        sample = GroupSample(
            tagged_quantity=np.array([quantity[run.pk] for run in tagged]),
            tagged_units=np.array([run_work(run, unit) for run in tagged]),
            baseline_quantity=np.array([quantity[run.pk] for run in baseline]),
            baseline_units=np.array([run_work(run, unit) for run in baseline]),
        )
        samples.append(sample)
        baseline_count += len(baseline)
        if source:
            sources.add(source)
        group_rows.append(
            {
                "kind": kind,
                "gpu_model": gpu_model,
                "measure": f"{quantity_unit} per {unit.label}",
                "tagged_runs": len(tagged),
                "baseline_runs": len(baseline),
                "tagged_per_unit": sample.tagged_per_unit,
                "baseline_per_unit": sample.baseline_per_unit,
                "saving_pct": saving_pct([sample]),
                "intensity_source": source,
            }
        )
    compared = sum(row["tagged_runs"] for row in group_rows)
    interval = saving_interval_pct(samples)
    return {
        "technique": technique,
        "label": TECHNIQUE_LABELS.get(technique, technique),
        "quantity": quantity_unit,
        "measure": "; ".join(dict.fromkeys(row["measure"] for row in group_rows)) or "—",
        "tagged_runs": tagged_count,
        "compared_runs": compared,
        "not_compared_runs": tagged_count - compared,
        "baseline_runs": baseline_count,
        "tagged_quantity": sum(float(sample.tagged_quantity.sum()) for sample in samples),
        "expected_quantity": sum(sample.expected for sample in samples),
        "saving_pct": saving_pct(samples),
        "saving_low_pct": interval[0] if interval else None,
        "saving_high_pct": interval[1] if interval else None,
        "interval_note": "" if interval or not samples else TOO_FEW_FOR_INTERVAL,
        "intensity_source": " and ".join(sorted(sources)),
        "groups": group_rows,
    }
