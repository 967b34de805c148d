"""The accounting engine: compute and store the EmissionRecord ledger of an organization and period.

``inventory_calculate`` writes a new Calculation with its records and supersedes the previous one
for the same period (records are never edited). ``inventory_ensure`` reuses the current Calculation
while its inputs are unchanged. The arithmetic lives in ``emissions.calculations``; the rules and
their sources in docs/methodology.md.
"""

from __future__ import annotations

import calendar
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from emissions import calculations as calc
from emissions.choices import ActivityKind, Basis, FactorKind, QualityTier, Scope, SiteOwnership
from emissions.factor_book import FactorBook, ResolvedFactor
from emissions.models import (
    Calculation,
    CloudUsage,
    EmissionRecord,
    EnergyInstrument,
    FuelUse,
    HardwareAsset,
    MeterReading,
    Organization,
    ProviderCarbon,
    RefrigerantLoss,
    Run,
    Site,
)
from emissions.periods import Period, period_parse
from emissions.selectors import inventory_inputs_digest

METHODOLOGY_VERSION = "gg-2026.11"
_ENERGY_CLASSES = (
    "compute_energy_kwh",
    "gpu_energy_kwh",
    "memory_energy_kwh",
    "storage_energy_kwh",
    "network_energy_kwh",
)


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
    builder.scope_1()
    builder.embodied()
    EmissionRecord.objects.bulk_create(builder.records, batch_size=2000)
    calculation.data_gaps = sorted(set(builder.gaps))
    calculation.roll_forward = builder.roll_forward
    calculation.save(update_fields=["data_gaps", "roll_forward"])
    Calculation.objects.for_org(organization).filter(
        period_start=period.start, period_end=period.end, superseded_by__isnull=True
    ).exclude(pk=calculation.pk).update(superseded_by=calculation)
    return calculation


