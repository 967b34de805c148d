"""The hourly-matched Scope 2 of an organization's sites for a period: reads meters, certificates and hourly
factors and hands them to ``emissions.hourly_scope2`` (the rules are there and in docs/methodology.md).

The 2015 method's market-based figure stays the inventory's; this figure is shown beside it, labelled as the
revision's method. Sites count when the organization buys their electricity (Scope 2). Sites of one grid zone
share a market boundary: their loads are pooled hour by hour and the boundary's certificates matched against
the pool, then each site carries its share of every hour in proportion to its load (a certificate is
claimed once, by the organization, never once per site).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from emissions.choices import FactorKind
from emissions.factor_book import FactorBook
from emissions.hourly_scope2 import (
    HourFactors,
    HourlyCertificate,
    HourlyMatching,
    HourResult,
    hourly_match,
    profile_load,
)
from emissions.models import (
    EnergyInstrument,
    GranularCertificate,
    GridEnergyMix,
    HourlyIntensity,
    HourlyMeterReading,
    MeterReading,
    Organization,
    Site,
)
from emissions.periods import Period
from emissions.zone_time_zones import zone_time_zone

HOUR = timedelta(hours=1)


@dataclass
class SiteHourly:
    """One site's hourly figures and the weaker inputs they rest on, each named for the report."""

    site: Site
    matching: HourlyMatching
    # Hours whose location factor (and CFE share) came from a monthly or yearly factor, not an hourly one.
    hours_without_hourly_factor: int = 0
    # Hours whose grid carbon-free share came from the zone's yearly mix, or none at all.
    hours_without_hourly_cfe: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class OrganizationHourly:
    """Every Scope 2 site of the period, the organization's sum, and what the hourly method cannot use."""

    sites: list[SiteHourly]
    # Annual (non-granular) instruments of the period: kWh that hourly matching never uses.
    annual_instruments_kwh: float = 0.0

    @property
    def matching(self) -> HourlyMatching:
        total = HourlyMatching()
        for site in self.sites:
            total = total.add(site.matching)
        return total


def organization_hourly_scope2(*, organization: Organization, period: Period) -> OrganizationHourly:
    """The hourly-matched Scope 2 of the organization's sites that buy their electricity, for the period."""
    start = datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC)
    end = datetime(period.end.year, period.end.month, period.end.day, tzinfo=UTC) + timedelta(days=1)
    sites = list(
        Site.objects.for_org(organization).filter(buys_electricity=True).select_related("zone").order_by("slug")
    )
    book = FactorBook(organization)
    by_zone: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        by_zone[site.zone.code].append(site)
    results = []
    for zone, zone_sites in sorted(by_zone.items()):
        results.extend(_boundary(organization, book, zone, zone_sites, start, end))
    instruments = EnergyInstrument.objects.for_org(organization).filter(
        vintage_start__lte=period.end, vintage_end__gte=period.start, zone__code__in=list(by_zone)
    )
    annual_kwh = 1000.0 * sum(instruments.values_list("energy_mwh", flat=True))
    return OrganizationHourly(sites=results, annual_instruments_kwh=annual_kwh)


def _boundary(
    organization: Organization, book: FactorBook, zone: str, sites: list[Site], start: datetime, end: datetime
) -> list[SiteHourly]:
    loads = {site.pk: _site_load(site, start, end) for site in sites}
    pooled: dict[datetime, float] = defaultdict(float)
    for load, _profiled in loads.values():
        for hour, kwh in load.items():
            pooled[hour] += kwh
    factors, without_hourly, without_cfe = _factors(book, zone, start, end)
    unpriced = sorted(hour for hour, kwh in pooled.items() if kwh and hour not in factors)
    for hour in unpriced:  # no factor of any granularity: left out and named, never valued at zero
        del pooled[hour]
    certificates = [
        HourlyCertificate(
            c.certificate_id, c.hour_start, c.energy_kwh, zone, c.emission_factor_g_per_kwh, c.carbon_free
        )
        for c in GranularCertificate.objects.for_org(organization).filter(
            zone__code=zone, hour_start__gte=start, hour_start__lt=end
        )
    ]
    pool = hourly_match(
        load_kwh_by_hour=pooled, market_boundary=zone, certificates=certificates, factors_by_hour=factors
    )
    results = []
    for site in sites:
        load, profiled = loads[site.pk]
        hours = [_share(hour, load.get(hour.hour_start, 0.0), hour.hour_start in profiled) for hour in pool.hours]
        matching = HourlyMatching(hours=[hour for hour in hours if hour.load_kwh])
        counted = {hour.hour_start for hour in matching.hours}
        results.append(
            SiteHourly(
                site=site,
                matching=matching,
                hours_without_hourly_factor=len(counted & without_hourly),
                hours_without_hourly_cfe=len(counted & without_cfe),
            )
        )
    # Surplus and other boundaries' kWh belong to the boundary, not to a site: the first site carries them.
    if results and unpriced:
        results[0].notes.append(f"{len(unpriced)} hour(s) of load in {zone} without any grid factor are left out")
    if results:
        results[0].notes.append(
            f"certificates of {zone}: {pool.matched_kwh:,.1f} kWh matched, {pool.surplus_kwh:,.1f} kWh surplus "
            "in hours without enough load (never carried to another hour)"
        )
    return results


