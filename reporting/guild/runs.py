"""Run-level reads shared by the what-if replays, the advice and the carbon label."""

from __future__ import annotations

import re
import unicodedata

from django.db.models import Q, Sum

from emissions.choices import Basis, FactorKind
from emissions.models import EmissionRecord, GridFactor, GridZone, Organization, Project, Run
from emissions.periods import Period


def run_ledger_figures(*, run_ids: list[int]) -> dict[int, dict]:
    """Per run, from the newest current Calculation covering it: ``energy_kwh`` and ``kg_co2e`` of its
    electricity line(s) (operational records carrying energy) and ``amortized_kg_co2e``."""
    # The electricity line is the operational record with energy; upstream (Cat 3) lines carry none. Its kg
    # are summed apart in the same pass over the lines (``electricity_kg``).
    rows = (
        EmissionRecord.objects.filter(run_id__in=run_ids, calculation__superseded_by__isnull=True)
        .values("run_id", "calculation_id", "basis")
        .annotate(
            kg=Sum("emissions_kg_co2e_location"),
            kwh=Sum("energy_kwh"),
            electricity_kg=Sum("emissions_kg_co2e_location", filter=Q(energy_kwh__isnull=False)),
        )
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
        if row["basis"] == Basis.OPERATIONAL:
            entry["kg_co2e"] += row["electricity_kg"] or 0.0
    for row in rows:
        if row["calculation_id"] == newest[row["run_id"]] and row["basis"] == Basis.EMBODIED_AMORTIZED:
            figures[row["run_id"]]["amortized_kg_co2e"] += row["kg"] or 0.0
    return figures


def project_runs(organization: Organization, project: Project, period: Period) -> list[Run]:
    return list(
        Run.objects.for_org(organization)
        .without_empty_members()
        .filter(project=project, started_at__date__gte=period.start, started_at__date__lte=period.end)
        .select_related("site__zone", "cloud_region__zone", "grid_zone")
        .order_by("started_at", "pk")
    )


def run_zone_code(run: Run) -> str | None:
    """The grid zone the run ran in: its site's, its cloud region's, else where its tracker's report put it.

    A country-wide zone gives way to the sub-national zone the tracker named (region ``quebec`` in Canada →
    CA-QC) when that zone has a location-based factor, so a replay reads Québec's grid, not Canada's average.
    """
    zone = _located_zone(run)
    if zone is None:
        return None
    if zone.parent_id is None and run.tracker_region:
        return _tracker_subdivision(run, zone) or zone.code
    return zone.code


def _located_zone(run: Run):
    if run.site_id:
        return run.site.zone
    if run.cloud_region_id and run.cloud_region.zone_id:
        return run.cloud_region.zone
    if run.grid_zone_id:  # an off-site run, placed by its tracker's report or the organization's default
        return run.grid_zone
    return None


def _name_key(text: str) -> str:
    """``"Québec"``, ``"quebec"`` and ``"QC"`` compared without accents, case or punctuation."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.casefold())


def _tracker_subdivision(run: Run, country) -> str | None:
    """The code of ``country``'s sub-national zone named by the run's tracker region, if it has a factor."""
    wanted = _name_key(run.tracker_region)
    kinds = (FactorKind.LOCATION, FactorKind.LIFECYCLE)
    priced = GridFactor.objects.visible_to(run.organization_id).filter(kind__in=kinds).values("zone_id")
    for code, name in GridZone.objects.filter(parent=country, pk__in=priced).values_list("code", "name"):
        if wanted in {_name_key(name), _name_key(code), _name_key(code.split("-", 1)[-1])}:
            return code
    return None
