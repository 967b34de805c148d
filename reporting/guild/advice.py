"""Carbon-aware advice: where and when (in the zone's local time) a project's next training run would emit least."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from emissions.choices import CloudProvider, FactorKind
from emissions.factor_book import FactorBook
from emissions.models import CloudRegion, GridFactor, GridZone, HourlyIntensity, Organization, Project, Run, Site
from emissions.periods import Period
from emissions.services.hourly_scope2 import period_bounds_utc
from emissions.units import G_PER_KG
from emissions.zone_time_zones import zone_time_zone
from reporting.guild.runs import project_runs, run_ledger_figures
from reporting.guild.whatif import DAILY_PROFILE

# Hourly data stands for a zone's day only when every local hour of day has at least this many values
# over the period: a week's worth puts each hour on every weekday once, so neither one day's weather nor
# the weekday/weekend swing in demand picks the window. One day of hourly rows is an anecdote, not a profile.
MIN_HOURLY_VALUES_PER_LOCAL_HOUR = 7


@dataclass(frozen=True)
class _LocalClock:
    """How a zone's clock relates to UTC over a period: the offset kept on most days (and its abbreviation),
    and whether the offset changed during the period (daylight saving time)."""

    time_zone: ZoneInfo | None
    offset: timedelta
    abbreviation: str
    offset_changes: bool

    @property
    def offset_minutes(self) -> int:
        """The offset in minutes, east of UTC positive (120 for CEST, −240 for EDT)."""
        return int(self.offset.total_seconds() // 60)

    @property
    def phase_minutes(self) -> int:
        """Minutes past the local hour at which UTC hours start (30 in India, 45 in Nepal, else 0): hourly
        data, stored per UTC hour, covers local hour slots that start at this minute."""
        return self.offset_minutes % 60


def _local_clock(zone: str, period: Period) -> _LocalClock:
    """The zone's clock over the period, from noon of each day; UTC for a zone without a time zone on file."""
    tz = zone_time_zone(zone)
    if tz is None:
        return _LocalClock(time_zone=None, offset=timedelta(0), abbreviation="UTC", offset_changes=False)
    offsets: Counter[timedelta] = Counter()
    names: dict[timedelta, str] = {}
    day = period.start
    while day <= period.end:
        noon = datetime.combine(day, time(12), tzinfo=tz)
        offset = noon.utcoffset() or timedelta(0)
        offsets[offset] += 1
        names.setdefault(offset, noon.tzname() or "")
        day += timedelta(days=1)
    offset = offsets.most_common(1)[0][0]
    name = names[offset]
    # The tz database names many zones by their offset ("-03"): say UTC-03 rather than a bare -03.
    abbreviation = name if name[:1].isalpha() else f"UTC{name}"
    return _LocalClock(time_zone=tz, offset=offset, abbreviation=abbreviation, offset_changes=len(offsets) > 1)


def _hour_of_day_intensity(
    organization: Organization, zone: str, annual_g_per_kwh: float, period: Period, clock: _LocalClock
) -> tuple[list[float], str, float]:
    """Mean intensity (gCO2e/kWh) per local hour of day 0–23 of the zone, the source's name and the days of
    hourly data in the period (distinct hours ÷ 24).

    From hourly data, each value at the local hour its UTC hour falls in (daylight saving time included),
    when every local hour has ``MIN_HOURLY_VALUES_PER_LOCAL_HOUR`` values; else the annual factor ×
    ``DAILY_PROFILE`` read at local hours, since the profile is the shape of a day's demand.
    """
    first, end = period_bounds_utc(period)
    # One value per hour (the organization's own before a shipped one), summed at the local hour it falls in.
    hours = (
        HourlyIntensity.objects.visible_to(organization)
        .filter(zone__code=zone, hour_start__gte=first, hour_start__lt=end)
        .by_hour("intensity_g_per_kwh")
    )
    sums: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for (_zone, hour_start), (intensity,) in hours.items():
        local_hour = hour_start.astimezone(clock.time_zone or UTC).hour
        sums[local_hour] += intensity
        counts[local_hour] += 1
    means = {hour: sums[hour] / counts[hour] for hour in counts}
    days = sum(counts.values()) / 24
    if all(counts.get(hour, 0) >= MIN_HOURLY_VALUES_PER_LOCAL_HOUR for hour in range(24)):
        return [means[hour] for hour in range(24)], f"hourly data, {days:.0f} days", days
    if not counts:
        shortfall = "no hourly data"
    else:
        # Rounded down, so 167 hours never read as the 7.0 days they fall short of.
        shortfall = (
            f"{math.floor(days * 10) / 10:.1f} days of hourly data, under {MIN_HOURLY_VALUES_PER_LOCAL_HOUR} "
            "values for some local hour of day"
        )
    return [annual_g_per_kwh * weight for weight in DAILY_PROFILE], f"annual factor × daily profile; {shortfall}", days


