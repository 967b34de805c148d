"""Hourly-matched Scope 2: the market-based method of the GHG Protocol's Scope 2 revision, and a 24/7 score.

Pure arithmetic on plain values (no ORM): the services read meters, certificates and factors and call these.
The rules (docs/methodology.md, "Hourly-matched Scope 2"), as the public consultation draft of October 2025
proposes them:

- **Hourly matching.** A certificate covers consumption only in the hour it was generated in. What it
  generated beyond that hour's load is surplus: never carried to another hour, never banked.
- **Deliverability.** A certificate counts only inside the consuming site's market boundary (the bidding
  zone or grid the electricity can be delivered across); one from another boundary never matches.
- **Remainder.** The hour's load no certificate covers is valued at the hour's residual mix, or at its
  location-based factor where no residual mix exists (flagged: the revision asks for a residual or a
  fossil factor, so such a figure is provisional).
- **Load profiles.** Where a site has no hourly meter data for a period, its metered kWh of the period are
  spread over the hours by a documented shape (``LOAD_PROFILES``) and the hours are flagged as profiled.
- **24/7 carbon-free energy (CFE).** Per hour, the carbon-free supply is the carbon-free certificates
  matched plus the grid's own carbon-free share of the rest of the load, capped at the load; the score is
  Σ carbon-free kWh ÷ Σ load kWh over the hours (Google's 24/7 CFE definition, also used by the UN 24/7
  Carbon-Free Energy Compact).

Energies in kWh, factors in gCO2e/kWh, emissions in kgCO2e, shares 0–1, hours as timezone-aware datetimes
of the hour's start (UTC in the callers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from emissions.units import G_PER_KG

HOUR = timedelta(hours=1)

# Relative weight of each local hour of the day, by shape: a weekday row and a weekend row of 24 values.
# "flat": a machine room or data centre, the same every hour. "office": working hours on weekdays
# (08:00–18:00 at 3× the night's load, the night and weekends at the base load of equipment left on).
LOAD_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "flat": ((1.0,) * 24, (1.0,) * 24),
    "office": ((1.0,) * 8 + (3.0,) * 10 + (1.0,) * 6, (1.0,) * 24),
}


@dataclass(frozen=True)
class HourlyCertificate:
    """A granular certificate: ``energy_kwh`` generated in the hour starting ``hour_start`` inside
    ``market_boundary``, at ``emission_factor_g_per_kwh`` (0 for wind, solar, hydro, nuclear)."""

    certificate_id: str
    hour_start: datetime
    energy_kwh: float
    market_boundary: str
    emission_factor_g_per_kwh: float = 0.0
    carbon_free: bool = True


@dataclass(frozen=True)
class HourFactors:
    """The grid of one hour: location-based and residual-mix factors (gCO2e/kWh; residual None when the
    zone publishes none) and the carbon-free share of its generation (0–1)."""

    location_g_per_kwh: float
    residual_g_per_kwh: float | None
    grid_carbon_free_share: float


@dataclass(frozen=True)
class HourResult:
    """One hour of one site: its load, what certificates matched, the remainder and its valuation."""

    hour_start: datetime
    load_kwh: float
    matched_kwh: float
    matched_carbon_free_kwh: float
    uncovered_kwh: float
    surplus_kwh: float
    market_kg_co2e: float
    location_kg_co2e: float
    carbon_free_kwh: float
    remainder_at_location: bool
    profiled: bool

    @property
    def carbon_free_share(self) -> float | None:
        """The hour's 24/7 share (0–1), None for an hour without load."""
        return self.carbon_free_kwh / self.load_kwh if self.load_kwh else None


@dataclass
class HourlyMatching:
    """The hourly calculation of a site (or several added): hours in order, totals and what was left out."""

    hours: list[HourResult] = field(default_factory=list)
    # Certificates from another market boundary (never matched) and their kWh, by boundary.
    other_boundary_kwh: dict[str, float] = field(default_factory=dict)

    @property
    def load_kwh(self) -> float:
        return sum(hour.load_kwh for hour in self.hours)

    @property
    def matched_kwh(self) -> float:
        return sum(hour.matched_kwh for hour in self.hours)

    @property
    def surplus_kwh(self) -> float:
        return sum(hour.surplus_kwh for hour in self.hours)

    @property
    def market_kg_co2e(self) -> float:
        return sum(hour.market_kg_co2e for hour in self.hours)

    @property
    def location_kg_co2e(self) -> float:
        return sum(hour.location_kg_co2e for hour in self.hours)

    @property
    def carbon_free_kwh(self) -> float:
        return sum(hour.carbon_free_kwh for hour in self.hours)

    @property
    def cfe_score(self) -> float | None:
        """Σ carbon-free kWh ÷ Σ load kWh (0–1); None without load."""
        load = self.load_kwh
        return self.carbon_free_kwh / load if load else None

    @property
    def hours_at_location(self) -> int:
        """Hours whose remainder was valued at the location factor (no residual mix): a flagged figure."""
        return sum(1 for hour in self.hours if hour.remainder_at_location and hour.uncovered_kwh)

    @property
    def profiled_hours(self) -> int:
        return sum(1 for hour in self.hours if hour.profiled)