def _share(pooled: HourResult, site_kwh: float, profiled: bool) -> HourResult:
    """The site's part of a pooled hour, in proportion to its load (surplus stays with the pool)."""
    share = site_kwh / pooled.load_kwh if pooled.load_kwh else 0.0
    return HourResult(
        hour_start=pooled.hour_start,
        load_kwh=site_kwh,
        matched_kwh=pooled.matched_kwh * share,
        matched_carbon_free_kwh=pooled.matched_carbon_free_kwh * share,
        uncovered_kwh=pooled.uncovered_kwh * share,
        surplus_kwh=0.0,
        market_kg_co2e=pooled.market_kg_co2e * share,
        location_kg_co2e=pooled.location_kg_co2e * share,
        carbon_free_kwh=pooled.carbon_free_kwh * share,
        remainder_at_location=pooled.remainder_at_location,
        profiled=profiled,
    )


def _site_load(site: Site, start: datetime, end: datetime) -> tuple[dict[datetime, float], set[datetime]]:
    """The site's hourly kWh in [start, end): its hourly meter data, and for each month without any, its
    monthly meter readings spread by the site's load profile (those hours returned as profiled)."""
    load = dict(
        HourlyMeterReading.objects.filter(site=site, hour_start__gte=start, hour_start__lt=end).values_list(
            "hour_start", "energy_kwh"
        )
    )
    metered_months = {(hour.year, hour.month) for hour in load}
    local_time = zone_time_zone(site.zone.code) or UTC
    profiled: set[datetime] = set()
    readings = MeterReading.objects.filter(site=site, period_start__lt=end.date(), period_end__gte=start.date())
    for reading in readings:
        first = datetime(reading.period_start.year, reading.period_start.month, reading.period_start.day, tzinfo=UTC)
        last = datetime(reading.period_end.year, reading.period_end.month, reading.period_end.day, tzinfo=UTC)
        spread = profile_load(
            energy_kwh=reading.energy_kwh,
            start=first,
            end=last + timedelta(days=1),
            profile=site.load_profile,
            local_time=local_time,
        )
        for hour, kwh in spread.items():
            if start <= hour < end and (hour.year, hour.month) not in metered_months:
                load[hour] = load.get(hour, 0.0) + kwh
                profiled.add(hour)
    return load, profiled


def _factors(
    book: FactorBook, zone: str, start: datetime, end: datetime
) -> tuple[dict[datetime, HourFactors], set[datetime], set[datetime]]:
    """Every hour's factors: hourly values where loaded (the first dataset's), else the month's or year's
    location factor and residual mix, and the year's carbon-free share of the zone's mix. Also returns the
    hours without an hourly location factor and those without an hourly carbon-free share."""
    hourly = {}
    rows = HourlyIntensity.objects.filter(zone__code=zone, hour_start__gte=start, hour_start__lt=end)
    for hour, location, residual, cfe in rows.order_by("hour_start", "dataset_id").values_list(
        "hour_start", "intensity_g_per_kwh", "residual_g_per_kwh", "carbon_free_share_pct"
    ):
        hourly.setdefault(hour, (location, residual, cfe))
    mixes = {
        year: (fossil, renewable + nuclear)
        for year, fossil, renewable, nuclear in GridEnergyMix.objects.filter(zone__code=zone)
        .order_by("year", "dataset_id")
        .values_list("year", "fossil_share_pct", "renewable_share_pct", "nuclear_share_pct")
    }
    factors, without_hourly, without_cfe = {}, set(), set()
    monthly: dict[tuple[int, int], tuple[float | None, float | None]] = {}
    hour = start
    while hour < end:
        key = (hour.year, hour.month)
        if key not in monthly:
            location = book.location(zone=zone, year=hour.year, month=hour.month)
            residual = book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=hour.year, month=hour.month)
            monthly[key] = (location.value if location else None, residual.value if residual else None)
        month_location, month_residual = monthly[key]
        location, residual, cfe_pct = hourly.get(hour, (None, None, None))
        if location is None:
            without_hourly.add(hour)
            location = month_location
        if cfe_pct is None:
            without_cfe.add(hour)
            mix = mixes.get(hour.year) or (mixes[max(mixes)] if mixes else None)
            cfe_pct = mix[1] if mix else 0.0
        if location is not None:
            factors[hour] = HourFactors(
                location_g_per_kwh=location,
                residual_g_per_kwh=residual if residual is not None else month_residual,
                grid_carbon_free_share=cfe_pct / 100.0,
            )
        hour += HOUR
    return factors, without_hourly, without_cfe
