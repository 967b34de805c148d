"""The embodied part of the ledger: Cat 2 at acquisition, amortization by GPU-hours, write-offs, Cat 5."""

from __future__ import annotations

from collections import defaultdict

from emissions import calculations as calc
from emissions.choices import ActivityKind, Basis, QualityTier, Scope
from emissions.models import HardwareAsset, Run, Site


class EmbodiedLines:
    """Mixin of the ledger builder: inventory and management views of the fleet's embodied emissions."""

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
            central = model.embodied_kg_co2e
            low_ratio, high_ratio = (
                (1.0, 1.0)
                if own_figure or not central
                else (model.embodied_low_kg_co2e / central, model.embodied_high_kg_co2e / central)
            )
            factors = {"hardware_model": {"id": model.pk, "name": model.name, "dataset": str(model.dataset or "")}}
            common = {"activity_kind": ActivityKind.HARDWARE_ASSET, "activity_id": asset.pk, "site": asset.site}
            # Inventory view: the full figure when acquired; management view: the balance at early retirement.
            span = {"asset": embodied, "period_start": start, "period_end": end}
            booked = (
                (Basis.CAPITAL_GOODS, asset.acquired_on, calc.capital_goods_kg(**span)),
                (Basis.EMBODIED_WRITE_OFF, asset.retired_on, calc.written_off_kg(**span)),
            )
            for basis, day, kg in booked:
                if kg:
                    self._add(
                        scope=Scope.SCOPE_3, category=2, basis=basis, start=day, end=day, location_kg=kg,
                        quality=quality, factors=factors, low_high=(kg * low_ratio, kg * high_ratio), **common,
                    )  # fmt: skip
            self._disposal_record(asset, common)
            amortized = calc.amortized_kg(asset=embodied, period_start=start, period_end=end)
            amortized_by_site[asset.site_id] += amortized
            range_by_site[asset.site_id][0] += amortized * low_ratio
            range_by_site[asset.site_id][1] += amortized * high_ratio
            sites[asset.site_id] = asset.site
            # GPU-hours available for the run shares: in service through the day before retirement.
            days = calc.service_days(asset=embodied, period_start=start, period_end=end)
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
