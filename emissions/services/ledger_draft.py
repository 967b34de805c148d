"""What the ledger builder's collaborators share (emissions/services/ledger.py): the draft of one calculation that
each of them writes its records and data gaps to, and the location factors they read.

Each collaborator (ledger_electricity.py, ledger_cloud.py, ledger_provider.py, ledger_offsite.py,
ledger_scope1.py, ledger_embodied.py) receives in its constructor the draft and whatever else it reads; nothing
else passes between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NotRequired, TypedDict

from emissions import calculations as calc
from emissions.choices import ActivityKind, Basis, Scope
from emissions.factor_book import FactorBook, ResolvedFactor
from emissions.models import Calculation, EmissionRecord, Organization, Run, Site
from emissions.periods import Period, month_end
from emissions.services.bulk_copy import copy_insert

# Records built before they are inserted (copy_insert): enough for one COPY to pay off, few enough for flat memory.
RECORDS_IN_MEMORY = 10_000

# Whom a record without a run counts for (budgets, leaderboards): ``team_id`` and/or ``project_id``.
Owner = dict[str, int | None]


class ActivityFields(TypedDict):
    """What every record of one run, block or activity shares (``LedgerDraft.add(**common)``)."""

    activity_kind: str
    activity_id: int | None
    run: Run | None
    start: date
    end: date
    site: NotRequired[Site | None]


class CloudFields(TypedDict):
    """What every cloud record of one month shares (``cloud_common``)."""

    scope: int
    category: int
    subcategory: str
    activity_kind: str
    start: date
    end: date


@dataclass
class LedgerDraft:
    """One calculation being built: its records in the order they are written, its data gaps (plain and sized)
    and the fleet's embodied roll-forward."""

    organization: Organization
    calculation: Calculation
    period: Period
    methodology_version: str
    records: list[EmissionRecord] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    roll_forward: dict[str, Any] = field(default_factory=dict)
    # kWh valued at the grid average for want of a residual mix, by zone: sites and own-equipment off-site
    # runs alike, disclosed once for the whole calculation (sized_gaps).
    grid_average_kwh: dict[str, float] = field(default_factory=dict)
    # What each missing factor leaves out (kWh, litres, kg), summed over the calculation per gap and
    # subject (zone, fuel, gas): one line per missing factor however many blocks it touches.
    gap_sizes: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)

    # --- record construction ---------------------------------------------------------------------

    def add(
        self,
        *,
        scope: int,
        activity_kind: str,
        start: date,
        end: date,
        location_kg: float,
        market_kg: float | None = None,
        quality: str,
        factors: dict[str, Any],
        category: int | None = None,
        subcategory: str = "",
        basis: str = Basis.OPERATIONAL,
        activity_id: int | None = None,
        run: Run | None = None,
        site: Site | None = None,
        energy_kwh: float | None = None,
        low_high: tuple[float, float] | None = None,
        flags: list[str] | None = None,
        owner: Owner | None = None,
    ) -> None:
        """Append one record: its days clipped to the period, market-based equal to location-based and the range
        from the quality tier unless given, team and project from the run, else from ``owner``."""
        low, high = low_high or calc.uncertainty_range_kg(emissions_kg_co2e=location_kg, quality=quality)
        project = run.project if run is not None else None
        datasets = sorted({f["dataset"] for f in factors.values() if isinstance(f, dict) and f.get("dataset")})
        self.records.append(
            EmissionRecord(
                organization=self.organization,
                calculation=self.calculation,
                scope=scope,
                scope3_category=category,
                scope3_subcategory=subcategory,
                basis=basis,
                activity_kind=activity_kind,
                activity_id=activity_id,
                run=run,
                project_id=project.pk if project is not None else (owner or {}).get("project_id"),
                team_id=project.team_id if project is not None else (owner or {}).get("team_id"),
                site=site,
                period_start=max(start, self.period.start),
                period_end=min(end, self.period.end),
                energy_kwh=energy_kwh,
                emissions_kg_co2e_location=location_kg,
                emissions_kg_co2e_market=location_kg if market_kg is None else market_kg,
                emissions_low_kg_co2e=min(low, location_kg),
                emissions_high_kg_co2e=max(high, location_kg),
                quality=quality,
                factors=factors,
                factor_dataset_version="; ".join(datasets),
                methodology_version=self.methodology_version,
                flags=sorted(set(flags or [])),
            )
        )
        if len(self.records) >= RECORDS_IN_MEMORY:
            self.flush()

    def flush(self) -> None:
        """Insert the records built so far: a calculation of a million billing groups or runs never holds
        all its records in memory (they keep their order)."""
        copy_insert(EmissionRecord, self.records)
        self.records.clear()

    # --- data gaps with their size -----------------------------------------------------------------

    def gap(self, kind: str, quantity: float, **subject: str) -> None:
        """Count ``quantity`` (kWh, litres, kg: as ``SIZED_GAPS[kind]`` says) toward the gap ``kind`` of
        ``subject`` (its zone, fuel or gas)."""
        key = (kind, tuple(sorted(subject.items())))
        self.gap_sizes[key] = self.gap_sizes.get(key, 0.0) + quantity

    def grid_average_used(self, zone: str, energy_kwh: float) -> None:
        """Count market-based kWh valued at the zone's grid average (no residual mix) toward its gap."""
        self.grid_average_kwh[zone] = self.grid_average_kwh.get(zone, 0.0) + energy_kwh

    def sized_gaps(self) -> list[str]:
        """The calculation's gaps that carry a size: each missing factor with what it left out, and the kWh
        valued at the grid average with their zones (the last step of the Scope 2 Guidance's Table 6.3
        hierarchy, after the residual mix: disclosed with its size)."""
        sizes = self.gap_sizes.items()
        gaps = [SIZED_GAPS[kind].format(quantity=size, **dict(names)) for (kind, names), size in sizes]
        if self.grid_average_kwh:
            zones = ", ".join(f"{zone} ({kwh:,.1f} kWh)" for zone, kwh in sorted(self.grid_average_kwh.items()))
            gaps.append(
                f"market-based: {sum(self.grid_average_kwh.values()):,.1f} kWh not covered by instruments valued at "
                f"the grid average, in zone(s) {zones}: no residual mix is loaded (Scope 2 Guidance 6.11)"
            )
        return gaps


