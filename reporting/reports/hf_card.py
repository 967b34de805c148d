"""A project's carbon label as Hugging Face model-card ``co2_eq_emissions`` metadata (YAML).

The label is the management view of one calculation: training (and fine-tuning) runs' electricity
emissions, location-based (E × I), with the electricity's upstream (Scope 3 Cat 3: fuel extraction and
generation upstream, T&D losses) as the inventory counts it, plus their amortized embodied share (M);
inference is given per 1k requests. Hugging Face expects ``emissions`` in grams of CO2e.
"""

from __future__ import annotations

import yaml
from django.db.models import Q, Sum

from emissions.choices import Basis, RunKind, Scope
from emissions.functional_units import run_inferences
from emissions.models import Calculation, EmissionRecord, Project, Run

TRAINING_KINDS = (RunKind.TRAINING, RunKind.FINE_TUNING)
UPSTREAM_CATEGORY = 3  # Scope 3 Cat 3: the electricity's upstream (3b) and T&D losses (3c)


def project_carbon_label(*, calculation: Calculation, project: Project) -> dict:
    """Grams of CO2e for training (+ amortized embodied) and per 1k inferences, with the runs' places and hardware."""
    records = EmissionRecord.objects.filter(calculation=calculation, project=project, run__isnull=False).filter(
        Q(basis=Basis.OPERATIONAL, scope=Scope.SCOPE_2)
        | Q(basis=Basis.OPERATIONAL, scope=Scope.SCOPE_3, scope3_category__in=[1, UPSTREAM_CATEGORY])
        | Q(basis=Basis.EMBODIED_AMORTIZED)
    )

    def grams(kinds, basis=None, **match) -> float:
        selected = records.filter(run__kind__in=kinds, **match)
        if basis is not None:
            selected = selected.filter(basis=basis)
        return 1000.0 * (selected.aggregate(kg=Sum("emissions_kg_co2e_location"))["kg"] or 0.0)

    runs = Run.objects.filter(pk__in=records.values("run_id")).select_related(
        "site__zone", "cloud_region__zone", "grid_zone"
    )
    training_runs = [run for run in runs if run.kind in TRAINING_KINDS]
    inferences = sum(run_inferences(run.kind, run.inferences_count) for run in runs)
    inference_g = grams([RunKind.INFERENCE])
    kinds = {run.kind for run in training_runs}
    return {
        "training_g_co2e": grams(TRAINING_KINDS, Basis.OPERATIONAL),
        "training_upstream_g_co2e": grams(TRAINING_KINDS, Basis.OPERATIONAL, scope3_category=UPSTREAM_CATEGORY),
        "embodied_amortized_g_co2e": grams(TRAINING_KINDS, Basis.EMBODIED_AMORTIZED),
        "inference_g_co2e_per_1k_requests": inference_g / (inferences / 1000.0) if inferences else None,
        # No training type for a project that only serves (the model-card field describes training).
        "training_type": (None if not kinds else "fine-tuning" if kinds == {RunKind.FINE_TUNING} else "pre-training"),
        "geographical_location": "; ".join(sorted({_place(run) for run in training_runs})),
        "hardware_used": _gpus(training_runs),
    }


def _place(run: Run) -> str:
    """Where a run ran, as a place: the grid zone's name and code (``Germany (DE)``), with the cloud region."""
    zone = run.site.zone if run.site else (run.cloud_region.zone if run.cloud_region else run.grid_zone)
    place = f"{zone.name} ({zone.code})" if zone else "unknown location"
    return f"{place}, {run.cloud_region.provider} {run.cloud_region.region}" if run.cloud_region else place


def _gpus(runs: list[Run]) -> str:
    """The GPUs used, as the model card writes them: ``8 x NVIDIA H100`` (the most any run used of each model)."""
    most: dict[str, int] = {}
    for run in runs:
        if run.gpu_model:
            most[run.gpu_model] = max(most.get(run.gpu_model, 0), run.gpu_count or 1)
    return ", ".join(f"{count} x {model}" for model, count in sorted(most.items()))


def carbon_label_yaml(*, calculation: Calculation, project: Project) -> str:
    """The ``co2_eq_emissions`` front-matter block for the project's model card."""
    label = project_carbon_label(calculation=calculation, project=project)
    entry = {
        "emissions": round(label["training_g_co2e"] + label["embodied_amortized_g_co2e"], 3),
        "source": (
            f"GreenGuild ledger, methodology {calculation.methodology_version}, calculation #{calculation.pk} "
            f"({calculation.period_start}..{calculation.period_end}); management view, location-based; includes "
            f"{round(label['training_upstream_g_co2e'], 3)} g upstream of the electricity (Scope 3 Cat 3) and "
            f"{round(label['embodied_amortized_g_co2e'], 3)} g amortized embodied hardware emissions"
        ),
        **({"training_type": label["training_type"]} if label["training_type"] else {}),
        "geographical_location": label["geographical_location"],
        "hardware_used": label["hardware_used"],
    }
    if label["inference_g_co2e_per_1k_requests"] is not None:
        # Not a Hugging Face field: kept beside it for readers of the card.
        entry["inference_g_co2e_per_1k_requests"] = round(label["inference_g_co2e_per_1k_requests"], 3)
    return yaml.safe_dump({"co2_eq_emissions": entry}, sort_keys=False, allow_unicode=True)
