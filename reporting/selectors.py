"""Aggregating reads of the ledger and activity, returned as tidy pandas DataFrames."""

from __future__ import annotations

import pandas as pd
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Min, Sum

from emissions.models import HardwareAsset, Organization, Run, Site

# GPU-seconds of a run: GPUs reserved × wall-clock duration.
_GPU_SECONDS = ExpressionWrapper(F("gpu_count") * F("duration_s"), output_field=FloatField())

TEAM_ACTIVITY_COLUMNS = ["team", "team_slug", "projects", "runs", "energy_kwh", "gpu_hours"]


def team_activity_summary(*, organization: Organization) -> pd.DataFrame:
    """Runs, IT energy (kWh) and GPU-hours per team, largest energy first.

    Columns: ``team, team_slug, projects, runs, energy_kwh, gpu_hours``.
    """
    rows = (
        Run.objects.for_org(organization)
        .values(team=F("project__team__name"), team_slug=F("project__team__slug"))
        .annotate(
            projects=Count("project", distinct=True),
            runs=Count("id"),
            energy_kwh=Sum("energy_kwh"),
            gpu_seconds=Sum(_GPU_SECONDS),
        )
        .order_by("-energy_kwh")
    )
    frame = pd.DataFrame.from_records(list(rows), columns=[*TEAM_ACTIVITY_COLUMNS[:-1], "gpu_seconds"])
    frame["gpu_hours"] = frame.pop("gpu_seconds").fillna(0.0) / 3600.0
    return frame[TEAM_ACTIVITY_COLUMNS]


def organization_overview(*, organization: Organization) -> dict:
    """Headline counts for the home page: runs, IT energy (kWh), GPU-hours, sites, fleet units, period."""
    runs = Run.objects.for_org(organization).aggregate(
        runs=Count("id"),
        energy_kwh=Sum("energy_kwh"),
        gpu_seconds=Sum(_GPU_SECONDS),
        first=Min("started_at"),
        last=Max("started_at"),
    )
    fleet = HardwareAsset.objects.for_org(organization).filter(retired_on__isnull=True).aggregate(units=Sum("quantity"))
    return {
        "runs": runs["runs"],
        "energy_kwh": runs["energy_kwh"] or 0.0,
        "gpu_hours": (runs["gpu_seconds"] or 0.0) / 3600.0,
        "first_run_at": runs["first"],
        "last_run_at": runs["last"],
        "sites": Site.objects.for_org(organization).count(),
        "fleet_units_in_service": fleet["units"] or 0,
    }
