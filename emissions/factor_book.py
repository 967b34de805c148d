"""Factor resolution for one organization: which grid factor, fuel factor or GWP applies, and why.

Loaded once per calculation (a few hundred rows), then resolved in memory. Precedence, documented
in docs/methodology.md:
1. the organization's own factors over shipped datasets (overrides win and are flagged);
2. the most precise period: hourly (where loaded) › monthly › yearly of the same year › the
   nearest earlier year › the nearest later year (a year mismatch is flagged); of hourly intensities, only
   shipped datasets and the organization's own are read (``HourlyIntensity.objects.visible_to``), and where
   both hold an hour the organization's own value is used (``by_hour``);
3. the zone itself, else its parent (``US-VA`` → ``US``, flagged);
4. for location-based Scope 2, a direct factor; a lifecycle factor only where no direct factor
   exists (flagged: it includes upstream emissions and lowers the quality of the figure).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from emissions.choices import FactorKind
from emissions.models import (
    DisposalFactor,
    FuelFactor,
    GlobalWarmingPotential,
    GridFactor,
    GridZone,
    HourlyIntensity,
    Organization,
)


@dataclass(frozen=True)
class ResolvedFactor:
    """A factor chosen for a use, with enough provenance to audit it."""

    value: float
    unit: str
    factor_id: int | None
    kind: str
    zone: str
    period: str
    dataset: str
    flags: tuple[str, ...] = ()

    def as_provenance(self) -> dict:
        """The JSON stored on EmissionRecord.factors."""
        return {
            "id": self.factor_id,
            "value": self.value,
            "unit": self.unit,
            "kind": self.kind,
            "zone": self.zone,
            "period": self.period,
            "dataset": self.dataset,
            "flags": list(self.flags),
        }


class FactorBook:
    """All factors visible to one organization, resolved in memory."""

    def __init__(self, organization: Organization):
        self.organization = organization
        self._grid: dict[tuple[str, str], list[GridFactor]] = defaultdict(list)
        for factor in GridFactor.objects.visible_to(organization).select_related("zone", "dataset"):
            self._grid[(factor.zone.code, factor.kind)].append(factor)
        self._parents = dict(GridZone.objects.filter(parent__isnull=False).values_list("code", "parent__code"))
        self._fuels = {
            (f.fuel.lower(), f.unit.lower()): f for f in FuelFactor.objects.select_related("dataset").order_by("id")
        }
        self._gwps = {g.gas.lower(): g for g in GlobalWarmingPotential.objects.select_related("dataset").order_by("id")}
        self._disposal = {}
        for factor in DisposalFactor.objects.visible_to(organization).select_related("dataset").order_by("id"):
            key = (factor.asset_class, factor.disposal_route)
            if key not in self._disposal or factor.organization_id is not None:
                self._disposal[key] = factor
        self._hourly = HourlyIntensity.objects.visible_to(organization)
        self._hourly_zones = set(self._hourly.order_by().values_list("zone__code", flat=True).distinct())

    # --- grid factors ---------------------------------------------------------------------------

    def grid(self, *, zone: str, kind: str, year: int, month: int | None = None) -> ResolvedFactor | None:
        """The best factor of ``kind`` for the zone and period, following the precedence above."""
        flags: list[str] = []
        candidates = self._grid.get((zone, kind), [])
        used_zone = zone
        if not candidates and zone in self._parents:
            used_zone = self._parents[zone]
            candidates = self._grid.get((used_zone, kind), [])
            flags.append("parent_zone")
        if not candidates:
            return None
        factor = min(candidates, key=lambda f: self._rank(f, year, month))
        if factor.year != year:
            flags.append("year_mismatch")
        if factor.organization_id is not None:
            flags.append("organization_override")
        period = f"{factor.year}-{factor.month:02d}" if factor.month else str(factor.year)
        return ResolvedFactor(
            value=factor.intensity_g_per_kwh,
            unit="gCO2e/kWh",
            factor_id=factor.pk,
            kind=kind,
            zone=used_zone,
            period=period,
            dataset=str(factor.dataset),
            flags=tuple(flags),
        )

    @staticmethod
    def _rank(factor: GridFactor, year: int, month: int | None) -> tuple:
        override = 0 if factor.organization_id is not None else 1
        if factor.year == year:
            precision = 0 if (month is not None and factor.month == month) else 1 if factor.month is None else 3
            return (0, override, precision, 0)
        # Another year: the nearest earlier year first, then the nearest later one; yearly before monthly.
        distance = (year - factor.year) if factor.year < year else 1000 + factor.year - year
        return (1, override, 1 if factor.month is None else 3, distance)

    def location(self, *, zone: str, year: int, month: int | None = None) -> ResolvedFactor | None:
        """Location-based factor: direct where known, else lifecycle (flagged)."""
        direct = self.grid(zone=zone, kind=FactorKind.LOCATION, year=year, month=month)
        if direct is not None and "parent_zone" not in direct.flags:
            return direct
        lifecycle = self.grid(zone=zone, kind=FactorKind.LIFECYCLE, year=year, month=month)
        if lifecycle is not None and "parent_zone" not in lifecycle.flags:
            return _flagged(lifecycle, "lifecycle_factor")
        if direct is not None:
            return direct
        return _flagged(lifecycle, "lifecycle_factor") if lifecycle is not None else None

    def best_location(self, *, zone: str, start: date, end: date) -> ResolvedFactor | None:
        """The location factor for whole days ``start``..``end`` by the documented precedence: the organization's
        own factor › hourly mean › monthly › yearly (shipped)."""
        factor = self.location(zone=zone, year=start.year, month=start.month)
        if factor is not None and "organization_override" in factor.flags:
            return factor
        hourly = self.hourly_mean(zone=zone, start=start, end=end)
        return hourly if hourly is not None else factor

    def hourly_mean(self, *, zone: str, start: date, end: date) -> ResolvedFactor | None:
        """Mean hourly intensity over whole days ``start``..``end`` when every hour is loaded, else None.

        A flat load profile over the block is assumed (documented): metered blocks have no hourly profile.
        """
        if zone not in self._hourly_zones:
            return None
        first = datetime(start.year, start.month, start.day, tzinfo=UTC)
        hours = (end - start + timedelta(days=1)).days * 24
        # One value per hour, the organization's own before a shipped dataset's (``by_hour``).
        values = self._hourly.filter(
            zone__code=zone, hour_start__gte=first, hour_start__lt=first + timedelta(hours=hours)
        ).by_hour("intensity_g_per_kwh", "dataset__name", "dataset__version")
        if len(values) < hours:
            return None
        return ResolvedFactor(
            value=sum(value for value, _, _ in values.values()) / len(values),
            unit="gCO2e/kWh",
            factor_id=None,
            kind="hourly_mean",
            zone=zone,
            period=f"{start}..{end}",
            dataset=_hourly_datasets(values.values()),
        )

    def hourly_over(self, *, zone: str, start_at: datetime, end_at: datetime) -> ResolvedFactor | None:
        """Mean hourly intensity over ``start_at``..``end_at`` (a run's own hours), each hour weighted by the time
        the run spent in it, when every hour it touches is loaded; else None. The run's power is taken flat over
        its time (its samples' profile is not used): the hours it ran, not the day's average, price its energy."""
        if zone not in self._hourly_zones or end_at <= start_at:
            return None
        first = start_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        # One value per hour, the organization's own before a shipped dataset's (``by_hour``).
        values = self._hourly.filter(zone__code=zone, hour_start__gte=first, hour_start__lt=end_at).by_hour(
            "intensity_g_per_kwh", "dataset__name", "dataset__version"
        )
        by_hour = {hour_start: row for (_, hour_start), row in values.items()}
        weighted, hour, total_s = 0.0, first, (end_at - start_at).total_seconds()
        while hour < end_at:
            if hour not in by_hour:
                return None
            overlap_s = (min(end_at, hour + timedelta(hours=1)) - max(start_at, hour)).total_seconds()
            weighted += by_hour[hour][0] * overlap_s / total_s
            hour += timedelta(hours=1)
        return ResolvedFactor(
            value=weighted,
            unit="gCO2e/kWh",
            factor_id=None,
            kind="hourly_run",
            zone=zone,
            period=f"{start_at.astimezone(UTC):%Y-%m-%dT%H:%M}Z..{end_at.astimezone(UTC):%Y-%m-%dT%H:%M}Z",
            dataset=_hourly_datasets(by_hour.values()),
        )

    # --- other factors -------------------------------------------------------------------------

    def fuel(self, *, fuel: str, unit: str) -> ResolvedFactor | None:
        """Stationary-combustion factor for the fuel in the given unit (kgCO2e per unit)."""
        factor = self._fuels.get((fuel.lower(), unit.lower()))
        return factor and _catalogue_factor(factor, factor.kg_co2e_per_unit, f"kgCO2e/{factor.unit}", "fuel")

    def gwp(self, *, gas: str) -> ResolvedFactor | None:
        """AR6 GWP100 of a gas or blend (kgCO2e per kg)."""
        factor = self._gwps.get(gas.lower())
        return factor and _catalogue_factor(factor, factor.gwp100, "kgCO2e/kg", "gwp100")

    def disposal(self, *, asset_class: str, disposal_route: str) -> ResolvedFactor | None:
        """End-of-life factor per unit of an asset class by route; the organization's own wins."""
        factor = self._disposal.get((asset_class, disposal_route))
        return factor and _catalogue_factor(factor, factor.kg_co2e_per_unit, "kgCO2e/unit", "disposal")


def _catalogue_factor(factor, value: float, unit: str, kind: str) -> ResolvedFactor:
    """A zone-less factor row (fuel, GWP, disposal) with its provenance."""
    override = ("organization_override",) if getattr(factor, "organization_id", None) else ()
    return ResolvedFactor(
        value=value,
        unit=unit,
        factor_id=factor.pk,
        kind=kind,
        zone="",
        period="",
        dataset=str(factor.dataset),
        flags=override,
    )


def _hourly_datasets(rows) -> str:
    """The datasets the hourly values came from, ``name version`` each, sorted: ``(value, name, version)`` rows."""
    return "; ".join(sorted({f"{name} {version}" for _, name, version in rows}))


def _flagged(factor: ResolvedFactor, flag: str) -> ResolvedFactor:
    return ResolvedFactor(**{**factor.__dict__, "flags": (*factor.flags, flag)})
