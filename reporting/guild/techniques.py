"""Efficiency techniques: measured savings of tagged runs against comparable untagged baseline runs.

Runs carry ``efficiency_techniques`` (set by the tracker upload or the native run API). For a project,
each technique's tagged runs are compared with **baseline runs**: runs of the same project, same kind
(training, inference…) and same GPU model that carry no technique at all. Within each such group the
measure is IT energy per 1M tokens when every run of the group reports tokens, else IT energy per run.
Savings = 1 − (tagged energy ÷ what the tagged runs would have used at the baseline mean), summed
over the groups; groups without both tagged and baseline runs are left out and counted.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

from emissions.choices import EfficiencyTechnique
from emissions.models import Project, Run
from emissions.periods import Period

# The list: the model's choices plus a region move (runs tagged by hand or by the native API).
TECHNIQUE_LABELS = {**dict(EfficiencyTechnique.choices), "region_move": "Region move"}


def _measure(runs: list[dict]) -> tuple[str, list[float]]:
    if all(run["tokens_processed"] for run in runs):
        return "kWh per 1M tokens", [run["energy_kwh"] / (run["tokens_processed"] / 1e6) for run in runs]
    return "kWh per run", [run["energy_kwh"] for run in runs]


def technique_savings(*, project: Project, period: Period | None = None) -> list[dict]:
    """One row per technique used by the project's runs (of the period, when given).

    Keys: ``technique``, ``label``, ``tagged_runs``, ``baseline_runs``, ``compared_runs`` (tagged runs
    that had a baseline), ``measure``, ``tagged_kwh``, ``baseline_kwh`` (what those runs would have used
    at the baseline mean, in the measure's unit × runs), ``saving_pct`` (None without a comparison).
    """
    runs = Run.objects.filter(project=project, energy_kwh__gt=0)
    if period is not None:
        runs = runs.filter(started_at__date__gte=period.start, started_at__date__lte=period.end)
    rows = list(runs.values("pk", "kind", "gpu_model", "energy_kwh", "tokens_processed", "efficiency_techniques"))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["kind"], row["gpu_model"])].append(row)
    techniques = sorted({t for row in rows for t in (row["efficiency_techniques"] or [])})
    result = []
    for technique in techniques:
        tagged_total = baseline_total = 0.0
        tagged_count = baseline_count = compared = 0
        measures = set()
        for group in groups.values():
            tagged = [r for r in group if technique in (r["efficiency_techniques"] or [])]
            baseline = [r for r in group if not r["efficiency_techniques"]]
            tagged_count += len(tagged)
            if not tagged or not baseline:
                continue
            measure, values = _measure(tagged + baseline)
            measures.add(measure)
            tagged_values, baseline_values = values[: len(tagged)], values[len(tagged) :]
            tagged_total += sum(tagged_values)
            baseline_total += fmean(baseline_values) * len(tagged)
            baseline_count += len(baseline)
            compared += len(tagged)
        result.append(
            {
                "technique": technique,
                "label": TECHNIQUE_LABELS.get(technique, technique),
                "tagged_runs": tagged_count,
                "baseline_runs": baseline_count,
                "compared_runs": compared,
                "measure": " / ".join(sorted(measures)) or "—",
                "tagged_kwh": tagged_total,
                "baseline_kwh": baseline_total,
                "saving_pct": 100.0 * (1 - tagged_total / baseline_total) if baseline_total else None,
            }
        )
    return result