class LocationFactors:
    """Location-based grid factors of blocks and run parts, each block's resolved once per calculation."""

    def __init__(self, book: FactorBook) -> None:
        self._book = book
        self._cache: dict[tuple[str, date, date], ResolvedFactor | None] = {}

    def block(self, zone: str, start: date, end: date) -> ResolvedFactor | None:
        """Most precise location factor for a block: hourly mean › monthly › yearly. None is a gap the caller
        sizes (``LedgerDraft.gap("no_location_factor", ...)``): only it knows the kWh left out."""
        key = (zone, start, end)
        if key not in self._cache:
            self._cache[key] = self._book.best_location(zone=zone, start=start, end=end)
        return self._cache[key]

    def run(self, zone: str, run: Run, start: date, end: date) -> ResolvedFactor | None:
        """The location factor of a run's part ``start``..``end`` (days): the organization's own factor, else the
        mean of the hourly intensities over the hours the run ran in those days when all are loaded, else the
        block's (hourly mean of the month › monthly › yearly). The documented precedence, to the hour."""
        factor = self.block(zone, start.replace(day=1), month_end(start))
        if factor is not None and "organization_override" in factor.flags:
            return factor
        run_start = run.started_at
        run_end = run.ended_at or run_start + timedelta(seconds=run.duration_s)
        window_start, window_end = datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)
        hourly = self._book.hourly_over(
            zone=zone,
            start_at=max(run_start, window_start),
            end_at=min(run_end, window_end + timedelta(days=1)),
        )
        return hourly or factor


# Gaps sized by what they leave out (``LedgerDraft.gap``), by kind; ``quantity`` is summed per zone, fuel or gas.
SIZED_GAPS = {
    "no_location_factor": (
        "no location-based grid factor for zone {zone}: {quantity:,.1f} kWh of electricity not in the ledger"
    ),
    "no_upstream_factor": "no upstream (Cat 3b) factor for zone {zone}: upstream of {quantity:,.1f} kWh not computed",
    "no_td_loss_factor": "no T&D loss (Cat 3c) factor for zone {zone}: losses on {quantity:,.1f} kWh not computed",
    "lifecycle_below_direct": (
        "Cat 3b for zone {zone}: lifecycle factor {lifecycle} < direct {direct} gCO2e/kWh; upstream of "
        "{quantity:,.1f} kWh counted as 0"
    ),
    "no_fuel_factor": "no combustion factor for {fuel} per {unit}: {quantity:,.2f} {unit} not in the ledger",
    "no_well_to_tank_factor": (
        "no well-to-tank (Cat 3a) factor for {fuel} per {unit}: upstream of {quantity:,.2f} {unit} not computed"
    ),
    "no_gwp": "no GWP for gas {gas}: {quantity:,.2f} kg leaked not in the ledger",
    "no_cloud_region_factor": (
        "no grid factor for cloud region {region}: {quantity:,.1f} kWh of cloud electricity not in the ledger"
    ),
}


def cloud_common(month: date) -> CloudFields:
    """What every cloud record of ``month`` shares (Scope 3 Cat 1, cloud)."""
    return {
        "scope": Scope.SCOPE_3,
        "category": 1,
        "subcategory": "cloud",
        "activity_kind": ActivityKind.CLOUD_USAGE,
        "start": month,
        "end": month_end(month),
    }
