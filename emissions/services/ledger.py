"""The accounting engine: compute and store the EmissionRecord ledger of an organization and period.

``inventory_calculate`` writes a new Calculation with its records and supersedes the previous one
for the same period (records are never edited). ``inventory_ensure`` reuses the current Calculation
while its inputs are unchanged. The arithmetic lives in ``emissions.calculations``; the rules and
their sources in docs/methodology.md.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

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
    calculation.data_gaps = sorted(set(builder.gaps))
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
        self._grid_average_kwh: dict[str, float] = {}

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
        """Most precise location factor for a block: hourly mean › monthly › yearly."""
        key = (zone, start, end)
        if key not in self._location_cache:
            factor = self.book.best_location(zone=zone, start=start, end=end)
            if factor is None:
                self.gaps.append(f"no location-based grid factor for zone {zone}: its electricity is not in the ledger")
            self._location_cache[key] = factor
        return self._location_cache[key]

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
        if self._grid_average_kwh:
            zones = ", ".join(sorted(self._grid_average_kwh))
            self.gaps.append(
                f"market-based: {sum(self._grid_average_kwh.values()):,.1f} kWh not covered by instruments in "
                f"zone(s) {zones} valued at the grid average: no residual mix is loaded (Scope 2 Guidance 6.11)"
            )

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
        runs = list(
            runs_overlapping(Run.objects.for_org(self.organization).filter(site=site), window_start, window_end)
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
        readings = list(
            MeterReading.objects.filter(site=site, period_end__gte=window_start, period_start__lte=window_end).order_by(
                "period_start"
            )
        )
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
        return calc.market_based_allocate(consumptions=consumptions, instruments=instruments)

    def _electricity_records(self, block: _Block, market: calc.MarketResult | None) -> None:
        zone = block.site.zone.code
        factor = self._location_factor(zone, block.start.replace(day=1), month_end(block.start))
        if factor is None:
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
                "instruments": [{"id": i, "kwh": kwh, "g_per_kwh": g} for i, kwh, g in market.covered],
                "remainder_kwh": market.remainder_kwh,
                "remainder_g_per_kwh": market.remainder_intensity_g_per_kwh,
                "remainder_basis": market.remainder_basis,
                "remainder_factor": remainder.as_provenance() if remainder else None,
            }
            if market.remainder_basis == "grid_average":
                flags.append("market_grid_average_fallback")
                self._grid_average_kwh[zone] = self._grid_average_kwh.get(zone, 0.0) + market.remainder_kwh
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
            self.gaps.append(f"no upstream (Cat 3b) factor for zone {zone}")
        else:
            used = upstream or lifecycle
            flags = list(used.flags)
            if upstream is None and lifecycle.value < direct.value:
                # Lifecycle below direct (different sources or years): upstream cannot be negative, so 0, said.
                flags.append("lifecycle_below_direct")
                self.gaps.append(
                    f"Cat 3b for zone {zone}: lifecycle factor {lifecycle.value:g} < direct {direct.value:g} "
                    f"gCO2e/kWh; upstream of {energy_kwh:,.1f} kWh counted as 0"
                )
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
            self.gaps.append(f"no T&D loss (Cat 3c) factor for zone {zone}")
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
                self.gaps.append(f"no combustion factor for {use.fuel} per {use.unit}")
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
            self.gaps.append("no well-to-tank (Cat 3a) fuel factors are loaded: upstream of fuels not computed")
        for loss in (
            RefrigerantLoss.objects.for_org(self.organization)
            .select_related("site")
            .filter(occurred_on__gte=self.period.start, occurred_on__lte=self.period.end)
        ):
            gwp = self.book.gwp(gas=loss.gas)
            if gwp is None:
                self.gaps.append(f"no GWP for gas {loss.gas}")
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