class _LedgerBuilder:
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
            factor = self.book.hourly_mean(zone=zone, start=start, end=end)
            if factor is None:
                factor = self.book.location(zone=zone, year=start.year, month=start.month)
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
            )
            for i in EnergyInstrument.objects.for_org(self.organization).select_related("zone")
            if i.vintage_start <= self.period.end and i.vintage_end >= self.period.start
        ]
        # Instruments are used chronologically over their whole vintage, and a meter reading is
        # apportioned over its whole period, so blocks outside the period are built too: a quarter then
        # sees what earlier quarters left of an instrument, and quarters sum to the year.
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

    def _site_blocks(self, site: Site, window_start: date, window_end: date) -> list[_Block]:
        """Run blocks apportioned from the meter reading that covers them, the reading's unallocated
        remainder split by month (pro rata by days), and tracker estimates where no reading exists."""
        runs = list(
            Run.objects.for_org(self.organization)
            .filter(site=site, started_at__date__gte=window_start, started_at__date__lte=window_end)
            .select_related("project")
            .order_by("started_at", "pk")
        )
        facility_kwh = {
            run.pk: calc.facility_energy_kwh(
                it_energy_kwh=run.energy_kwh, site_pue=site.pue, tracker_pue=run.tracker_pue
            )
            for run in runs
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
            covered = [r for r in runs if reading.period_start <= r.started_at.date() <= reading.period_end]
            allocation = calc.metered_energy_allocate(
                metered_kwh=reading.energy_kwh, facility_kwh_by_key={r.pk: facility_kwh[r.pk] for r in covered}
            )
            flags = ["trackers_exceed_meter"] if allocation.scale < 1 else []
            for run in covered:
                metered_runs.add(run.pk)
                day = run.started_at.date()
                blocks.append(
                    _Block(
                        f"run:{run.pk}",
                        site,
                        day,
                        day,
                        allocation.allocated_kwh[run.pk],
                        QualityTier.METERED,
                        run,
                        flags,
                    )
                )
            reading_days = calc.days_inclusive(reading.period_start, reading.period_end)
            span = Period(label="reading", start=reading.period_start, end=reading.period_end)
            for month_start, month_end in span.months():
                start, end = max(month_start, reading.period_start), min(month_end, reading.period_end)
                share = calc.days_inclusive(start, end) / reading_days
                key = f"idle:{reading.pk}:{month_start}"
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
        for run in runs:
            if run.pk not in metered_runs:
                day = run.started_at.date()
                block = _Block(
                    f"run:{run.pk}", site, day, day, facility_kwh[run.pk], QualityTier.MEASURED, run, ["no_meter"]
                )
                blocks.append(block)
        return blocks

    def _market(self, blocks: list[_Block], instruments: list[calc.Instrument]) -> dict:
        zones = {b.site.zone.code for b in blocks}
        year = self.period.start.year
        residual, grid = {}, {}
        for zone in zones:
            mix = self.book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=year)
            if mix is not None:
                residual[zone] = mix.value
            average = self.book.location(zone=zone, year=year)
            if average is not None:
                grid[zone] = average.value
        consumptions = [
            calc.Consumption(b.key, b.site.zone.code, b.start, b.end, b.energy_kwh)
            for b in blocks
            if b.site.zone.code in residual or b.site.zone.code in grid
        ]
        return calc.market_based_allocate(
            consumptions=consumptions,
            instruments=instruments,
            residual_mix_g_per_kwh=residual,
            grid_average_g_per_kwh=grid,
        )

    def _electricity_records(self, block: _Block, market: calc.MarketResult | None) -> None:
        zone = block.site.zone.code
        factor = self._location_factor(zone, block.start.replace(day=1), _month_end(block.start))
        if factor is None:
            return
        location_kg = calc.emissions_kg(energy_kwh=block.energy_kwh, intensity_g_per_kwh=factor.value)
        # A lifecycle factor stands in for a direct one: the figure is one quality tier weaker.
        quality = _tier_below(block.quality) if "lifecycle_factor" in factor.flags else block.quality
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
            factors["market"] = {
                "instruments": [{"id": i, "kwh": kwh, "g_per_kwh": g} for i, kwh, g in market.covered],
                "remainder_kwh": market.remainder_kwh,
                "remainder_g_per_kwh": market.remainder_intensity_g_per_kwh,
                "remainder_basis": market.remainder_basis,
            }
            if market.remainder_basis == "grid_average":
                flags.append("market_grid_average_fallback")
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
        self._category_3_records(block, factor, quality, common)

    def _category_3_records(self, block: _Block, direct: ResolvedFactor, quality: str, common: dict) -> None:
        zone, year, month = block.site.zone.code, block.start.year, block.start.month
        upstream = self.book.grid(zone=zone, kind=FactorKind.UPSTREAM, year=year, month=month)
        lifecycle = self.book.grid(zone=zone, kind=FactorKind.LIFECYCLE, year=year, month=month)
        is_direct = "lifecycle_factor" not in direct.flags
        upstream_kg = calc.upstream_electricity_kg(
            energy_kwh=block.energy_kwh,
            upstream_g_per_kwh=upstream.value if upstream else None,
            lifecycle_g_per_kwh=lifecycle.value if (lifecycle and is_direct) else None,
            direct_g_per_kwh=direct.value if is_direct else None,
        )
        if upstream_kg is None:
            self.gaps.append(f"no upstream (Cat 3b) factor for zone {zone}")
        else:
            used = upstream or lifecycle
            self._add(
                scope=Scope.SCOPE_3,
                category=3,
                subcategory="3b",
                location_kg=upstream_kg,
                quality=quality,
                factors={"upstream": used.as_provenance(), "direct": direct.as_provenance()},
                **common,
            )
        td = self.book.grid(zone=zone, kind=FactorKind.TD_LOSS, year=year, month=month)
        if td is None:
            self.gaps.append(f"no T&D loss (Cat 3c) factor for zone {zone}")
        else:
            td_kg = calc.td_loss_kg(energy_kwh=block.energy_kwh, td_loss_g_per_kwh=td.value)
            self._add(
                scope=Scope.SCOPE_3,
                category=3,
                subcategory="3c",
                location_kg=td_kg,
                quality=quality,
                factors={"td_loss": td.as_provenance()},
                **common,
            )

    # --- Cloud billing (Scope 3 Cat 1) ------------------------------------------------------------

    def cloud_billing(self) -> None:
        """Billing-based estimates per provider, month, region and owner; the provider's own figure,
        where one covers the month, is the inventory number and the estimates only share it out."""
        lines = CloudUsage.objects.for_org(self.organization).filter(
            usage_start__date__gte=self.period.start, usage_start__date__lte=self.period.end, charge_category="usage"
        )
        it_kwh = sum(Coalesce(F(name), 0.0) for name in _ENERGY_CLASSES)
        groups = list(
            lines.values("provider", "billing_period", "region", "cloud_region__zone__code", "team_id", "project_id")
            .annotate(
                facility_kwh=Sum(it_kwh * Coalesce(F("pue"), 1.0)),
                embodied_kg=Sum(Coalesce(F("embodied_kg_co2e"), 0.0)),
                unclassified_cost=Sum("cost", filter=Q(classification="unclassified")),
                classified_cost=Sum("cost", filter=~Q(classification="unclassified")),
                lines=Count("id"),
            )
            .order_by("provider", "billing_period", "region", "team_id", "project_id")
        )
        if not groups:
            return
        self._covered_cloud_months = {(g["provider"], g["billing_period"]) for g in groups}
        estimates = [self._cloud_group_estimate(group, groups) for group in groups]
        reported = {
            (row["provider"], row["billing_period"]): row
            for row in ProviderCarbon.objects.for_org(self.organization)
            .filter(billing_period__in={g["billing_period"] for g in groups})
            .values("provider", "billing_period")
            .annotate(location=Sum("total_location_kg_co2e"), market=Sum("total_market_kg_co2e"))
        }
        totals = defaultdict(float)
        for group, (kg, _) in zip(groups, estimates, strict=True):
            totals[(group["provider"], group["billing_period"])] += kg
        for group, (kg, factors) in zip(groups, estimates, strict=True):
            month = (group["provider"], group["billing_period"])
            common = {
                "scope": Scope.SCOPE_3, "category": 1, "subcategory": "cloud",
                "activity_kind": ActivityKind.CLOUD_USAGE,
                "start": group["billing_period"], "end": _month_end(group["billing_period"]),
                "energy_kwh": group["facility_kwh"],
            }  # fmt: skip
            record_owner = {"team_id": group["team_id"], "project_id": group["project_id"]}
            if month in reported and totals[month] > 0:
                share = kg / totals[month]
                provider = reported[month]
                factors = {**factors, "provider_share": share, "provider_location_kg": provider["location"]}
                self._add(
                    location_kg=provider["location"] * share, market_kg=None, quality=QualityTier.PROVIDER_REPORTED,
                    factors=factors, flags=["provider_reported_shared_by_estimate"], owner=record_owner, **common,
                )  # fmt: skip
                # Market-based: the provider's MBM, shared the same way, kept beside it in the factors.
                self.records[-1].factors["provider_market_kg"] = provider["market"] * share
            else:
                self._add(
                    location_kg=kg, quality=QualityTier.BILLING_ESTIMATE, factors=factors, owner=record_owner, **common
                )
        for month in reported.keys() - totals.keys():
            self.gaps.append(f"provider carbon for {month[0]} {month[1]:%Y-%m} has no billing lines to share it out")

    def _cloud_group_estimate(self, group: dict, groups: list[dict]) -> tuple[float, dict]:
        """kgCO2e of a billing group: facility kWh × the region's grid factor + embodied share; lines the
        estimator could not classify get energy from the classified lines' kWh per cost (CCF)."""
        facility_kwh = group["facility_kwh"] or 0.0
        flags = []
        if group["unclassified_cost"]:
            same_month = [
                g
                for g in groups
                if (g["provider"], g["billing_period"]) == (group["provider"], group["billing_period"])
            ]
            classified_cost = sum(float(g["classified_cost"] or 0) for g in same_month)
            kwh_per_cost = (
                sum(g["facility_kwh"] or 0.0 for g in same_month) / classified_cost if classified_cost else 0.0
            )
            facility_kwh += float(group["unclassified_cost"]) * kwh_per_cost
            group["facility_kwh"] = facility_kwh
            flags.append("unclassified_by_cost_ratio")
        zone = group["cloud_region__zone__code"]
        factor = (
            self._location_factor(zone, group["billing_period"], _month_end(group["billing_period"])) if zone else None
        )
        if factor is None:
            self.gaps.append(f"no grid factor for {group['provider']} region {group['region'] or '(none)'}")
            return group["embodied_kg"] or 0.0, {"flags": flags}
        operational = calc.emissions_kg(energy_kwh=facility_kwh, intensity_g_per_kwh=factor.value)
        factors = {"location": factor.as_provenance(), "embodied_kg": group["embodied_kg"], "lines": group["lines"]}
        return operational + (group["embodied_kg"] or 0.0), {**factors, "flags": flags}

    # --- Cloud runs (Scope 3 Cat 1) -------------------------------------------------------------

    def cloud_runs(self) -> None:
        """Tracker runs in a cloud region: provider energy (× region PUE) at the region's grid factor."""
        runs = (
            Run.objects.for_org(self.organization)
            .filter(started_at__date__gte=self.period.start, started_at__date__lte=self.period.end)
            .select_related("project", "cloud_region__zone")
        )
        unlocated_kwh, unlocated, covered = 0.0, 0, 0
        emissions_only_kg, emissions_only = 0.0, 0
        for run in runs:
            if "emissions_only_no_energy" in run.flags:
                # A model card gives a tracker's kgCO2e but no energy: nothing to recompute, so disclose it.
                emissions_only, emissions_only_kg = (
                    emissions_only + 1,
                    emissions_only_kg + (run.tracker_emissions_kg_co2e or 0),
                )
                continue
            if run.site_id is not None:
                continue
            if run.cloud_region is None:
                unlocated, unlocated_kwh = unlocated + 1, unlocated_kwh + run.energy_kwh
                continue
            if (run.cloud_region.provider, run.started_at.date().replace(day=1)) in self._covered_cloud_months:
                # The billing export already holds this compute: the run must not add it again.
                covered += 1
                continue
            region = run.cloud_region
            day = run.started_at.date()
            energy_kwh = calc.facility_energy_kwh(
                it_energy_kwh=run.energy_kwh, site_pue=region.pue, tracker_pue=run.tracker_pue
            )
            factor = (
                self._location_factor(region.zone.code, day.replace(day=1), _month_end(day)) if region.zone else None
            )
            if factor is None and region.intensity_g_per_kwh is not None:
                factor = ResolvedFactor(
                    value=region.intensity_g_per_kwh,
                    unit="gCO2e/kWh",
                    factor_id=region.pk,
                    kind="cloud_region",
                    zone="",
                    period="",
                    dataset=str(region.dataset_id),
                    flags=("region_published_factor",),
                )
            if factor is None:
                self.gaps.append(f"no grid factor for cloud region {region}")
                continue
            self._add(
                scope=Scope.SCOPE_3,
                category=1,
                subcategory="cloud",
                activity_kind=ActivityKind.RUN,
                activity_id=run.pk,
                run=run,
                start=day,
                end=day,
                energy_kwh=energy_kwh,
                location_kg=calc.emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=factor.value),
                quality=QualityTier.MEASURED,
                factors={"location": factor.as_provenance(), "pue": region.pue},
                flags=list(factor.flags),
            )
        if emissions_only:
            self.gaps.append(
                f"{emissions_only} run(s) report only the tracker's emissions ({emissions_only_kg:,.3f} kgCO2e), no "
                "energy: not in the ledger"
            )
        if covered:
            self.gaps.append(f"{covered} cloud run(s) fall in months covered by billing data: counted there, not twice")
        if unlocated:
            self.gaps.append(f"{unlocated} run(s) with neither a site nor a cloud region ({unlocated_kwh:,.1f} kWh IT)")

    # --- Scope 1 --------------------------------------------------------------------------------

    def scope_1(self) -> None:
        """Stationary combustion (fuel × factor) and fugitive refrigerant (kg × GWP100)."""
        for use in FuelUse.objects.for_org(self.organization).filter(
            used_on__gte=self.period.start, used_on__lte=self.period.end
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
            )
            # GreenGuild ships no well-to-tank fuel factors (DESNZ WTT rows are not in the corpus).
            self.gaps.append("no well-to-tank (Cat 3a) fuel factors are loaded: upstream of fuels not computed")
        for loss in RefrigerantLoss.objects.for_org(self.organization).filter(
            occurred_on__gte=self.period.start, occurred_on__lte=self.period.end
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
            )

    # --- Embodied: Cat 2 (inventory), amortization and write-offs (management), Cat 5 --------------

    def embodied(self) -> None:
        start, end = self.period.start, self.period.end
        amortized_by_site: dict[int, float] = defaultdict(float)
        range_by_site: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        gpu_hours_by_site: dict[int, float] = defaultdict(float)
        sites: dict[int, Site] = {}
        assets = []
        for asset in HardwareAsset.objects.for_org(self.organization).select_related("hardware_model", "site"):
            model = asset.hardware_model
            own_figure = asset.embodied_kg_co2e_per_unit is not None
            embodied = calc.Asset(
                acquired_on=asset.acquired_on,
                in_service_on=asset.in_service_on,
                lifetime_years=asset.lifetime_years,
                embodied_kg_co2e=asset.quantity * asset.embodied_per_unit_kg_co2e,
                retired_on=asset.retired_on,
            )
            assets.append(embodied)
            quality = QualityTier.PROVIDER_REPORTED if own_figure else QualityTier.DEFAULT
            # The catalogue's range of published figures, relative to its central figure; a buyer's own PCF has none.
            low_ratio = (
                1.0 if own_figure or not model.embodied_kg_co2e else model.embodied_low_kg_co2e / model.embodied_kg_co2e
            )
            high_ratio = (
                1.0
                if own_figure or not model.embodied_kg_co2e
                else model.embodied_high_kg_co2e / model.embodied_kg_co2e
            )
            factors = {"hardware_model": {"id": model.pk, "name": model.name, "dataset": str(model.dataset or "")}}
            common = {"activity_kind": ActivityKind.HARDWARE_ASSET, "activity_id": asset.pk, "site": asset.site}
            additions = calc.capital_goods_kg(asset=embodied, period_start=start, period_end=end)
            if additions:
                self._add(
                    scope=Scope.SCOPE_3,
                    category=2,
                    basis=Basis.CAPITAL_GOODS,
                    start=asset.acquired_on,
                    end=asset.acquired_on,
                    location_kg=additions,
                    quality=quality,
                    factors=factors,
                    low_high=(additions * low_ratio, additions * high_ratio),
                    **common,
                )
            written_off = calc.written_off_kg(asset=embodied, period_start=start, period_end=end)
            if written_off:
                self._add(
                    scope=Scope.SCOPE_3,
                    category=2,
                    basis=Basis.EMBODIED_WRITE_OFF,
                    start=asset.retired_on,
                    end=asset.retired_on,
                    location_kg=written_off,
                    quality=quality,
                    factors=factors,
                    low_high=(written_off * low_ratio, written_off * high_ratio),
                    **common,
                )
            self._disposal_record(asset, common)
            amortized = calc.amortized_kg(asset=embodied, period_start=start, period_end=end)
            amortized_by_site[asset.site_id] += amortized
            range_by_site[asset.site_id][0] += amortized * low_ratio
            range_by_site[asset.site_id][1] += amortized * high_ratio
            sites[asset.site_id] = asset.site
            service_end = embodied.retired_on or end
            days = calc.overlap_days(start, end, asset.in_service_on, min(service_end, end))
            gpu_hours_by_site[asset.site_id] += asset.gpu_count_total * days * 24.0
        for site_id, amortized in amortized_by_site.items():
            self._amortization_records(sites[site_id], amortized, range_by_site[site_id], gpu_hours_by_site[site_id])
        roll = calc.roll_forward(assets=assets, period_start=start, period_end=end)
        self.roll_forward = roll.__dict__.copy()

    def _disposal_record(self, asset: HardwareAsset, common: dict) -> None:
        retired = asset.retired_on
        if retired is None or not (self.period.start <= retired <= self.period.end):
            return
        if not asset.disposal_route:
            self.gaps.append(f"asset {asset.asset_id} retired without a disposal route (Cat 5 not computed)")
            return
        factor = self.book.disposal(asset_class=asset.hardware_model.asset_class, disposal_route=asset.disposal_route)
        if factor is None:
            self.gaps.append(
                f"no disposal factor for {asset.hardware_model.asset_class} by {asset.disposal_route} "
                f"(Cat 5 of asset {asset.asset_id} not computed; import disposal_factors)"
            )
            return
        self._add(
            scope=Scope.SCOPE_3,
            category=5,
            start=retired,
            end=retired,
            location_kg=asset.quantity * factor.value,
            quality=QualityTier.DEFAULT,
            factors={"disposal": factor.as_provenance()},
            **common,
        )

    def _amortization_records(self, site: Site, amortized_kg: float, ranges: list[float], available_gpu_hours: float):
        """Share a site's amortization among its runs by GPU-hours; the remainder is the idle bucket."""
        if amortized_kg <= 0:
            return
        runs = list(
            Run.objects.for_org(self.organization)
            .filter(site=site, started_at__date__gte=self.period.start, started_at__date__lte=self.period.end)
            .select_related("project")
        )
        used = {run.pk: run.gpu_hours for run in runs}
        total_used = sum(used.values())
        denominator = max(available_gpu_hours, total_used)  # a fleet register missing GPUs cannot give > 100 %
        low_ratio, high_ratio = ranges[0] / amortized_kg, ranges[1] / amortized_kg
        allocated = 0.0
        for run in runs:
            share = calc.gpu_hours_share(used_gpu_hours=used[run.pk], available_gpu_hours=denominator)
            if share <= 0:
                continue
            kg = amortized_kg * share
            allocated += kg
            day = run.started_at.date()
            self._add(
                scope=Scope.SCOPE_3,
                category=2,
                basis=Basis.EMBODIED_AMORTIZED,
                activity_kind=ActivityKind.RUN,
                activity_id=run.pk,
                run=run,
                site=site,
                start=day,
                end=day,
                location_kg=kg,
                quality=QualityTier.DEFAULT,
                factors={"gpu_hours": used[run.pk], "gpu_hours_available": denominator},
                low_high=(kg * low_ratio, kg * high_ratio),
            )
        idle_kg = max(amortized_kg - allocated, 0.0)
        if idle_kg > 0:
            self._add(
                scope=Scope.SCOPE_3,
                category=2,
                basis=Basis.EMBODIED_AMORTIZED,
                activity_kind=ActivityKind.UNALLOCATED,
                site=site,
                start=self.period.start,
                end=self.period.end,
                location_kg=idle_kg,
                quality=QualityTier.DEFAULT,
                factors={"gpu_hours_used": total_used, "gpu_hours_available": denominator},
                low_high=(idle_kg * low_ratio, idle_kg * high_ratio),
                flags=["idle"],
            )


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


_TIERS = list(QualityTier.values)


def _tier_below(quality: str) -> str:
    """The next weaker quality tier (QualityTier is declared best first)."""
    return _TIERS[min(_TIERS.index(quality) + 1, len(_TIERS) - 1)]


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
