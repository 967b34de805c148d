"""Reads for the project page (``/projects/<slug>/``): its runs (sortable, paginated) and the training vs
inference split.

Runs are split by kind from the per-run rollup (``RunEmissionRollup``), never by grouping ledger lines per
run; the figures shown beside a run come from the ledger lines of the newest current Calculation that covers
it (``emissions.selectors.run_emissions_by_id``), read for the runs on one page of the table. Every selector
takes ``organization=`` and reads only that organization's rows.
"""

from __future__ import annotations

from datetime import UTC, date

import pandas as pd
from django.db.models import Count, F, Max, Min, Sum

from emissions.choices import RunKind
from emissions.models import Organization, Project, Run, RunEmissionRollup
from emissions.selectors import run_emissions_by_id
from emissions.units import KG_PER_T, SECONDS_PER_HOUR

# ?sort= values of the runs table → ORM ordering (stable by id).
RUN_SORTS = {
    "started": ("started_at", "pk"),
    "-started": ("-started_at", "-pk"),
    "energy": ("energy_kwh", "pk"),
    "-energy": ("-energy_kwh", "-pk"),
    "duration": ("duration_s", "pk"),
    "-duration": ("-duration_s", "-pk"),
    # Within a kind oldest first, and the reverse: both directions walk the (project, kind, started_at) index.
    "kind": ("kind", "started_at", "pk"),
    "-kind": ("-kind", "-started_at", "-pk"),
}
# The split of the project page: inference is serving; everything else builds or checks a model.
TRAINING_KINDS = (RunKind.TRAINING, RunKind.FINE_TUNING)


def project_runs(*, organization: Organization, project: Project, sort: str):
    """The project's runs ordered by a ``RUN_SORTS`` key (newest first for an unknown one)."""
    return (
        Run.objects.for_org(organization)
        .without_empty_members()
        .filter(project=project)
        .select_related("site", "cloud_region")
        .order_by(*RUN_SORTS.get(sort, RUN_SORTS["-started"]))
    )


def project_kind_split_frame(*, organization: Organization, project: Project) -> pd.DataFrame:
    """The project's runs by kind: runs, IT kWh, GPU-hours and operational tCO2e (location, market).

    Columns: ``kind, runs, energy_kwh, gpu_hours, emissions_t_co2e_location, emissions_t_co2e_market``.
    """
    columns = ["kind", "runs", "energy_kwh", "gpu_hours", "emissions_t_co2e_location", "emissions_t_co2e_market"]
    activity = {
        row["kind"]: row
        for row in Run.objects.for_org(organization)
        .without_empty_members()
        .filter(project=project)
        .values("kind")
        .annotate(runs=Count("id"), energy_kwh=Sum("energy_kwh"), gpu_seconds=Sum(F("gpu_count") * F("duration_s")))
        .order_by()
    }
    if not activity:
        return pd.DataFrame(columns=columns)
    # Each run's operational lines in the newest current calculation that covers it (never a quarter
    # and its year both), summed per run once per calculation: one small grouped query on the rollup.
    emissions = {
        row["kind"]: row
        for row in RunEmissionRollup.objects.for_org(organization)
        .filter(project=project)
        .values("kind")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }
    labels = dict(RunKind.choices)
    records = [
        [
            labels.get(kind, kind),
            row["runs"],
            float(row["energy_kwh"] or 0.0),
            float(row["gpu_seconds"] or 0.0) / SECONDS_PER_HOUR,
            float(emissions.get(kind, {}).get("location") or 0.0) / KG_PER_T,
            float(emissions.get(kind, {}).get("market") or 0.0) / KG_PER_T,
        ]
        for kind, row in activity.items()
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.sort_values(["emissions_t_co2e_location", "kind"], ascending=[False, True], ignore_index=True)


def project_run_span(*, organization: Organization, project: Project) -> tuple[date, date] | None:
    """The UTC days the project's first and latest runs started: the span of its all-time totals (None
    without runs)."""
    span = (
        Run.objects.for_org(organization)
        .filter(project=project)
        .aggregate(first=Min("started_at"), last=Max("started_at"))
    )
    if span["first"] is None:
        return None
    return span["first"].astimezone(UTC).date(), span["last"].astimezone(UTC).date()


def training_inference_totals(split: pd.DataFrame) -> dict:
    """Training (training + fine-tuning), inference and other tCO2e (location-based) from the kind split."""
    labels = dict(RunKind.choices)
    training = {labels[kind] for kind in TRAINING_KINDS}
    by_kind = dict(zip(split["kind"], split["emissions_t_co2e_location"], strict=True)) if not split.empty else {}
    return {
        "training_t_co2e": sum(v for k, v in by_kind.items() if k in training),
        "inference_t_co2e": by_kind.get(labels[RunKind.INFERENCE], 0.0),
        "other_t_co2e": sum(v for k, v in by_kind.items() if k not in training and k != labels[RunKind.INFERENCE]),
    }


def run_emissions_of(runs: list[Run]) -> dict[int, tuple[float, float]]:
    """Operational kgCO2e (location, market) of the runs on one page of a table."""
    return run_emissions_by_id(run_ids=[run.pk for run in runs])
