"""Run-level reads shared by the what-if replays, the advice and the carbon label."""

from __future__ import annotations

from django.db.models import Sum

from emissions.choices import Basis
from emissions.models import EmissionRecord, Organization, Project, Run
from emissions.periods import Period


def run_ledger_figures(*, run_ids: list[int]) -> dict[int, dict]:
    """Per run, from the newest current Calculation covering it: ``energy_kwh`` and ``kg_co2e`` of its
    electricity line(s) (operational records carrying energy) and ``amortized_kg_co2e``."""
    rows = (
        EmissionRecord.objects.filter(run_id__in=run_ids, calculation__superseded_by__isnull=True)
        .values("run_id", "calculation_id", "basis")
        .annotate(kg=Sum("emissions_kg_co2e_location"), kwh=Sum("energy_kwh"))
        .order_by("run_id", "calculation_id")
    )
    newest: dict[int, int] = {}
    for row in rows:
        newest[row["run_id"]] = max(newest.get(row["run_id"], 0), row["calculation_id"])
    figures: dict[int, dict] = {}
    for row in rows:
        if row["calculation_id"] != newest[row["run_id"]]:
            continue
        entry = figures.setdefault(row["run_id"], {"energy_kwh": 0.0, "kg_co2e": 0.0, "amortized_kg_co2e": 0.0})
        if row["basis"] == Basis.OPERATIONAL and row["kwh"]:
            entry["energy_kwh"] += row["kwh"]
    # The electricity line is the operational record with energy; upstream (Cat 3) lines carry none.
    electricity = (
        EmissionRecord.objects.filter(
            run_id__in=run_ids, basis=Basis.OPERATIONAL, energy_kwh__isnull=False, calculation_id__in=newest.values()
        )
        .values("run_id", "calculation_id")
        .annotate(kg=Sum("emissions_kg_co2e_location"))
    )
    for row in electricity:
        if newest.get(row["run_id"]) == row["calculation_id"]:
            figures[row["run_id"]]["kg_co2e"] += row["kg"] or 0.0
    for row in rows:
        if row["calculation_id"] == newest[row["run_id"]] and row["basis"] == Basis.EMBODIED_AMORTIZED:
            figures[row["run_id"]]["amortized_kg_co2e"] += row["kg"] or 0.0
    return figures


def project_runs(organization: Organization, project: Project, period: Period) -> list[Run]:
    return list(
        Run.objects.for_org(organization)
        .filter(project=project, started_at__date__gte=period.start, started_at__date__lte=period.end)
        .select_related("site__zone", "cloud_region__zone", "grid_zone")
        .order_by("started_at", "pk")
    )


def run_zone_code(run: Run) -> str | None:
    if run.site_id:
        return run.site.zone.code
    if run.cloud_region_id and run.cloud_region.zone_id:
        return run.cloud_region.zone.code
    if run.grid_zone_id:  # an off-site run, placed by its tracker's report or the organization's default
        return run.grid_zone.code
    return None
