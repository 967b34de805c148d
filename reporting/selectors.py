"""Aggregating reads of the ledger and activity, returned as tidy pandas DataFrames."""

from __future__ import annotations

import pandas as pd
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Min, Sum

from emissions.choices import FactorKind
from emissions.cloud_sharing import location_from_market_kg, matched_groups, price_group, shares
from emissions.factor_book import FactorBook
from emissions.models import HardwareAsset, Organization, Run, Site
from emissions.periods import month_end
from emissions.selectors_cloud import cloud_estimates, provider_rows

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
    "provider", "billing_period", "account_id", "region", "service", "provider_service", "match",
    "estimated_kg_co2e", "estimated_market_kg_co2e", "reported_location_kg_co2e", "reported_market_kg_co2e",
    "counted_location_kg_co2e",
    "difference_kg_co2e", "estimate_to_reported_ratio", "market_difference_kg_co2e", "variance_basis",
    "variance_pct", "note",
]  # fmt: skip
_NOTES = {
    "none": "provider figure without billing lines in its account, month and region (counted as reported)",
    "uncovered": "no provider figure for this account and month: the estimate is counted",
    "unclaimed": "the provider covers this account and month but reports nothing for this region or service",
}


def cloud_reconciliation(*, organization: Organization, start, end) -> pd.DataFrame:
    """Billing-based estimate vs the provider's own figure, one row per provider row and billing estimate
    group it covers (emissions/cloud_sharing.py: the ledger's own matching and shares), plus provider rows
    without billing lines and estimate groups without a provider row.

    Columns: see ``RECONCILIATION_COLUMNS``; kgCO2e, location-based unless named market. ``service`` is the
    billing service (the provider's own label in ``provider_service``; for Azure the resource), ``match`` how
    the provider row found its groups. ``difference_kg_co2e`` is estimate − reported (location-based),
    ``market_difference_kg_co2e`` the same by the market-based method (the only one for Azure), and
    ``variance_pct`` = difference ÷ reported × 100 by ``variance_basis``: location where the provider reports
    a location-based figure, else market. A group claimed by several provider rows is split evenly between them,
    so every column adds up: ``estimated_kg_co2e`` sums to the estimate of the period's lines and
    ``counted_location_kg_co2e`` to the ledger's cloud billing figure (the reported figure where the provider
    covers the account and month, the embodied estimate added where its boundary excludes embodied, the
    estimate elsewhere). ``note`` says why a side is missing.
    """
    book = FactorBook(organization)
    groups = cloud_estimates(organization=organization, start=start, end=end)
    for group in groups:
        month = group.period
        location = book.best_location(zone=group.zone, start=month, end=month_end(month))
        residual = book.grid(zone=group.zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month)
        price_group(group, location if group.zone else None, residual if group.zone and location else None)
    rows = provider_rows(organization=organization, start=start, end=end)
    covered = {row.unit for row in rows}
    covered_groups = [group for group in groups if group.unit in covered]
    matches = [(row, *matched_groups(row, covered_groups)) for row in rows]
    claims: dict[int, int] = {}
    for _, matched, _ in matches:
        for group in matched:
            claims[id(group)] = claims.get(id(group), 0) + 1
    records = []
    for row, matched, level in matches:
        if not matched:
            reported = row.location_kg if row.reports_location else None
            counted = reported if reported is not None else _location_of_market_only(book, row)
            records.append(_reconciled(row, None, level, (None, None), counted, reported, row.market_kg))
        for group, share in zip(matched, shares(matched), strict=True):
            estimate = (group.location_kg / claims[id(group)], group.market_kg / claims[id(group)])
            reported = row.location_kg * share if row.reports_location else None
            counted = (reported if reported is not None else row.market_kg * share * _ratio(group)) + (
                0.0 if row.includes_embodied else group.embodied_kg / claims[id(group)]
            )
            records.append(_reconciled(row, group, level, estimate, counted, reported, row.market_kg * share))
    for group in groups:
        if group.unit not in covered or id(group) not in claims:
            kind = "uncovered" if group.unit not in covered else "unclaimed"
            counted = group.location_kg if kind == "uncovered" else 0.0
            records.append(_reconciled(None, group, kind, (group.location_kg, group.market_kg), counted, None, None))
    return pd.DataFrame.from_records(records, columns=RECONCILIATION_COLUMNS)


def _location_of_market_only(book: FactorBook, row) -> float:
    """What the ledger counts location-based for a market-only figure without billing lines
    (ledger_provider.ProviderLines._location_of_market_only): the figure × location factor ÷ residual mix
    of its region's zone for the month, else the figure itself."""
    month = row.period
    location = book.best_location(zone=row.zone, start=month, end=month_end(month)) if row.zone else None
    residual = (
        book.grid(zone=row.zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month) if location else None
    )
    derived = location_from_market_kg(row.market_kg, location, residual)
    return row.market_kg if derived is None else derived


def _ratio(group) -> float:
    """Our location/market ratio for a group (a market-only provider's location figure uses it)."""
    return group.location_kg / group.market_kg if group.market_kg > 0 else 1.0


def _reconciled(row, group, match, estimates, counted, reported, market) -> list:
    source = group if group is not None else row
    region = source.region
    service = group.service if group is not None else row.service
    note = _NOTES.get(match, "")
    if row is not None and not row.reports_location:
        note = "the provider reports a market-based figure only"
    estimate, estimate_market = estimates
    difference = None if estimate is None or reported is None else estimate - reported
    ratio = estimate / reported if estimate is not None and reported else None
    market_difference = None if estimate_market is None or market is None else estimate_market - market
    # Compare like with like: location-based where the provider reports it, else its market-based figure.
    basis = "" if row is None else "location" if row.reports_location else "market"
    compared = (difference, reported) if basis == "location" else (market_difference, market)
    variance = compared[0] / compared[1] * 100 if compared[0] is not None and compared[1] else None
    return [
        source.provider, source.period, source.account, region, service, row.service if row else "", match,
        estimate, estimate_market, reported, market, counted, difference, ratio, market_difference, basis,
        variance, note,
    ]  # fmt: skip
