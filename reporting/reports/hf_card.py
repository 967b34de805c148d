"""A project's carbon label as Hugging Face model-card ``co2_eq_emissions`` metadata (YAML).

The label is the management view of one calculation: training (and fine-tuning) runs' electricity
emissions, location-based (E × I), with the electricity's upstream (Scope 3 Cat 3: fuel extraction and
generation upstream, T&D losses) as the inventory counts it, plus their amortized embodied share (M);
inference is given per 1k requests. Hugging Face expects ``emissions`` in grams of CO2e.
"""

from __future__ import annotations

import math

import yaml
from django.db.models import Q, Sum

from emissions.choices import Basis, RunKind, Scope
from emissions.functional_units import run_inferences
from emissions.models import Calculation, EmissionRecord, Project, Run
from emissions.units import G_PER_KG

TRAINING_KINDS = (RunKind.TRAINING, RunKind.FINE_TUNING)
UPSTREAM_CATEGORY = 3  # Scope 3 Cat 3: the electricity's upstream (3b) and T&D losses (3c)
# What the label reads of each run: its kind and inferences, GPUs, and where it ran (site, cloud region or
# grid zone, each with its zone's name and code).
_RUN_FIELDS = (
    "kind",
    "inferences_count",
    "gpu_model",
    "gpu_count",
    "site_id",
    "site__zone__name",
    "site__zone__code",
    "cloud_region_id",
    "cloud_region__zone__name",
    "cloud_region__zone__code",
    "cloud_region__provider",
    "cloud_region__region",
    "grid_zone__name",
    "grid_zone__code",
)


def project_carbon_label(*, calculation: Calculation, project: Project) -> dict:
    """Grams of CO2e for training (+ amortized embodied) and per 1k inferences, with the runs' places and hardware."""
    records = EmissionRecord.objects.filter(calculation=calculation, project=project, run__isnull=False).filter(
        Q(basis=Basis.OPERATIONAL, scope=Scope.SCOPE_2)
        | Q(basis=Basis.OPERATIONAL, scope=Scope.SCOPE_3, scope3_category__in=[1, UPSTREAM_CATEGORY])
        | Q(basis=Basis.EMBODIED_AMORTIZED)
    )
    # One pass over the lines, summed per run, kind, basis and category: the figures below are sums of these
    # groups (a period's lines of a project are thousands of runs).
    groups = list(
        records.values("run_id", "run__kind", "basis", "scope3_category")
        .annotate(kg=Sum("emissions_kg_co2e_location"))
        .order_by()
    )

    def grams(kinds, basis=None, **match) -> float:
        kg = math.fsum(
            group["kg"] or 0.0
            for group in groups
            if group["run__kind"] in kinds
            and (basis is None or group["basis"] == basis)
            and all(group[name] == value for name, value in match.items())
        )
        return G_PER_KG * kg

    # The runs' columns the label names, as values rather than model instances (thousands of runs).
    runs = list(Run.objects.filter(pk__in=records.values("run_id")).values(*_RUN_FIELDS))
    training_runs = [run for run in runs if run["kind"] in TRAINING_KINDS]
    inferences = sum(run_inferences(run["kind"], run["inferences_count"]) for run in runs)
    inference_g = grams([RunKind.INFERENCE])
    kinds = {run["kind"] for run in training_runs}
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


def _place(run: dict) -> str:
    """Where a run (``_RUN_FIELDS``) ran, as a place: the grid zone's name and code (``Germany (DE)``), with the
    cloud region."""
    zone = "site__zone" if run["site_id"] else ("cloud_region__zone" if run["cloud_region_id"] else "grid_zone")
    name, code = run[f"{zone}__name"], run[f"{zone}__code"]
    place = f"{name} ({code})" if code is not None else "unknown location"
    if run["cloud_region_id"]:
        return f"{place}, {run['cloud_region__provider']} {run['cloud_region__region']}"
    return place


def _gpus(runs: list[dict]) -> str:
    """The GPUs used (runs as ``_RUN_FIELDS``), as the model card writes them: ``8 x NVIDIA H100`` (the most any
    run used of each model)."""
    most: dict[str, int] = {}
    for run in runs:
        if run["gpu_model"]:
            most[run["gpu_model"]] = max(most.get(run["gpu_model"], 0), run["gpu_count"] or 1)
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
