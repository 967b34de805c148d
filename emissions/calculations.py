"""Pure emission arithmetic: no Django, no I/O, units in every name.

Each function implements one rule of docs/methodology.md (GHG Protocol Corporate Standard, Scope 2
Guidance 2015, Scope 3 Standard, GSF SCI / ISO/IEC 21031:2024). Inputs are plain numbers, dates
and frozen dataclasses, so every figure can be recomputed by hand from its inputs.

Conventions: energies in kWh, intensities in gCO2e/kWh, emissions in kgCO2e; date ranges are
inclusive of both days; a year of service is 365.25 days.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

from emissions.units import DAYS_PER_YEAR, G_PER_KG

# What metered energy is allocated to (in the ledger, the key of a run's part in one month).
_Key = TypeVar("_Key", bound=Hashable)


# --- Periods ----------------------------------------------------------------------------------


def days_inclusive(start: date, end: date) -> int:
    """Number of days from ``start`` to ``end``, both included (0 when end < start)."""
    return max((end - start).days + 1, 0)


def overlap_days(a_start: date, a_end: date, b_start: date, b_end: date) -> int:
    """Days two inclusive date ranges share."""
    return days_inclusive(max(a_start, b_start), min(a_end, b_end))


# --- Energy -----------------------------------------------------------------------------------


def facility_energy_kwh(*, it_energy_kwh: float, site_pue: float, tracker_pue: float | None = None) -> float:
    """Facility energy = IT energy × the site's PUE, applied exactly once.

    When the tracker already multiplied its energy by a PUE (CodeCarbon's ``pue`` option), that PUE
    is divided out first, so ``tracker_pue`` never compounds with ``site_pue``.
    """
    if site_pue < 1 or (tracker_pue is not None and tracker_pue < 1):
        raise ValueError("a PUE is at least 1")
    it_only_kwh = it_energy_kwh / tracker_pue if tracker_pue else it_energy_kwh
    return it_only_kwh * site_pue


@dataclass(frozen=True)
class MeteredAllocation(Generic[_Key]):
    """How a metered facility total is apportioned: ``allocated_kwh`` per key (e.g. run id),
    ``unallocated_kwh`` the idle/overhead remainder, ``scale`` (≤ 1) applied when the allocation
    keys add up to more than the meter (trackers over-reporting)."""

    allocated_kwh: dict[_Key, float]
    unallocated_kwh: float
    scale: float


def metered_energy_allocate(
    *, metered_kwh: float, facility_kwh_by_key: Mapping[_Key, float]
) -> MeteredAllocation[_Key]:
    """Apportion metered facility kWh to runs by their facility kWh (allocation keys, not additions).

    The meter is the inventory figure: allocations never exceed it. Below the meter, each key gets
    its own kWh and the rest is unallocated; above it, every key is scaled down proportionally.
    """
    if metered_kwh < 0 or any(kwh < 0 for kwh in facility_kwh_by_key.values()):
        raise ValueError("energies are non-negative")
    keyed_kwh = sum(facility_kwh_by_key.values())
    scale = 1.0 if keyed_kwh <= metered_kwh else metered_kwh / keyed_kwh
    allocated = {key: kwh * scale for key, kwh in facility_kwh_by_key.items()}
    return MeteredAllocation(
        allocated_kwh=allocated, unallocated_kwh=max(metered_kwh - keyed_kwh * scale, 0.0), scale=scale
    )


# --- Scope 2 location-based ----------------------------------------------------------------------


def emissions_kg(*, energy_kwh: float, intensity_g_per_kwh: float) -> float:
    """kgCO2e of ``energy_kwh`` at ``intensity_g_per_kwh``."""
    if energy_kwh < 0 or intensity_g_per_kwh < 0:
        raise ValueError("energy and intensity are non-negative")
    return energy_kwh * intensity_g_per_kwh / G_PER_KG


def hourly_emissions_kg(
    *, energy_kwh_by_hour: Mapping[datetime, float], intensity_g_per_kwh_by_hour: Mapping[datetime, float]
) -> float:
    """Σ over hours of kWh_h × intensity_h, in kgCO2e; every hour with energy needs an intensity."""
    missing = [hour for hour in energy_kwh_by_hour if hour not in intensity_g_per_kwh_by_hour]
    if missing:
        raise KeyError(f"no hourly intensity for {len(missing)} hour(s), first {min(missing)}")
    return sum(
        emissions_kg(energy_kwh=kwh, intensity_g_per_kwh=intensity_g_per_kwh_by_hour[hour])
        for hour, kwh in energy_kwh_by_hour.items()
    )


# --- Scope 2 market-based ------------------------------------------------------------------------

# Scope 2 Guidance Table 6.3 order: certificates, then contracts, then supplier-specific rates.
INSTRUMENT_PRECEDENCE = {"rec": 0, "go": 0, "irec": 0, "ppa": 1, "green_tariff": 1, "supplier_rate": 2}


@dataclass(frozen=True)
class Instrument:
    """A contractual instrument: covers up to ``energy_kwh`` of consumption in ``zone`` dated within
    ``vintage_start``..``vintage_end``, at ``emission_factor_g_per_kwh`` (0 for renewable certificates)."""

    instrument_id: str
    kind: str
    zone: str
    vintage_start: date
    vintage_end: date
    energy_kwh: float
    emission_factor_g_per_kwh: float
    # The market boundary it may cover (Scope 2 Quality Criteria); "" = its zone. A site-bound contract
    # (bundled green tariff) covers only its ``site_key``.
    market: str = ""
    site_key: object = None


@dataclass(frozen=True)
class Consumption:
    """Facility electricity consumed in ``zone`` over ``period_start``..``period_end`` (kWh)."""

    key: object
    zone: str
    period_start: date
    period_end: date
    energy_kwh: float
    market: str = ""  # "" = the zone
    site_key: object = None
    # This block's own remainder factors (its month's), gCO2e/kWh; None = the mappings passed to the allocator.
    residual_g_per_kwh: float | None = None
    grid_g_per_kwh: float | None = None


@dataclass
class MarketResult:
    """Market-based outcome for one consumption block.

    ``covered`` lists (instrument id, kWh, gCO2e/kWh); ``remainder_kwh`` was valued at
    ``remainder_intensity_g_per_kwh`` from ``remainder_basis`` (``residual_mix`` or, flagged for
    disclosure, ``grid_average``).
    """

    emissions_kg_co2e: float
    covered: list[tuple[str, float, float]] = field(default_factory=list)
    remainder_kwh: float = 0.0
    remainder_intensity_g_per_kwh: float = 0.0
    remainder_basis: str = ""


def market_based_allocate(
    *,
    consumptions: Sequence[Consumption],
    instruments: Iterable[Instrument],
    residual_mix_g_per_kwh: Mapping[str, float] | None = None,
    grid_average_g_per_kwh: Mapping[str, float] | None = None,
    recorded: Mapping[object, Sequence[tuple[str, float, float]]] | None = None,
) -> dict[object, MarketResult]:
    """Scope 2 market-based emissions per consumption block (Scope 2 Guidance ch. 6–7).

    An instrument covers only consumption in its own market boundary (``market``, else its zone; a
    site-bound instrument only its site) and inside its vintage (a block that straddles the vintage is
    covered pro rata by days), never more kWh than it holds, and each kWh once. Instruments are used in
    hierarchy order (certificates → contracts → supplier rate), then earliest vintage; blocks are served in
    date order, so replaying the same history gives every month the same allocation. Uncovered kWh take the
    block's residual mix, else its grid average (the block's own month's factors where given, else the
    zone's from the mappings; ``remainder_basis`` says which, so the fallback can be disclosed).

    ``recorded`` maps a block key to the uses an issued report claimed for it ((instrument id, kWh, gCO2e/kWh)):
    such a block is covered by exactly those uses (never more than its energy) and draws nothing else, and every
    recorded use is taken off its instrument before any other block is served, present or not.
    """
    residual_mix_g_per_kwh, grid_average_g_per_kwh = residual_mix_g_per_kwh or {}, grid_average_g_per_kwh or {}
    recorded = recorded or {}
    claimed_kwh: dict[str, float] = {}
    for uses in recorded.values():
        for instrument_id, kwh, _ in uses:
            claimed_kwh[instrument_id] = claimed_kwh.get(instrument_id, 0.0) + kwh
    remaining_kwh = {}
    ordered = sorted(
        instruments, key=lambda i: (INSTRUMENT_PRECEDENCE.get(i.kind, 9), i.vintage_start, i.instrument_id)
    )
    for instrument in ordered:
        if instrument.energy_kwh < 0 or instrument.emission_factor_g_per_kwh < 0:
            raise ValueError(f"instrument {instrument.instrument_id}: negative energy or factor")
        remaining_kwh[instrument.instrument_id] = max(
            instrument.energy_kwh - claimed_kwh.get(instrument.instrument_id, 0.0), 0.0
        )
    results: dict[object, MarketResult] = {}
    for block in sorted(consumptions, key=lambda c: (c.period_start, c.period_end, str(c.key))):
        uncovered_kwh = block.energy_kwh
        result = MarketResult(emissions_kg_co2e=0.0)
        block_days = days_inclusive(block.period_start, block.period_end)
        for instrument_id, kwh, factor in recorded.get(block.key, ()):
            used_kwh = min(kwh, max(uncovered_kwh, 0.0))
            if used_kwh > 0:
                uncovered_kwh -= used_kwh
                result.covered.append((instrument_id, used_kwh, factor))
                result.emissions_kg_co2e += emissions_kg(energy_kwh=used_kwh, intensity_g_per_kwh=factor)
        for instrument in [] if block.key in recorded else ordered:
            if (instrument.market or instrument.zone) != (block.market or block.zone) or uncovered_kwh <= 0:
                continue
            if instrument.site_key is not None and instrument.site_key != block.site_key:
                continue
            shared_days = overlap_days(
                block.period_start, block.period_end, instrument.vintage_start, instrument.vintage_end
            )
            eligible_kwh = block.energy_kwh * shared_days / block_days if block_days else 0.0
            already_covered_kwh = block.energy_kwh - uncovered_kwh
            used_kwh = min(remaining_kwh[instrument.instrument_id], max(eligible_kwh - already_covered_kwh, 0.0))
            if used_kwh <= 0:
                continue
            remaining_kwh[instrument.instrument_id] -= used_kwh
            uncovered_kwh -= used_kwh
            factor = instrument.emission_factor_g_per_kwh
            result.covered.append((instrument.instrument_id, used_kwh, factor))
            result.emissions_kg_co2e += emissions_kg(energy_kwh=used_kwh, intensity_g_per_kwh=factor)
        if uncovered_kwh > 0:
            residual = block.residual_g_per_kwh
            if residual is None:
                residual = residual_mix_g_per_kwh.get(block.zone)
            if residual is not None:
                basis, intensity = "residual_mix", residual
            else:
                grid = block.grid_g_per_kwh
                basis, intensity = "grid_average", grid if grid is not None else grid_average_g_per_kwh[block.zone]
            result.remainder_kwh = uncovered_kwh
            result.remainder_intensity_g_per_kwh = intensity
            result.remainder_basis = basis
            result.emissions_kg_co2e += emissions_kg(energy_kwh=uncovered_kwh, intensity_g_per_kwh=intensity)
        results[block.key] = result
    return results


# --- Scope 3 Category 3 -----------------------------------------------------------------------


def upstream_electricity_kg(
    *,
    energy_kwh: float,
    upstream_g_per_kwh: float | None = None,
    lifecycle_g_per_kwh: float | None = None,
    direct_g_per_kwh: float | None = None,
) -> float | None:
    """Cat 3(b): kWh × an upstream (well-to-tank) factor, else kWh × (lifecycle − direct) when both
    are known for the zone; None when neither is available (a disclosed gap, not a zero)."""
    if upstream_g_per_kwh is not None:
        return emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=upstream_g_per_kwh)
    if lifecycle_g_per_kwh is not None and direct_g_per_kwh is not None:
        return emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=max(lifecycle_g_per_kwh - direct_g_per_kwh, 0.0))
    return None


def td_loss_kg(*, energy_kwh: float, td_loss_g_per_kwh: float) -> float:
    """Cat 3(c): generation of the electricity lost in transmission and distribution, per kWh consumed."""
    return emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=td_loss_g_per_kwh)


def upstream_fuel_kg(*, quantity: float, wtt_kg_co2e_per_unit: float) -> float:
    """Cat 3(a): well-to-tank emissions of fuel burnt on site (quantity × WTT factor)."""
    if quantity < 0 or wtt_kg_co2e_per_unit < 0:
        raise ValueError("quantity and factor are non-negative")
    return quantity * wtt_kg_co2e_per_unit


# --- Scope 1 ----------------------------------------------------------------------------------


def stationary_combustion_kg(*, quantity: float, kg_co2e_per_unit: float) -> float:
    """Scope 1 stationary combustion: fuel quantity × the fuel's factor (same unit)."""
    if quantity < 0 or kg_co2e_per_unit < 0:
        raise ValueError("quantity and factor are non-negative")
    return quantity * kg_co2e_per_unit


def fugitive_kg(*, kg_leaked: float, gwp100: float) -> float:
    """Scope 1 fugitive: kg of gas leaked × its 100-year GWP (IPCC AR6)."""
    if kg_leaked < 0 or gwp100 <= 0:
        raise ValueError("leak is non-negative and GWP positive")
    return kg_leaked * gwp100


# --- Embodied (Scope 3 Cat 2 and the management view) ----------------------------------------


@dataclass(frozen=True)
class Asset:
    """A fleet line for embodied accounting: total embodied ``embodied_kg_co2e`` (all units),
    booked at ``acquired_on``, amortized from ``in_service_on`` over ``lifetime_years``; an early
    ``retired_on`` (first day out of service) writes off the remaining balance."""

    acquired_on: date
    in_service_on: date
    lifetime_years: float
    embodied_kg_co2e: float
    retired_on: date | None = None

    @property
    def life_days(self) -> float:
        return self.lifetime_years * DAYS_PER_YEAR


def amortized_to_date_kg(*, asset: Asset, through: date) -> float:
    """Cumulative linear amortization from ``in_service_on`` through ``through`` (inclusive).

    Days in service / life days, capped at the full embodied figure, and frozen at retirement. The
    cap (rather than a rounded number of life days) makes the whole-life total exactly the embodied
    total even though 365.25-day years give fractional life days.
    """
    if asset.lifetime_years <= 0 or asset.embodied_kg_co2e < 0:
        raise ValueError("lifetime must be positive and embodied non-negative")
    last_day = through if asset.retired_on is None else min(through, asset.retired_on - timedelta(days=1))
    days_in_service = days_inclusive(asset.in_service_on, last_day)
    return asset.embodied_kg_co2e * min(days_in_service / asset.life_days, 1.0)


def service_days(*, asset: Asset, period_start: date, period_end: date) -> int:
    """Days of the period the asset is in service: from ``in_service_on`` through the day before
    ``retired_on`` (the first day out of service), both ends of the period included."""
    last_day = period_end if asset.retired_on is None else asset.retired_on - timedelta(days=1)
    return overlap_days(period_start, period_end, asset.in_service_on, last_day)


def capital_goods_kg(*, asset: Asset, period_start: date, period_end: date) -> float:
    """Inventory view, Scope 3 Cat 2: the full embodied total in the period of acquisition, else 0.

    GHG Protocol Scope 3 Standard: capital goods are not depreciated over time.
    """
    return asset.embodied_kg_co2e if period_start <= asset.acquired_on <= period_end else 0.0


def amortized_kg(*, asset: Asset, period_start: date, period_end: date) -> float:
    """Management view: embodied × days in service within the period / life days (linear)."""
    if period_end < period_start:
        return 0.0
    before = amortized_to_date_kg(asset=asset, through=period_start - timedelta(days=1))
    return amortized_to_date_kg(asset=asset, through=period_end) - before


def written_off_kg(*, asset: Asset, period_start: date, period_end: date) -> float:
    """Management view: at early retirement, the balance not yet amortized, booked in the period of
    ``retired_on``; over the whole life amortized + written off = the embodied total."""
    if asset.retired_on is None or not (period_start <= asset.retired_on <= period_end):
        return 0.0
    return asset.embodied_kg_co2e - amortized_to_date_kg(asset=asset, through=asset.retired_on)


@dataclass(frozen=True)
class RollForward:
    """Unamortized embodied balance: opening + additions − amortized − written off = closing (kgCO2e)."""

    opening_kg: float
    additions_kg: float
    amortized_kg: float
    written_off_kg: float
    closing_kg: float


def roll_forward(*, assets: Iterable[Asset], period_start: date, period_end: date) -> RollForward:
    """The roll-forward that ties the inventory view (additions = Cat 2) to the management view."""
    opening = additions = amortized = written_off = 0.0
    for asset in assets:
        if asset.acquired_on < period_start:
            day_before = period_start - timedelta(days=1)
            opening += (
                asset.embodied_kg_co2e
                - amortized_to_date_kg(asset=asset, through=day_before)
                - written_off_kg(asset=asset, period_start=asset.acquired_on, period_end=day_before)
            )
        additions += capital_goods_kg(asset=asset, period_start=period_start, period_end=period_end)
        amortized += amortized_kg(asset=asset, period_start=period_start, period_end=period_end)
        written_off += written_off_kg(asset=asset, period_start=period_start, period_end=period_end)
    closing = opening + additions - amortized - written_off
    return RollForward(
        opening_kg=opening,
        additions_kg=additions,
        amortized_kg=amortized,
        written_off_kg=written_off,
        closing_kg=closing,
    )


def gpu_hours_share(*, used_gpu_hours: float, available_gpu_hours: float) -> float:
    """Share of a fleet's amortized embodied a run carries: GPU-hours used / GPU-hours available (≤ 1)."""
    if available_gpu_hours <= 0:
        return 0.0
    return min(max(used_gpu_hours, 0.0) / available_gpu_hours, 1.0)


# --- SCI ----------------------------------------------------------------------------------------


def sci_g_per_unit(
    *, energy_kwh: float, intensity_g_per_kwh: float, embodied_g: float, functional_units: float
) -> float:
    """GSF SCI = ((E × I) + M) per R, in gCO2e per functional unit (location-based I, amortized M)."""
    if functional_units <= 0:
        raise ValueError("the functional unit count R must be positive")
    return (energy_kwh * intensity_g_per_kwh + embodied_g) / functional_units


# --- Uncertainty ------------------------------------------------------------------------------

# Relative half-width of the range per quality tier (see docs/methodology.md, "Uncertainty").
RELATIVE_UNCERTAINTY = {
    "metered": 0.05,
    "provider_reported": 0.10,
    "supplier_specific": 0.10,
    "measured": 0.15,
    "estimated_tdp": 0.30,
    "estimated_location": 0.35,
    "billing_estimate": 0.40,
    "default": 0.50,
}


def uncertainty_range_kg(*, emissions_kg_co2e: float, quality: str) -> tuple[float, float]:
    """Low and high kgCO2e around a central figure, from the quality tier's relative uncertainty."""
    spread = RELATIVE_UNCERTAINTY[quality]
    return emissions_kg_co2e * (1 - spread), emissions_kg_co2e * (1 + spread)


# --- Runs across period boundaries ---------------------------------------------------------------


def month_shares(
    *, started_at: datetime, ended_at: datetime | None, energy_by_month: Mapping[date, float] | None = None
) -> list[tuple[date, date, float]]:
    """How a run's energy splits over the calendar months it spans: ``(first day, last day, share)`` per month,
    shares summing to 1. By the tracker's samples (``energy_by_month``: kWh per month's first day) where they
    cover the run, else pro rata by time; a run within one month is one piece with share 1.
    """
    start_day = started_at.date()
    end = ended_at if ended_at is not None and ended_at > started_at else started_at
    # A run ending exactly at midnight used no time on its end day.
    end_day = (end - timedelta(microseconds=1)).date() if end > started_at else start_day
    if (start_day.year, start_day.month) == (end_day.year, end_day.month):
        return [(start_day, end_day, 1.0)]
    pieces, first = [], start_day
    while first <= end_day:
        last = min(month_last_day(first), end_day)
        pieces.append((first, last))
        first = last + timedelta(days=1)
    sampled = sum((energy_by_month or {}).values())
    if sampled > 0:
        return [(a, b, (energy_by_month or {}).get(a.replace(day=1), 0.0) / sampled) for a, b in pieces]
    seconds = (end - started_at).total_seconds()
    shares = []
    for a, b in pieces:
        lo = max(started_at, datetime.combine(a, time.min, tzinfo=started_at.tzinfo))
        hi = min(end, datetime.combine(b + timedelta(days=1), time.min, tzinfo=started_at.tzinfo))
        shares.append((a, b, (hi - lo).total_seconds() / seconds))
    return shares


def month_last_day(day: date) -> date:
    """The last day of ``day``'s month."""
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)
