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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

from django.db.models import BigIntegerField, Func

from emissions.choices import FactorKind
from emissions.factor_book import FactorBook
from emissions.hourly_scope2 import (
    HOUR,
    HourFactors,
    HourlyCertificate,
    HourlyMatching,
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
from emissions.services.hourly_tracker_load import tracker_loads
from emissions.zone_time_zones import zone_time_zone


@dataclass
class SiteHourly:
    """One site's share of its market boundary's hourly calculation (every hour in proportion to its load),
    its totals, and the weaker inputs they rest on, each counted for the report."""

    site: Site
    boundary: HourlyMatching  # the pooled hours of the site's market boundary (shares per hour are the pool's)
    load_kwh: float = 0.0
    matched_kwh: float = 0.0
    market_kg_co2e: float = 0.0
    location_kg_co2e: float = 0.0
    carbon_free_kwh: float = 0.0
    profiled_hours: int = 0
    # Hours whose load is the site's tracker runs (a month with no meter data at all, as in the inventory).
    tracker_hours: int = 0
    # Hours whose location factor came from a monthly or yearly factor, not an hourly one.
    hours_without_hourly_factor: int = 0
    # Hours whose grid carbon-free share came from the zone's yearly mix, or none at all.
    hours_without_hourly_cfe: int = 0
    # Hours with no carbon-free share of any granularity (valued 0): the site's 24/7 score is then unknown.
    hours_without_cfe_data: int = 0
    notes: list[str] = field(default_factory=list)
    # (month "YYYY-MM", UTC hour of day) -> [carbon-free kWh, load kWh]: the site's hour-of-day heatmap.
    cells: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    @property
    def cfe_score(self) -> float | None:
        """The site's 24/7 carbon-free share of its load (0–1); None without load, or when some hour has no
        carbon-free share of the grid at all (a score would count that hour's grid supply as fossil)."""
        if not self.load_kwh or self.hours_without_cfe_data:
            return None
        return self.carbon_free_kwh / self.load_kwh


@dataclass
class OrganizationHourly:
    """Every Scope 2 site of the period, the organization's sums, and what the hourly method cannot use."""

    sites: list[SiteHourly]
    boundaries: dict[str, HourlyMatching] = field(default_factory=dict)
    # Annual (non-granular) instruments of the period: kWh that hourly matching never uses.
    annual_instruments_kwh: float = 0.0

    def total(self, name: str) -> float:
        """The sum over sites of a ``SiteHourly`` quantity (``load_kwh``, ``market_kg_co2e``…)."""
        return sum(getattr(site, name) for site in self.sites)

    @property
    def cfe_score(self) -> float | None:
        """The organization's 24/7 share (0–1); None without load or when a site's score is unknown."""
        load = self.total("load_kwh")
        if not load or self.total("hours_without_cfe_data"):
            return None
        return self.total("carbon_free_kwh") / load


def organization_hourly_scope2(*, organization: Organization, period: Period) -> OrganizationHourly:
    """The hourly-matched Scope 2 of the organization's sites that buy their electricity, for the period."""
    start, end = period_bounds_utc(period)
    sites = list(
        Site.objects.for_org(organization).filter(buys_electricity=True).select_related("zone").order_by("slug")
    )
    book = cache(lambda: FactorBook(organization))  # built only when a boundary has load (the overview's case)
    by_zone: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        by_zone[site.zone.code].append(site)
    results, boundaries = [], {}
    for zone, zone_sites in sorted(by_zone.items()):
        boundaries[zone], site_results = _boundary(organization, book, zone, zone_sites, start, end)
        results.extend(site_results)
    instruments = EnergyInstrument.objects.for_org(organization).filter(
        vintage_start__lte=period.end, vintage_end__gte=period.start, zone__code__in=list(by_zone)
    )
    annual_kwh = 1000.0 * sum(instruments.values_list("energy_mwh", flat=True))
    return OrganizationHourly(sites=results, boundaries=boundaries, annual_instruments_kwh=annual_kwh)


def _boundary(
    organization: Organization,
    book: Callable[[], FactorBook],
    zone: str,
    sites: list[Site],
    start: datetime,
    end: datetime,
) -> tuple[HourlyMatching, list[SiteHourly]]:
    loads = _site_loads(sites, start, end)
    pooled: dict[datetime, float] = defaultdict(float)
    for load, _profiled, _tracked in loads.values():
        for hour, kwh in load.items():
            pooled[hour] += kwh
    if not any(pooled.values()):  # no load: no hour to price (certificates are all surplus)
        factors: dict[datetime, HourFactors] = {}
        without_hourly: set[datetime] = set()
        without_cfe: set[datetime] = set()
        unknown_cfe: set[datetime] = set()
    else:
        factors, without_hourly, without_cfe, unknown_cfe = _factors(book(), zone, start, end)
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
        load, profiled, tracked = loads[site.pk]
        result = SiteHourly(site=site, boundary=pool)
        for pooled_hour in pool.hours:
            kwh = load.get(pooled_hour.hour_start, 0.0)
            if not kwh:
                continue
            share = kwh / pooled_hour.load_kwh
            result.load_kwh += kwh
            result.matched_kwh += pooled_hour.matched_kwh * share
            result.market_kg_co2e += pooled_hour.market_kg_co2e * share
            result.location_kg_co2e += pooled_hour.location_kg_co2e * share
            result.carbon_free_kwh += pooled_hour.carbon_free_kwh * share
            cell = result.cells.setdefault((f"{pooled_hour.hour_start:%Y-%m}", pooled_hour.hour_start.hour), [0.0, 0.0])
            cell[0] += pooled_hour.carbon_free_kwh * share
            cell[1] += kwh
            result.profiled_hours += pooled_hour.hour_start in profiled
            result.tracker_hours += pooled_hour.hour_start in tracked
            result.hours_without_hourly_factor += pooled_hour.hour_start in without_hourly
            result.hours_without_hourly_cfe += pooled_hour.hour_start in without_cfe
            result.hours_without_cfe_data += pooled_hour.hour_start in unknown_cfe
        results.append(result)
    # Surplus and other boundaries' kWh belong to the boundary, not to a site: the first site carries them.
    if results and unpriced:
        results[0].notes.append(f"{len(unpriced)} hour(s) of load in {zone} without any grid factor are left out")
    if results:
        results[0].notes.append(
            f"certificates of {zone}: {pool.matched_kwh:,.1f} kWh matched, {pool.surplus_kwh:,.1f} kWh surplus "
            "in hours without enough load (never carried to another hour)"
        )
    return pool, results


def period_bounds_utc(period: Period) -> tuple[datetime, datetime]:
    """The period's hours as [00:00 UTC of its first day, 00:00 UTC after its last day)."""
    return _midnight(period.start), _midnight(period.end) + timedelta(days=1)


def _midnight(day: date) -> datetime:
    """00:00 UTC of a day."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class _EpochSeconds(Func):
    """A timestamp as whole seconds since 1970 (integers load far faster than timestamps: 438,000 hours)."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::bigint", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # "%%%%" survives the template's own formatting and the backend's "%%" → "%" (checked on SQLite).
        template = "CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)


def _site_loads(
    sites: list[Site], start: datetime, end: datetime
) -> dict[int, tuple[dict[datetime, float], set[datetime], set[datetime]]]:
    """Each site's hourly kWh in [start, end): its hourly meter data; for each month without any, its
    monthly meter readings spread by the site's load profile (those hours returned as profiled); and for a
    month with no meter data at all, its tracker runs' facility kWh hour by hour (those hours returned as
    from trackers), as the inventory counts such a month."""
    hours: dict[int, datetime] = {}
    loads: dict[int, dict[datetime, float]] = {site.pk: {} for site in sites}
    rows = HourlyMeterReading.objects.filter(site__in=sites, hour_start__gte=start, hour_start__lt=end)
    for site_id, epoch, kwh in rows.values_list("site_id", _EpochSeconds("hour_start"), "energy_kwh").iterator(
        chunk_size=20_000
    ):
        hour = hours.get(epoch)
        if hour is None:
            hour = hours[epoch] = datetime.fromtimestamp(epoch, UTC)
        loads[site_id][hour] = kwh
    result: dict[int, tuple[dict[datetime, float], set[datetime], set[datetime]]] = {}
    read_months: dict[int, set[tuple[int, int]]] = {}
    for site in sites:
        load = loads[site.pk]
        metered_months = {(hour.year, hour.month) for hour in load}
        local_time = zone_time_zone(site.zone.code) or UTC
        profiled: set[datetime] = set()
        readings = MeterReading.objects.filter(site=site, period_start__lt=end.date(), period_end__gte=start.date())
        for reading in readings:
            first = datetime(
                reading.period_start.year, reading.period_start.month, reading.period_start.day, tzinfo=UTC
            )
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
        read_months[site.pk] = metered_months | {
            month for reading in readings for month in _month_keys(reading.period_start, reading.period_end)
        }
        result[site.pk] = (load, profiled, set())
    # Tracker runs only where a month of the period has no meter data (most sites have none such).
    period_months = _month_keys(start.date(), (end - timedelta(days=1)).date())
    unread = [site for site in sites if period_months - read_months[site.pk]]
    for site_id, tracker_load in tracker_loads(unread, start, end).items():
        load, _profiled, tracked = result[site_id]
        for hour, kwh in tracker_load.items():
            if (hour.year, hour.month) not in read_months[site_id]:
                load[hour] = load.get(hour, 0.0) + kwh
                tracked.add(hour)
    return result


def _month_keys(first: date, last: date) -> set[tuple[int, int]]:
    """The (year, month) pairs of the calendar months that days ``first``..``last`` touch."""
    return {(day.year, day.month) for day, _ in Period(label="months", start=first, end=last).months()}


def _factors(
    book: FactorBook, zone: str, start: datetime, end: datetime
) -> tuple[dict[datetime, HourFactors], set[datetime], set[datetime], set[datetime]]:
    """Every hour's factors: hourly values where loaded, else the month's or year's location factor and
    residual mix, and the year's carbon-free share of the zone's mix. Hourly values are the organization's own
    and shipped ones only; where both hold an hour, each value is the organization's own, else the first
    shipped dataset's that has it (``HourlyIntensityQuerySet.by_hour``). Also returns the hours without an
    hourly location factor, those without an hourly carbon-free share and those without any carbon-free share
    (valued 0, and flagged)."""
    rows = HourlyIntensity.objects.visible_to(book.organization).filter(
        zone__code=zone, hour_start__gte=start, hour_start__lt=end
    )
    hourly: dict[datetime, tuple] = {
        at: values
        for (_, at), values in rows.by_hour(
            "intensity_g_per_kwh", "residual_g_per_kwh", "carbon_free_share_pct"
        ).items()
    }
    mixes = {
        year: (fossil, renewable + nuclear)
        for year, fossil, renewable, nuclear in GridEnergyMix.objects.filter(zone__code=zone)
        .order_by("year", "dataset_id")
        .values_list("year", "fossil_share_pct", "renewable_share_pct", "nuclear_share_pct")
    }
    factors: dict[datetime, HourFactors] = {}
    without_hourly: set[datetime] = set()
    without_cfe: set[datetime] = set()
    unknown_cfe: set[datetime] = set()
    monthly: dict[tuple[int, int], tuple[float | None, float | None]] = {}
    hour = start
    while hour < end:
        key = (hour.year, hour.month)
        if key not in monthly:
            month_factor = book.location(zone=zone, year=hour.year, month=hour.month)
            month_mix = book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=hour.year, month=hour.month)
            monthly[key] = (month_factor.value if month_factor else None, month_mix.value if month_mix else None)
        month_location, month_residual = monthly[key]
        location: float | None
        residual: float | None
        cfe_pct: float | None
        location, residual, cfe_pct = hourly.get(hour, (None, None, None))
        if location is None:
            without_hourly.add(hour)
            location = month_location
        if cfe_pct is None:
            without_cfe.add(hour)
            mix = mixes.get(hour.year) or (mixes[max(mixes)] if mixes else None)
            if mix is None:
                unknown_cfe.add(hour)
            cfe_pct = mix[1] if mix else 0.0
        if location is not None:
            factors[hour] = HourFactors(
                location_g_per_kwh=location,
                residual_g_per_kwh=residual if residual is not None else month_residual,
                grid_carbon_free_share=cfe_pct / 100.0,
            )
        hour += HOUR
    return factors, without_hourly, without_cfe, unknown_cfe