def whatif_recommendation(*, organization: Organization, project: Project, period: Period, window_h: int = 4):
    """Where and when the project's next training run would emit least, vs its average so far.

    Candidates: the grid zones of the organization's sites, of the cloud regions its runs used and of its
    off-site runs. Each zone's day is read in its local time (``emissions/zone_time_zones.py``) and the
    ``window_h``-hour window of lowest mean intensity wins.
    Returns None without runs or candidates; else ``zone``; ``time_zone`` (IANA name, ``UTC`` for a zone
    without one on file); the window as local hours ``start_hour_local``/``end_hour_local`` and as
    ``start_local``/``end_local`` (``HH:MM``, minutes past the hour where the zone's offset is not whole
    hours, as in India); ``start_hour``/``end_hour``, the same window in UTC hours at the offset the zone keeps
    on most days of the period; ``intensity_g_per_kwh``, ``baseline_g_per_kwh``, ``change_pct``, ``source``,
    ``hourly_days`` (days of hourly data of the zone in the period) and ``text``.
    """
    runs = project_runs(organization, project, period)
    figures = run_ledger_figures(run_ids=[run.pk for run in runs])
    energy_kwh = sum(f["energy_kwh"] for f in figures.values())
    if not energy_kwh:
        return None
    baseline = G_PER_KG * sum(f["kg_co2e"] for f in figures.values()) / energy_kwh
    zones = set(Site.objects.for_org(organization).values_list("zone__code", flat=True))
    runs_in = Run.objects.for_org(organization)
    zones |= set(runs_in.filter(cloud_region__zone__isnull=False).values_list("cloud_region__zone__code", flat=True))
    zones |= set(runs_in.filter(grid_zone__isnull=False).values_list("grid_zone__code", flat=True))
    book, best = FactorBook(organization), None
    for zone in sorted(zones):
        factor = book.location(zone=zone, year=period.end.year)
        if factor is None:
            continue
        clock = _local_clock(zone, period)
        by_hour, source, days = _hour_of_day_intensity(organization, zone, factor.value, period, clock)
        for start in range(24):
            mean = sum(by_hour[(start + offset) % 24] for offset in range(window_h)) / window_h
            if best is None or mean < best[0] - 1e-9:
                best = (mean, zone, start, clock, source, days)
    if best is None:
        return None
    mean, zone, start_local, clock, source, days = best
    end_local = (start_local + window_h) % 24
    # The local slot's start (minutes past local midnight) minus the offset is a whole UTC hour: UTC hours
    # start phase_minutes past each local hour.
    start_utc = (start_local * 60 + clock.phase_minutes - clock.offset_minutes) // 60 % 24
    end_utc = (start_utc + window_h) % 24
    change_pct = 100.0 * (mean - baseline) / baseline if baseline else None
    change = f": {change_pct:+.0f}%".replace("-", "−") if change_pct is not None else ""
    advice = {
        "zone": zone,
        "time_zone": clock.time_zone.key if clock.time_zone else "UTC",
        "start_hour_local": start_local,
        "end_hour_local": end_local,
        "start_local": f"{start_local:02d}:{clock.phase_minutes:02d}",
        "end_local": f"{end_local:02d}:{clock.phase_minutes:02d}",
        "start_hour": start_utc,
        "end_hour": end_utc,
        "intensity_g_per_kwh": mean,
        "baseline_g_per_kwh": baseline,
        "change_pct": change_pct,
        "source": source,
        "hourly_days": days,
    }
    if clock.time_zone is None:
        when = f"between {start_utc:02d}:00 and {end_utc:02d}:00 UTC (no local time zone on file for {zone})"
    else:
        # The abbreviation only when the offset changed in the period: the UTC hours then move with DST.
        season = f" in {clock.abbreviation}" if clock.offset_changes else ""
        when = (
            f"between {advice['start_local']} and {advice['end_local']} {advice['time_zone']} "
            f"({start_utc:02d}:00–{end_utc:02d}:00 UTC{season})"
        )
    advice["text"] = f"Run in {zone} {when}{change} vs this project's average of {baseline:.0f} gCO2e/kWh ({source})"
    return advice


