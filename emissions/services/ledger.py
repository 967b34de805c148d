"""The accounting engine: compute and store the EmissionRecord ledger of an organization and period.

``inventory_calculate`` writes a new Calculation with its records and supersedes the previous one
for the same period (records are never edited). ``inventory_ensure`` reuses the current Calculation
while its inputs are unchanged. The arithmetic lives in ``emissions.calculations``; the rules and
their sources in docs/methodology.md.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction

from emissions import calculations as calc
from emissions.choices import ActivityKind, Basis, FactorKind, QualityTier, Scope, SiteOwnership
from emissions.factor_book import FactorBook, ResolvedFactor
from emissions.models import (
    Calculation,
    EmissionRecord,
    EnergyInstrument,
    FuelUse,
    GridZone,
    MeterReading,
    Organization,
    RefrigerantLoss,
    Run,
    Site,
)
from emissions.periods import Period, month_end, period_parse
from emissions.selectors import inventory_inputs_digest
from emissions.services.certificates import certificate_uses_recorded
from emissions.services.ledger_cloud import CloudLines
from emissions.services.ledger_embodied import EmbodiedLines
from emissions.services.ledger_offsite import OffsiteLines
from emissions.services.run_pieces import run_pieces, runs_overlapping
from emissions.services.run_quality import run_tier
from emissions.signals import figures_changed_on_commit

METHODOLOGY_VERSION = "gg-2026.11"


@dataclass
class _Block:
    """Facility electricity of one run (or of a site's unallocated remainder) in one month."""

    key: str
    site: Site
    start: date
    end: date
    energy_kwh: float
    quality: str
    run: Run | None = None
    flags: list[str] = field(default_factory=list)


def inventory_ensure(*, organization: Organization, period: Period) -> Calculation:
    """The current calculation of the period if its inputs are unchanged, else a new one."""
    current = (
        Calculation.objects.for_org(organization)
        .filter(period_start=period.start, period_end=period.end, superseded_by__isnull=True)
        .first()
    )
    if current is not None and current.inputs_digest == inventory_inputs_digest(
        organization=organization, methodology_version=METHODOLOGY_VERSION
    ):
        return current
    reason = "inputs or factors changed" if current else "first calculation"
    return inventory_calculate(organization=organization, period=period, reason=reason)


@transaction.atomic
def inventory_calculate(*, organization: Organization, period: Period, reason: str = "") -> Calculation:
    """Compute every EmissionRecord of the period and supersede the previous calculation."""
    # One calculation per organization at a time: two concurrent ones would both supersede the same row.
    Organization.objects.select_for_update().get(pk=organization.pk)
    calculation = Calculation.objects.create(
        organization=organization,
        period_start=period.start,
        period_end=period.end,
        methodology_version=METHODOLOGY_VERSION,
        reason=reason[:300],
        inputs_digest=inventory_inputs_digest(organization=organization, methodology_version=METHODOLOGY_VERSION),
    )
    builder = _LedgerBuilder(organization=organization, calculation=calculation, period=period)
    builder.electricity()
    builder.cloud_billing()
    builder.cloud_runs()
    builder.offsite_runs()
    builder.scope_1()
    builder.embodied()
    EmissionRecord.objects.bulk_create(builder.records, batch_size=2000)
    calculation.data_gaps = sorted({*builder.gaps, *builder.sized_gaps()})
    calculation.roll_forward = builder.roll_forward
    calculation.save(update_fields=["data_gaps", "roll_forward"])
    Calculation.objects.for_org(organization).filter(
        period_start=period.start, period_end=period.end, superseded_by__isnull=True
    ).exclude(pk=calculation.pk).update(superseded_by=calculation)
    figures_changed_on_commit(organization.pk)  # the dashboards' daily rollup follows
    return calculation


class _LedgerBuilder(CloudLines, EmbodiedLines, OffsiteLines):
    """Collects the records of one calculation; each method covers one group of inventory lines."""

    def __init__(self, *, organization: Organization, calculation: Calculation, period: Period):
        self.organization = organization
        self.calculation = calculation
        self.period = period
        self.book = FactorBook(organization)
        self.records: list[EmissionRecord] = []
        self.gaps: list[str] = []
        self.roll_forward: dict = {}
        self._location_cache: dict = {}
        self._covered_cloud_months: set[tuple[str, date]] = set()
        self._zone_tree: dict[str, tuple[str | None, str]] | None = None
        self._remainder_factors: dict[object, dict] = {}
        # kWh valued at the grid average for want of a residual mix, by zone: sites and own-equipment off-site
        # runs alike, disclosed once for the whole calculation (sized_gaps).
        self._grid_average_kwh: dict[str, float] = {}
        # What each missing factor leaves out (kWh, litres, kg), summed over the calculation per gap and
        # subject (zone, fuel, gas): one line per missing factor however many blocks it touches.
        self._gap_sizes: dict[tuple[str, tuple], float] = {}

    # --- record construction ---------------------------------------------------------------------

    def _add(
        self,
        *,
        scope: int,
        activity_kind: str,
        start: date,
        end: date,
        location_kg: float,
        market_kg: float | None = None,
        quality: str,
        factors: dict,
        category: int | None = None,
        subcategory: str = "",
        basis: str = Basis.OPERATIONAL,
        activity_id: int | None = None,
        run: Run | None = None,
        site: Site | None = None,
        energy_kwh: float | None = None,
        low_high: tuple[float, float] | None = None,
        flags: list[str] | None = None,
        owner: dict | None = None,
    ) -> None:
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
                methodology_version=METHODOLOGY_VERSION,
                flags=sorted(set(flags or [])),
            )
        )

    def _location_factor(self, zone: str, start: date, end: date) -> ResolvedFactor | None:
        """Most precise location factor for a block: hourly mean › monthly › yearly. None is a gap the caller
        sizes (``_gap("no_location_factor", ...)``): only it knows the kWh left out."""
        key = (zone, start, end)
        if key not in self._location_cache:
            self._location_cache[key] = self.book.best_location(zone=zone, start=start, end=end)
        return self._location_cache[key]

    def _run_location_factor(self, zone: str, run: Run, start: date, end: date) -> ResolvedFactor | None:
        """The location factor of a run's part ``start``..``end`` (days): the organization's own factor, else the
        mean of the hourly intensities over the hours the run ran in those days when all are loaded, else the
        block's (hourly mean of the month › monthly › yearly). The documented precedence, to the hour."""
        factor = self._location_factor(zone, start.replace(day=1), month_end(start))
        if factor is not None and "organization_override" in factor.flags:
            return factor
        run_start = run.started_at
        run_end = run.ended_at or run_start + timedelta(seconds=run.duration_s)
        window_start, window_end = datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)
        hourly = self.book.hourly_over(
            zone=zone,
            start_at=max(run_start, window_start),
            end_at=min(run_end, window_end + timedelta(days=1)),
        )
        return hourly or factor

    # --- data gaps with their size -----------------------------------------------------------------

    def _gap(self, kind: str, quantity: float, **subject: str) -> None:
        """Count ``quantity`` (kWh, litres, kg: as ``SIZED_GAPS[kind]`` says) toward the gap ``kind`` of
        ``subject`` (its zone, fuel or gas)."""
        key = (kind, tuple(sorted(subject.items())))
        self._gap_sizes[key] = self._gap_sizes.get(key, 0.0) + quantity

    def _grid_average_used(self, zone: str, energy_kwh: float) -> None:
        """Count market-based kWh valued at the zone's grid average (no residual mix) toward its gap."""
        self._grid_average_kwh[zone] = self._grid_average_kwh.get(zone, 0.0) + energy_kwh

    def sized_gaps(self) -> list[str]:
        """The calculation's gaps that carry a size: each missing factor with what it left out, and the kWh
        valued at the grid average with their zones (the last step of the Scope 2 Guidance's Table 6.3
        hierarchy, after the residual mix: disclosed with its size)."""
        sizes = self._gap_sizes.items()
        gaps = [SIZED_GAPS[kind].format(quantity=size, **dict(names)) for (kind, names), size in sizes]
        if self._grid_average_kwh:
            zones = ", ".join(f"{zone} ({kwh:,.1f} kWh)" for zone, kwh in sorted(self._grid_average_kwh.items()))
            gaps.append(
                f"market-based: {sum(self._grid_average_kwh.values()):,.1f} kWh not covered by instruments valued at "
                f"the grid average, in zone(s) {zones}: no residual mix is loaded (Scope 2 Guidance 6.11)"
            )
        return gaps

    # --- Scope 2 and colocation electricity, with Cat 3 (b)(c) --------------------------------------

    def electricity(self) -> None:
        """Metered (or tracker-estimated) facility electricity of owned and colocated sites."""
        sites = list(
            Site.objects.for_org(self.organization)
            .filter(ownership__in=[SiteOwnership.OWNED, SiteOwnership.COLOCATION])
            .select_related("zone")
        )
        instruments = [
            calc.Instrument(
                instrument_id=i.instrument_id,
                kind=i.kind,
                zone=i.zone.code,
                vintage_start=i.vintage_start,
                vintage_end=i.vintage_end,
                energy_kwh=i.energy_mwh * 1000.0,
                emission_factor_g_per_kwh=i.emission_factor_g_per_kwh,
                market=self._market_of(i.zone.code),
                site_key=i.site_id,
            )
            for i in EnergyInstrument.objects.for_org(self.organization).select_related("zone")
            if i.vintage_start <= self.period.end
        ]
        # Every instrument is used chronologically from its vintage start, and a meter reading is
        # apportioned over its whole period, so blocks before the period are built too: each period replays
        # the same history, so a month's allocation is the same in every calculation that contains it (a
        # certificate whose vintage ended last year still used what it used then), and quarters sum to the year.
        readings = list(
            MeterReading.objects.for_org(self.organization).filter(
                period_end__gte=self.period.start, period_start__lte=self.period.end
            )
        )
        window_start = min(
            [self.period.start, *(i.vintage_start for i in instruments), *(r.period_start for r in readings)]
        )
        window_end = max([self.period.end, *(r.period_end for r in readings)])
        blocks: list[_Block] = []
        for site in sites:
            blocks += self._site_blocks(site, window_start, window_end)
        purchased = [b for b in blocks if b.site.buys_electricity]
        market = self._market(purchased, instruments)
        for block in blocks:
            if block.end < self.period.start or block.start > self.period.end:
                continue
            self._electricity_records(block, market.get(block.key))

    def _market_of(self, zone: str) -> str:
        """The market boundary of a zone: its country (the top of its parent chain), as one market for
        certificates under the Scope 2 Quality Criteria; the EU when the organization treats guarantees of
        origin as one EU market."""
        if self._zone_tree is None:
            self._zone_tree = {
                code: (parent, iso3)
                for code, parent, iso3 in GridZone.objects.values_list("code", "parent__code", "country_iso3")
            }
        top = zone
        for _ in range(10):  # zone trees are two or three levels deep
            parent = self._zone_tree.get(top, (None, ""))[0]
            if not parent:
                break
            top = parent
        if self.organization.eu_go_single_market and self._zone_tree.get(top, (None, ""))[1] in EU_MEMBER_ISO3:
            return "EU"
        return top

    def _site_blocks(self, site: Site, window_start: date, window_end: date) -> list[_Block]:
        """Run blocks apportioned from the meter reading that covers them, the reading's unallocated
        remainder split by month (pro rata by days), and tracker estimates where no reading exists."""
        readings = list(
            MeterReading.objects.filter(site=site, period_end__gte=window_start, period_start__lte=window_end).order_by(
                "period_start"
            )
        )
        # Runs over the whole span of the readings found, not only the window: a reading that began before the
        # window (found because it overlaps it) keeps every run it covers, so its idle kWh, and the certificates
        # they consume, are the same in every calculation that reads it, and a quarter equals its months.
        runs_start = min([window_start, *(r.period_start for r in readings)])
        runs_end = max([window_end, *(r.period_end for r in readings)])
        runs = list(
            runs_overlapping(Run.objects.for_org(self.organization).filter(site=site), runs_start, runs_end)
            .select_related("project")
            .order_by("started_at", "pk")
        )
        # A run crossing a month end is booked in each month for the part it ran there.
        pieces = run_pieces(runs)
        facility_kwh = {
            piece.key: piece.share
            * calc.facility_energy_kwh(
                it_energy_kwh=piece.run.energy_kwh, site_pue=site.pue, tracker_pue=piece.run.tracker_pue
            )
            for piece in pieces
        }
        if any(a.period_end >= b.period_start for a, b in itertools.pairwise(readings)):
            self.gaps.append(f"overlapping meter readings at site {site.slug}: each is counted in full")
        blocks, metered_runs = [], set()
        for reading in readings:
            covered = [p for p in pieces if reading.period_start <= p.start <= reading.period_end]
            allocation = calc.metered_energy_allocate(
                metered_kwh=reading.energy_kwh, facility_kwh_by_key={p.key: facility_kwh[p.key] for p in covered}
            )
            flags = ["trackers_exceed_meter"] if allocation.scale < 1 else []
            if flags:
                # Energy conservation: trackers cannot have used more than the meter saw; said where it happens.
                self.gaps.append(
                    f"tracker energy at site {site.slug} exceeds its meter for "
                    f"{reading.period_start}..{reading.period_end}: runs scaled by {allocation.scale:.3f} "
                    f"to the metered {reading.energy_kwh:,.1f} kWh"
                )
            for piece in covered:
                metered_runs.add(piece.key)
                blocks.append(
                    _Block(
                        piece.key,
                        site,
                        piece.start,
                        piece.end,
                        allocation.allocated_kwh[piece.key],
                        QualityTier.METERED,
                        piece.run,
                        [*flags, *piece.flags],
                    )
                )
            reading_days = calc.days_inclusive(reading.period_start, reading.period_end)
            span = Period(label="reading", start=reading.period_start, end=reading.period_end)
            for first_day, last_day in span.months():
                start, end = max(first_day, reading.period_start), min(last_day, reading.period_end)
                share = calc.days_inclusive(start, end) / reading_days
                key = f"idle:{reading.pk}:{first_day}"
                blocks.append(
                    _Block(
                        key,
                        site,
                        start,
                        end,
                        allocation.unallocated_kwh * share,
                        QualityTier.METERED,
                        None,
                        ["unallocated"],
                    )
                )
        for piece in pieces:
            if piece.key not in metered_runs:
                quality = run_tier(piece.run)
                flags = ["no_meter", *piece.flags]
                blocks.append(
                    _Block(piece.key, site, piece.start, piece.end, facility_kwh[piece.key], quality, piece.run, flags)
                )
        return blocks

    def _market(self, blocks: list[_Block], instruments: list[calc.Instrument]) -> dict:
        """Market-based allocation of every block; uncovered kWh at the block's month's residual mix, else
        at the same factor as its location-based figure (hourly › monthly › yearly), never one month's
        factor for a whole period."""
        consumptions = []
        for b in blocks:
            zone, month = b.site.zone.code, b.start.replace(day=1)
            residual = self.book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month)
            # The same factor as the block's location-based figure (a run's own hours where hourly data has them).
            if b.run is not None:
                grid = self._run_location_factor(zone, b.run, b.start, b.end)
            else:
                grid = self._location_factor(zone, month, month_end(month))
            if residual is None and grid is None:
                continue
            self._remainder_factors[b.key] = {"residual_mix": residual, "grid_average": grid}
            consumptions.append(
                calc.Consumption(
                    b.key,
                    zone,
                    b.start,
                    b.end,
                    b.energy_kwh,
                    market=self._market_of(zone),
                    site_key=b.site.pk,
                    residual_g_per_kwh=residual.value if residual else None,
                    grid_g_per_kwh=grid.value if grid else None,
                )
            )
        recorded = certificate_uses_recorded(organization=self.organization)
        self._issued_blocks_changed(blocks, recorded)
        uses = {
            key: [(use.instrument_id, use.energy_kwh, use.emission_factor_g_per_kwh) for use in rows]
            for key, rows in recorded.items()
        }
        return calc.market_based_allocate(consumptions=consumptions, instruments=instruments, recorded=uses)

    def _issued_blocks_changed(self, blocks: list[_Block], recorded: dict) -> None:
        """A gap for blocks of issued months whose energy changed since issue: they keep the certificates the
        report claimed for them, and the difference is valued as uncovered (a restatement shows it)."""
        changed = [
            (block, rows[0].block_kwh)
            for block in blocks
            if (rows := recorded.get(block.key)) and abs(block.energy_kwh - rows[0].block_kwh) > 1e-6
        ]
        if changed:
            kwh = sum(block.energy_kwh - issued for block, issued in changed)
            names = ", ".join(sorted(block.key for block, _ in changed)[:5])
            self.gaps.append(
                f"{len(changed)} electricity block(s) of issued months changed since issue ({kwh:+,.1f} kWh; "
                f"{names}): they keep the certificates the issued report claimed, the difference is uncovered"
            )

    def _electricity_records(self, block: _Block, market: calc.MarketResult | None) -> None:
        zone = block.site.zone.code
        if block.run is not None:
            factor = self._run_location_factor(zone, block.run, block.start, block.end)
        else:
            factor = self._location_factor(zone, block.start.replace(day=1), month_end(block.start))
        if factor is None:
            self._gap("no_location_factor", block.energy_kwh, zone=zone)
            return
        location_kg = calc.emissions_kg(energy_kwh=block.energy_kwh, intensity_g_per_kwh=factor.value)
        # A lifecycle factor standing in for a direct one weakens the factor, not the activity data the tier
        # describes: the record keeps its tier and carries the ``lifecycle_factor`` flag.
        quality = block.quality
        common = {
            "activity_kind": ActivityKind.RUN if block.run else ActivityKind.UNALLOCATED,
            "activity_id": block.run.pk if block.run else None,
            "run": block.run,
            "site": block.site,
            "start": block.start,
            "end": block.end,
        }
        flags = [*block.flags, *factor.flags]
        if not block.site.buys_electricity:
            # Electricity included in a colocation fee is a purchased service: Scope 3 Cat 1.
            self._add(
                scope=Scope.SCOPE_3,
                category=1,
                subcategory="colocation",
                energy_kwh=block.energy_kwh,
                location_kg=location_kg,
                quality=quality,
                factors={"location": factor.as_provenance()},
                flags=flags,
                **common,
            )
            return
        factors = {"location": factor.as_provenance()}
        market_kg = location_kg
        if market is not None:
            market_kg = market.emissions_kg_co2e
            remainder = self._remainder_factors.get(block.key, {}).get(market.remainder_basis)
            factors["market"] = {
                # The block, so that issuing a report can record exactly these uses (services/certificates.py).
                "block": {"key": block.key, "kwh": block.energy_kwh},
                "instruments": [{"id": i, "kwh": kwh, "g_per_kwh": g} for i, kwh, g in market.covered],
                "remainder_kwh": market.remainder_kwh,
                "remainder_g_per_kwh": market.remainder_intensity_g_per_kwh,
                "remainder_basis": market.remainder_basis,
                "remainder_factor": remainder.as_provenance() if remainder else None,
            }
            if market.remainder_basis == "grid_average":
                flags.append("market_grid_average_fallback")
                self._grid_average_used(zone, market.remainder_kwh)
        self._add(
            scope=Scope.SCOPE_2,
            energy_kwh=block.energy_kwh,
            location_kg=location_kg,
            market_kg=market_kg,
            quality=quality,
            factors=factors,
            flags=flags,
            **common,
        )
        self._category_3_records(block.site.zone.code, block.start, block.energy_kwh, factor, quality, common)

    def _category_3_records(
        self, zone: str, day: date, energy_kwh: float, direct: ResolvedFactor, quality: str, common: dict
    ) -> None:
        """Cat 3 (b) upstream and (c) T&D losses of ``energy_kwh`` of purchased electricity in the zone."""
        year, month = day.year, day.month
        upstream = self.book.grid(zone=zone, kind=FactorKind.UPSTREAM, year=year, month=month)
        lifecycle = self.book.grid(zone=zone, kind=FactorKind.LIFECYCLE, year=year, month=month)
        if lifecycle is not None and lifecycle.zone != direct.zone:
            # Lifecycle minus direct is upstream only for one grid: a country's lifecycle figure minus a
            # province's direct one (Canada 170 − Québec 2.6) would book the country's mix as upstream.
            lifecycle = None
        is_direct = "lifecycle_factor" not in direct.flags
        upstream_kg = calc.upstream_electricity_kg(
            energy_kwh=energy_kwh,
            upstream_g_per_kwh=upstream.value if upstream else None,
            lifecycle_g_per_kwh=lifecycle.value if (lifecycle and is_direct) else None,
            direct_g_per_kwh=direct.value if is_direct else None,
        )
        if upstream_kg is None:
            self._gap("no_upstream_factor", energy_kwh, zone=zone)
        else:
            used = upstream or lifecycle
            flags = list(used.flags)
            if upstream is None and lifecycle.value < direct.value:
                # Lifecycle below direct (different sources or years): upstream cannot be negative, so 0, said.
                flags.append("lifecycle_below_direct")
                values = {"lifecycle": f"{lifecycle.value:g}", "direct": f"{direct.value:g}"}
                self._gap("lifecycle_below_direct", energy_kwh, zone=zone, **values)
            self._add(
                scope=Scope.SCOPE_3,
                category=3,
                subcategory="3b",
                location_kg=upstream_kg,
                quality=quality,
                factors={"upstream": used.as_provenance(), "direct": direct.as_provenance()},
                flags=flags,
                **common,
            )
        td = self.book.grid(zone=zone, kind=FactorKind.TD_LOSS, year=year, month=month)
        if td is None:
            self._gap("no_td_loss_factor", energy_kwh, zone=zone)
        else:
            td_kg = calc.td_loss_kg(energy_kwh=energy_kwh, td_loss_g_per_kwh=td.value)
            self._add(
                scope=Scope.SCOPE_3,
                category=3,
                subcategory="3c",
                location_kg=td_kg,
                quality=quality,
                factors={"td_loss": td.as_provenance()},
                flags=list(td.flags),
                **common,
            )

    # --- Scope 1 --------------------------------------------------------------------------------

    def scope_1(self) -> None:
        """Stationary combustion (fuel × factor) and fugitive refrigerant (kg × GWP100)."""
        for use in (
            FuelUse.objects.for_org(self.organization)
            .select_related("site")
            .filter(used_on__gte=self.period.start, used_on__lte=self.period.end)
        ):
            factor = self.book.fuel(fuel=use.fuel, unit=use.unit)
            if factor is None:
                self._gap("no_fuel_factor", use.quantity, fuel=use.fuel, unit=use.unit)
                continue
            self._add(
                scope=Scope.SCOPE_1,
                subcategory="stationary_combustion",
                activity_kind=ActivityKind.FUEL_USE,
                activity_id=use.pk,
                start=use.used_on,
                end=use.used_on,
                location_kg=calc.stationary_combustion_kg(quantity=use.quantity, kg_co2e_per_unit=factor.value),
                quality=QualityTier.METERED,
                factors={"fuel": factor.as_provenance()},
                site=use.site,
            )
            # GreenGuild ships no well-to-tank fuel factors (DESNZ WTT rows are not in the corpus).
            self._gap("no_well_to_tank_factor", use.quantity, fuel=use.fuel, unit=use.unit)
        for loss in (
            RefrigerantLoss.objects.for_org(self.organization)
            .select_related("site")
            .filter(occurred_on__gte=self.period.start, occurred_on__lte=self.period.end)
        ):
            gwp = self.book.gwp(gas=loss.gas)
            if gwp is None:
                self._gap("no_gwp", loss.kg_leaked, gas=loss.gas)
                continue
            self._add(
                scope=Scope.SCOPE_1,
                subcategory="fugitive",
                activity_kind=ActivityKind.REFRIGERANT_LOSS,
                activity_id=loss.pk,
                start=loss.occurred_on,
                end=loss.occurred_on,
                location_kg=calc.fugitive_kg(kg_leaked=loss.kg_leaked, gwp100=gwp.value),
                quality=QualityTier.METERED,
                factors={"gwp": gwp.as_provenance()},
                site=loss.site,
            )


