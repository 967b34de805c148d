"""The embodied part of the ledger: Cat 2 at acquisition, amortization by GPU-hours, write-offs, Cat 5."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict

from emissions import calculations as calc
from emissions.choices import ActivityKind, Basis, QualityTier, Scope
from emissions.factor_book import FactorBook
from emissions.models import HardwareAsset, Run, Site
from emissions.services.ledger_draft import LedgerDraft, Owner
from emissions.services.run_pieces import runs_overlapping


class EmbodiedLines:
    """Records for the inventory and management views of the fleet's embodied emissions, and its roll-forward."""

    def __init__(self, draft: LedgerDraft, book: FactorBook) -> None:
        self._draft = draft
        self._book = book

    # --- Embodied: Cat 2 (inventory), amortization and write-offs (management), Cat 5 --------------

    def embodied(self) -> None:
        start, end = self._draft.period.start, self._draft.period.end
        pools: dict[int, list[_Pooled]] = defaultdict(list)
        sites: dict[int, Site] = {}
        assets = []
        register = HardwareAsset.objects.for_org(self._draft.organization).select_related("hardware_model", "site")
        for asset in register:
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
            # The buyer's own product carbon footprint is supplier-specific data (GHG Protocol Scope 3 Standard,
            # ch. 7); the catalogue's figure is a default.
            quality = QualityTier.SUPPLIER_SPECIFIC if own_figure else QualityTier.DEFAULT
            # The catalogue's range of published figures, relative to its central figure; a buyer's own PCF has none.
            central = model.embodied_kg_co2e
            ratios = (
                (1.0, 1.0)
                if own_figure or not central
                else (model.embodied_low_kg_co2e / central, model.embodied_high_kg_co2e / central)
            )
            factors = {"hardware_model": {"id": model.pk, "name": model.name, "dataset": str(model.dataset or "")}}
            # Whose hardware it is (the register's team): its capital goods count in that team's budgets.
            common: _AssetFields = {
                "activity_kind": ActivityKind.HARDWARE_ASSET,
                "activity_id": asset.pk,
                "site": asset.site,
                "owner": {"team_id": asset.team_id},
            }
            # Inventory view: the full figure when acquired; management view: the balance at early retirement.
            capital_goods_kg = calc.capital_goods_kg(asset=embodied, period_start=start, period_end=end)
            written_off_kg = calc.written_off_kg(asset=embodied, period_start=start, period_end=end)
            booked = (
                (Basis.CAPITAL_GOODS, asset.acquired_on, capital_goods_kg),
                (Basis.EMBODIED_WRITE_OFF, asset.retired_on, written_off_kg),
            )
            for basis, day, kg in booked:
                if kg:
                    self._draft.add(
                        scope=Scope.SCOPE_3,
                        category=2,
                        basis=basis,
                        start=day,
                        end=day,
                        location_kg=kg,
                        quality=quality,
                        factors=factors,
                        low_high=(kg * ratios[0], kg * ratios[1]),
                        **common,
                    )
            self._disposal_record(asset, common)
            pools[asset.site_id].append(_Pooled(embodied, asset.gpu_count_total, quality, ratios))
            sites[asset.site_id] = asset.site
        for site_id, pooled in pools.items():
            self._site_amortization(sites[site_id], pooled)
        roll = calc.roll_forward(assets=assets, period_start=start, period_end=end)
        self._draft.roll_forward = roll.__dict__.copy()

    def _site_amortization(self, site: Site, pooled: list[_Pooled]) -> None:
        """A site's amortization, shared among its runs span by span: the period is cut where an asset enters or
        leaves service, so a run shares only the amortization of hardware in service while it ran (a run before
        the fleet's in-service date carries none); a run is counted in each span for the GPU-hours it ran there
        (a run across a quarter end carries a share in both quarters); each quality tier keeps its own records."""
        period = self._draft.period
        runs = list(
            runs_overlapping(
                Run.objects.for_org(self._draft.organization).filter(site=site), period.start, period.end
            ).select_related("project")
        )
        for span_start, span_end in _service_spans(period.start, period.end, [p.asset for p in pooled]):
            span = {"period_start": span_start, "period_end": span_end}
            # GPU-hours available for the run shares: in service through the day before retirement.
            available_gpu_hours = sum(p.gpu_count * calc.service_days(asset=p.asset, **span) * 24.0 for p in pooled)
            span_runs = [
                (run, gpu_hours) for run in runs if (gpu_hours := _gpu_hours_within(run, span_start, span_end)) > 0
            ]
            by_quality: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
            for p in pooled:
                kg = calc.amortized_kg(asset=p.asset, **span)
                totals = by_quality[p.quality]
                totals[0] += kg
                totals[1] += kg * p.ratios[0]
                totals[2] += kg * p.ratios[1]
            for quality, (kg, low_kg, high_kg) in sorted(by_quality.items()):
                self._amortization_records(
                    site, span_runs, (span_start, span_end), kg, (low_kg, high_kg), available_gpu_hours, quality
                )

    def _disposal_record(self, asset: HardwareAsset, common: _AssetFields) -> None:
        retired = asset.retired_on
        period = self._draft.period
        if retired is None or not (period.start <= retired <= period.end):
            return
        if not asset.disposal_route:
            self._draft.gaps.append(f"asset {asset.asset_id} retired without a disposal route (Cat 5 not computed)")
            return
        factor = self._book.disposal(asset_class=asset.hardware_model.asset_class, disposal_route=asset.disposal_route)
        if factor is None:
            self._draft.gaps.append(
                f"no disposal factor for {asset.hardware_model.asset_class} by {asset.disposal_route} "
                f"(Cat 5 of asset {asset.asset_id} not computed; import disposal_factors)"
            )
            return
        self._draft.add(
            scope=Scope.SCOPE_3,
            category=5,
            start=retired,
            end=retired,
            location_kg=asset.quantity * factor.value,
            quality=QualityTier.DEFAULT,
            factors={"disposal": factor.as_provenance()},
            **common,
        )

    def _amortization_records(
        self,
        site: Site,
        runs: list[tuple[Run, float]],
        span: tuple[date, date],
        amortized_kg: float,
        range_kg: tuple[float, float],
        available_gpu_hours: float,
        quality: str,
    ) -> None:
        """Share one span's amortization (of one quality tier) among the site's runs of that span by the GPU-hours
        each ran in it; the remainder is the idle bucket."""
        if amortized_kg <= 0:
            return
        used = {run.pk: gpu_hours for run, gpu_hours in runs}
        total_used = sum(used.values())
        denominator = max(available_gpu_hours, total_used)  # a fleet register missing GPUs cannot give > 100 %
        low_ratio, high_ratio = range_kg[0] / amortized_kg, range_kg[1] / amortized_kg
        allocated = 0.0
        for run, _ in runs:
            share = calc.gpu_hours_share(used_gpu_hours=used[run.pk], available_gpu_hours=denominator)
            if share <= 0:
                continue
            kg = amortized_kg * share
            allocated += kg
            first, last = _run_days(run)
            self._draft.add(
                scope=Scope.SCOPE_3,
                category=2,
                basis=Basis.EMBODIED_AMORTIZED,
                activity_kind=ActivityKind.RUN,
                activity_id=run.pk,
                run=run,
                site=site,
                start=max(first, span[0]),
                end=min(last, span[1]),
                location_kg=kg,
                quality=quality,
                factors={"gpu_hours": used[run.pk], "gpu_hours_available": denominator},
                low_high=(kg * low_ratio, kg * high_ratio),
            )
        idle_kg = max(amortized_kg - allocated, 0.0)
        if idle_kg > 0:
            self._draft.add(
                scope=Scope.SCOPE_3,
                category=2,
                basis=Basis.EMBODIED_AMORTIZED,
                activity_kind=ActivityKind.UNALLOCATED,
                site=site,
                start=span[0],
                end=span[1],
                location_kg=idle_kg,
                quality=quality,
                factors={"gpu_hours_used": total_used, "gpu_hours_available": denominator},
                low_high=(idle_kg * low_ratio, idle_kg * high_ratio),
                flags=["idle"],
            )


