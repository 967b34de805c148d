"""Aggregating reads of the ledger and activity, returned as tidy pandas DataFrames."""

from __future__ import annotations

import pandas as pd
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Min, Sum
from django.db.models.functions import Coalesce

from emissions.factor_book import FactorBook
from emissions.models import CloudUsage, HardwareAsset, Organization, ProviderCarbon, Run, Site

_CLOUD_ENERGY = (
    "compute_energy_kwh",
    "gpu_energy_kwh",
    "memory_energy_kwh",
    "storage_energy_kwh",
    "network_energy_kwh",
)

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


RECONCILIATION_COLUMNS = [
    "provider", "billing_period", "account_id", "region", "service", "estimated_kg_co2e",
    "reported_location_kg_co2e", "reported_market_kg_co2e", "difference_kg_co2e", "estimate_to_reported_ratio", "note",
]  # fmt: skip


def _key_text(value: str) -> str:
    """Region and service names normalized for matching across exports (``east us`` = ``eastus``)."""
    return "".join((value or "").lower().split())


def cloud_reconciliation(*, organization: Organization, start, end) -> pd.DataFrame:
    """Billing-based estimate vs the provider's own figure per provider, month, account, region, service.

    Columns: see ``RECONCILIATION_COLUMNS``; kgCO2e; the estimate is facility kWh × the region's
    location-based grid factor + the embodied share, the same figure the ledger uses. ``note`` says why a
    side is missing, so every difference can be explained.
    """
    book = FactorBook(organization)
    it_kwh = sum(Coalesce(F(name), 0.0) for name in _CLOUD_ENERGY)
    estimated: dict[tuple, float] = {}
    rows = (
        CloudUsage.objects.for_org(organization)
        .filter(billing_period__gte=start, billing_period__lte=end, charge_category="usage")
        .values("provider", "billing_period", "account_id", "region", "service", "cloud_region__zone__code")
        .annotate(
            facility_kwh=Sum(it_kwh * Coalesce(F("pue"), 1.0)), embodied=Sum(Coalesce(F("embodied_kg_co2e"), 0.0))
        )
    )
    for row in rows:
        zone = row["cloud_region__zone__code"]
        factor = book.location(zone=zone, year=row["billing_period"].year) if zone else None
        kg = (row["facility_kwh"] or 0.0) * (factor.value if factor else 0.0) / 1000.0 + (row["embodied"] or 0.0)
        key = (
            row["provider"],
            row["billing_period"],
            row["account_id"],
            _key_text(row["region"]),
            _key_text(row["service"]),
        )
        estimated[key] = estimated.get(key, 0.0) + kg
    reported: dict[tuple, tuple[float, float]] = {}
    for row in ProviderCarbon.objects.for_org(organization).filter(billing_period__gte=start, billing_period__lte=end):
        key = (row.provider, row.billing_period, row.account_id, _key_text(row.region), _key_text(row.service))
        location, market = reported.get(key, (0.0, 0.0))
        reported[key] = (location + row.total_location_kg_co2e, market + row.total_market_kg_co2e)
    records = []
    for key in sorted(set(estimated) | set(reported), key=str):
        estimate = estimated.get(key)
        location, market = reported.get(key, (None, None))
        if estimate is None:
            note = "provider figure without billing lines (usage outside the imported bill, or another account)"
        elif location is None:
            note = "no provider figure for this line of the bill"
        else:
            note = ""
        difference = None if estimate is None or location is None else estimate - location
        ratio = estimate / location if estimate is not None and location else None
        records.append([*key, estimate, location, market, difference, ratio, note])
    return pd.DataFrame.from_records(records, columns=RECONCILIATION_COLUMNS)