# Cloud regions that are not a place to move work to: pre-release rings, aliases and averages.
_NOT_A_TARGET = re.compile(r"\((stage|early-access)\)|^legacy name|^fallback", re.IGNORECASE)
_STAGE_REGION = re.compile(r"(stage|euap)$", re.IGNORECASE)


def _zones_with_factor(organization: Organization) -> set[int]:
    """Ids of the grid zones a location-based (or lifecycle) factor visible to the organization exists for:
    the only zones a replay can price."""
    kinds = (FactorKind.LOCATION, FactorKind.LIFECYCLE)
    factors = GridFactor.objects.visible_to(organization).filter(kind__in=kinds)
    return set(factors.values_list("zone_id", flat=True).distinct())


def zone_choices(*, organization: Organization) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grid zones with a location-based (or lifecycle) factor visible to the organization, named and grouped:
    a country with sub-national zones is a group of its own (``("Canada", [("CA", "Canada (CA)"),
    ("CA-QC", "Quebec (CA-QC)"), ...])``, the country first), every other zone is in "Other countries and
    grids", by name."""
    with_factor = _zones_with_factor(organization)
    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in GridZone.objects.filter(pk__in=with_factor).select_related("parent"):
        country = zone.parent or zone
        groups.setdefault(country.name or country.code, []).append(
            (zone.code, f"{zone.name or zone.code} ({zone.code})")
        )
    single = [option for options in groups.values() if len(options) == 1 for option in options]
    others = sorted(single, key=lambda option: option[1].casefold())
    countries = [
        (name, sorted(options, key=lambda option: ("-" in option[0], option[1].casefold())))
        for name, options in sorted(groups.items(), key=lambda item: item[0].casefold())
        if len(options) > 1
    ]
    return [*countries, *([("Other countries and grids", others)] if others else [])]


def _cloud_region_choices(with_factor: set[int]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Cloud regions a replay can price (the zone has a factor, or the region its own published figure), grouped
    by provider and named by place: "Montreal, Quebec, Canada (northamerica-northeast1)". Pre-release (stage,
    early-access) regions, legacy aliases and provider averages are left out."""
    newest: dict[tuple[str, str], CloudRegion] = {}
    for region in CloudRegion.objects.order_by("pk"):
        newest[(region.provider, region.region)] = region  # the row region_target() picks: the newest
    providers = dict(CloudProvider.choices)
    groups: dict[str, list[tuple[str, str]]] = {}
    for (provider, name), region in newest.items():
        if _NOT_A_TARGET.search(region.location) or _STAGE_REGION.search(name) or name.lower() == "unknown":
            continue
        if region.zone_id not in with_factor and region.intensity_g_per_kwh is None:
            continue
        place = region.location or name
        groups.setdefault(provider, []).append((f"cloud:{provider}:{name}", f"{place} ({name})"))
    return [
        (f"{providers.get(provider, provider)} regions", sorted(options, key=lambda item: item[1].casefold()))
        for provider, options in sorted(groups.items())
    ]


def region_target_choices(*, organization: Organization) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for the region scenario, each one a replay can price: the organization's sites, cloud
    regions by provider, then grid zones (``zone_choices``)."""
    with_factor = _zones_with_factor(organization)
    sites = Site.objects.for_org(organization).select_related("zone").order_by("name")
    site_options = [
        (f"site:{site.slug}", f"{site.name} ({site.zone.code})") for site in sites if site.zone_id in with_factor
    ]
    return [
        *([("Your sites", site_options)] if site_options else []),
        *_cloud_region_choices(with_factor),
        *((f"Grid zones: {group}", options) for group, options in zone_choices(organization=organization)),
    ]