class _AssetFields(TypedDict):
    """What every record of one register line shares."""

    activity_kind: str
    activity_id: int
    site: Site
    owner: Owner


@dataclass(frozen=True)
class _Pooled:
    """One register line in its site's amortization pool: the asset's dates and figure, its GPUs, the quality of
    its embodied figure and its low/high range relative to the central figure."""

    asset: calc.Asset
    gpu_count: int
    quality: str
    ratios: tuple[float, float]


def _service_spans(start: date, end: date, assets: list[calc.Asset]) -> list[tuple[date, date]]:
    """The period cut at every day an asset enters service or leaves it (``retired_on``) inside it: within a
    span the same hardware is in service every day, so the span's amortization belongs to the span's runs."""
    cuts = sorted(
        {day for a in assets for day in (a.in_service_on, a.retired_on) if day is not None and start < day <= end}
    )
    edges = [start, *cuts]
    return [(first, (edges[i + 1] - timedelta(days=1)) if i + 1 < len(edges) else end) for i, first in enumerate(edges)]


def _run_interval(run: Run) -> tuple[datetime, datetime]:
    return run.started_at, run.ended_at or run.started_at + timedelta(seconds=run.duration_s)


def _run_days(run: Run) -> tuple[date, date]:
    start, end = _run_interval(run)
    return start.astimezone(UTC).date(), end.astimezone(UTC).date()


def _gpu_hours_within(run: Run, first_day: date, last_day: date) -> float:
    """The run's GPU-hours pro rata to the part of its time inside ``first_day``..``last_day`` (UTC days), as its
    energy is split at period ends (docs/methodology.md §2): a run from 31 March 18:00 to 1 April 06:00 on 4 GPUs
    has 24 of its 48 GPU-hours in each quarter."""
    start, end = _run_interval(run)
    window_start = datetime.combine(first_day, time(), tzinfo=UTC)
    window_end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
    if end <= start:  # an instant: wholly in the window it starts in
        return run.gpu_hours if window_start <= start < window_end else 0.0
    overlap_s = (min(end, window_end) - max(start, window_start)).total_seconds()
    return run.gpu_hours * max(overlap_s, 0.0) / (end - start).total_seconds()