# Gaps sized by what they leave out (``_LedgerBuilder._gap``), by kind; ``quantity`` is summed per zone, fuel or gas.
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


# EU member states (ISO 3166-1 alpha-3): guarantees of origin are mutually recognised among them (Directive
# (EU) 2018/2001 Art. 19(9)), so an organization may treat them as one market (Organization.eu_go_single_market).
EU_MEMBER_ISO3 = frozenset(
    {
        "AUT",
        "BEL",
        "BGR",
        "HRV",
        "CYP",
        "CZE",
        "DNK",
        "EST",
        "FIN",
        "FRA",
        "DEU",
        "GRC",
        "HUN",
        "IRL",
        "ITA",
        "LVA",
        "LTU",
        "LUX",
        "MLT",
        "NLD",
        "POL",
        "PRT",
        "ROU",
        "SVK",
        "SVN",
        "ESP",
        "SWE",
    }
)


def ledger_refresh(*, today: date | None = None) -> list[Calculation]:
    """Bring the current quarter's and year's calculations of every organization up to date.

    Runs from Celery beat, so live tracker samples reach the ledger within minutes without any
    work on the request path; ``inventory_ensure`` makes it a no-op where nothing changed.
    """
    today = today or date.today()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    periods = [period_parse(quarter), period_parse(str(today.year))]
    return [
        inventory_ensure(organization=organization, period=period)
        for organization in Organization.objects.order_by("pk")
        for period in periods
    ]