def hourly_match(
    *,
    load_kwh_by_hour: Mapping[datetime, float],
    market_boundary: str,
    certificates: Iterable[HourlyCertificate],
    factors_by_hour: Mapping[datetime, HourFactors],
    profiled_hours: frozenset[datetime] = frozenset(),
) -> HourlyMatching:
    """Match one site's hourly load with the certificates of its market boundary, hour by hour.

    Within an hour the lowest-emitting certificates are used first (ties by id, so the result is
    reproducible). Every hour with load needs its ``factors_by_hour`` entry (KeyError naming the first
    missing hour otherwise: a figure is never computed from a silently missing factor).
    """
    by_hour: dict[datetime, list[HourlyCertificate]] = defaultdict(list)
    other_boundary: dict[str, float] = defaultdict(float)
    for certificate in certificates:
        if certificate.market_boundary != market_boundary:
            other_boundary[certificate.market_boundary] += certificate.energy_kwh
        else:
            by_hour[certificate.hour_start].append(certificate)
    missing = sorted(hour for hour, kwh in load_kwh_by_hour.items() if kwh and hour not in factors_by_hour)
    if missing:
        raise KeyError(f"no grid factors for {len(missing)} hour(s) with load, first {missing[0].isoformat()}")
    result = HourlyMatching(other_boundary_kwh=dict(other_boundary))
    for hour in sorted(set(load_kwh_by_hour) | set(by_hour)):
        load = max(load_kwh_by_hour.get(hour, 0.0), 0.0)
        result.hours.append(_hour(hour, load, by_hour.get(hour, []), factors_by_hour.get(hour), hour in profiled_hours))
    return result


def _hour(
    hour: datetime,
    load_kwh: float,
    certificates: list[HourlyCertificate],
    factors: HourFactors | None,
    profiled: bool,
) -> HourResult:
    remaining, market_g, matched_cfe = load_kwh, 0.0, 0.0
    supplied = sum(c.energy_kwh for c in certificates)
    for certificate in sorted(certificates, key=lambda c: (c.emission_factor_g_per_kwh, c.certificate_id)):
        used = min(remaining, certificate.energy_kwh)
        remaining -= used
        market_g += used * certificate.emission_factor_g_per_kwh
        matched_cfe += used if certificate.carbon_free else 0.0
    matched = load_kwh - remaining
    at_location = factors is not None and factors.residual_g_per_kwh is None
    location_kg = carbon_free = 0.0
    if factors is not None:
        remainder_factor = factors.location_g_per_kwh if at_location else factors.residual_g_per_kwh
        market_g += remaining * (remainder_factor or 0.0)
        location_kg = load_kwh * factors.location_g_per_kwh / G_PER_KG
        carbon_free = min(load_kwh, matched_cfe + factors.grid_carbon_free_share * remaining)
    return HourResult(
        hour_start=hour,
        load_kwh=load_kwh,
        matched_kwh=matched,
        matched_carbon_free_kwh=matched_cfe,
        uncovered_kwh=remaining,
        surplus_kwh=supplied - matched,
        market_kg_co2e=market_g / G_PER_KG,
        location_kg_co2e=location_kg,
        carbon_free_kwh=carbon_free,
        remainder_at_location=at_location,
        profiled=profiled,
    )


def profile_load(
    *, energy_kwh: float, start: datetime, end: datetime, profile: str, local_time: tzinfo
) -> dict[datetime, float]:
    """``energy_kwh`` metered over [start, end) spread over its hours by the ``LOAD_PROFILES`` shape, read in
    the site's ``local_time`` (weekday or weekend row, local hour of day); the hours sum to ``energy_kwh``.

    ``start`` and ``end`` must be aware and on whole hours; ValueError for an unknown profile or an empty span.
    """
    if profile not in LOAD_PROFILES:
        raise ValueError(f"unknown load profile {profile!r}: one of {', '.join(sorted(LOAD_PROFILES))}")
    weekday_row, weekend_row = LOAD_PROFILES[profile]
    weights: dict[datetime, float] = {}
    hour = start
    while hour < end:
        local = hour.astimezone(local_time)
        weights[hour] = (weekend_row if local.weekday() >= 5 else weekday_row)[local.hour]
        hour += HOUR
    total = sum(weights.values())
    if not total:
        raise ValueError(f"no hours between {start.isoformat()} and {end.isoformat()}")
    return {hour: energy_kwh * weight / total for hour, weight in weights.items()}


def spread_over_hours(
    intervals: list[tuple[datetime, datetime, float]], *, scale_to_kwh: float
) -> dict[datetime, float]:
    """Energy of time intervals ``(start, end, kWh)`` spread over the UTC hours they overlap, each in proportion
    to its time in the hour, then scaled so the hours sum to ``scale_to_kwh`` (a run's samples give the shape,
    the run's own total the amount). An interval of no length puts its kWh in its hour. Empty when there is no
    energy to shape by."""
    hours: dict[datetime, float] = {}
    for start, end, kwh in intervals:
        if end <= start:
            hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            hours[hour] = hours.get(hour, 0.0) + kwh
            continue
        length_s = (end - start).total_seconds()
        hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour < end:
            overlap_s = (min(end, hour + HOUR) - max(start, hour)).total_seconds()
            if overlap_s > 0:
                hours[hour] = hours.get(hour, 0.0) + kwh * overlap_s / length_s
            hour += HOUR
    total = sum(hours.values())
    if not total:
        return {}
    return {hour: kwh * scale_to_kwh / total for hour, kwh in hours.items()}


def annual_match_market_kg(
    *, load_kwh: float, certificates_kwh: float, certificate_g_per_kwh: float, residual_g_per_kwh: float
) -> float:
    """The 2015 method's market-based kgCO2e for comparison: certificates of the year cover the year's load
    whatever the hour (volume matching), the rest at the residual mix."""
    covered = min(load_kwh, certificates_kwh)
    return (covered * certificate_g_per_kwh + (load_kwh - covered) * residual_g_per_kwh) / G_PER_KG
