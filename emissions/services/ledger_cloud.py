"""The cloud part of the ledger: billing lines and tracker runs in cloud regions (Scope 3 Cat 1)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from emissions import calculations as calc
from emissions.choices import ActivityKind, Basis, FactorKind, QualityTier, Scope
from emissions.cloud_estimation import (
    NO_ENERGY,
    accelerator_of,
    cloud_run_embodied_kg_per_gpu_hour,
    coefficient_tables_load,
    gpu_like,
)
from emissions.cloud_sharing import EstimateGroup, price_group
from emissions.factor_book import FactorBook, ResolvedFactor
from emissions.models import CloudRegion, CloudUsage, Run
from emissions.periods import month_end
from emissions.selectors import run_billing_cover, runs_with_billing_cover
from emissions.selectors_cloud import cloud_estimates, cloud_usage_lines, provider_latest_months, provider_rows
from emissions.services.ledger_draft import CloudFields, LedgerDraft, LocationFactors, Owner, cloud_common
from emissions.services.ledger_provider import ProviderLines
from emissions.services.run_pieces import RunPiece, run_pieces, runs_overlapping
from emissions.services.run_quality import run_tier


class CloudLines:
    """Records for cloud billing lines (the provider's own figures through ``ProviderLines``) and cloud tracker
    runs; ``cloud_billing`` first: ``cloud_runs`` leaves out runs its billing lines hold."""

    def __init__(self, draft: LedgerDraft, book: FactorBook, factors: LocationFactors, provider: ProviderLines) -> None:
        self._draft = draft
        self._book = book
        self._factors = factors
        self._provider = provider
        # Provider and month of every billing estimate group (cloud_billing), for cloud_runs.
        self._covered_cloud_months: set[tuple[str, date]] = set()

    # --- Cloud billing (Scope 3 Cat 1) ------------------------------------------------------------

    def cloud_billing(self) -> None:
        """Billing-based estimates per provider, month, account, region, service and owner; where the
        provider's own export covers an account and month, its figures are the inventory numbers for what
        they cover and the estimates only share them out (cloud_sharing.py, ledger_provider.py)."""
        period = (self._draft.period.start, self._draft.period.end)
        groups = cloud_estimates(organization=self._draft.organization, start=period[0], end=period[1])
        rows = provider_rows(organization=self._draft.organization, start=period[0].replace(day=1), end=period[1])
        if groups:
            lines = cloud_usage_lines(organization=self._draft.organization, start=period[0], end=period[1])
            self._unsupported_provider_gaps(lines)
            self._accelerator_power_gaps(lines)
            self._covered_cloud_months = {(g.provider, g.period) for g in groups}
        factors = [self._cloud_group_estimate(group) for group in groups]
        covered = {row.unit for row in rows}
        latest = provider_latest_months(organization=self._draft.organization)
        pending = [0, 0.0]
        for group, group_factors in zip(groups, factors, strict=True):
            if group.unit in covered:
                continue
            flags = list(group.flags)
            if group.provider in latest and group.period > latest[group.provider]:
                # The provider publishes its figures months late: this estimate is replaced when they land.
                flags.append("provider_figure_pending")
                pending = [pending[0] + 1, pending[1] + group.location_kg]
            self._estimate_records(group, group_factors, flags)
        if pending[0]:
            self._draft.gaps.append(
                f"{pending[0]} cloud estimate(s) ({pending[1]:,.1f} kgCO2e) are provisional: the provider has not "
                "published its carbon figures for their month yet; they are restated when the export is imported"
            )
        covered_groups = [(group, f) for group, f in zip(groups, factors, strict=True) if group.unit in covered]
        self._provider.provider_records(rows, covered_groups)

    def _estimate_records(self, group: EstimateGroup, factors: dict[str, Any], flags: list[str]) -> None:
        """The group's estimate; billed GPU-hours no tracker run covers (measured groups) as a record of their
        own, the cloud idle bucket, priced at the same factors."""
        owner: Owner = {"team_id": group.team_id, "project_id": group.project_id}
        idle_share = group.idle_facility_kwh / group.facility_kwh if group.facility_kwh else 0.0
        idle_location = (group.location_kg - group.embodied_kg) * idle_share
        idle_market = (group.market_kg - group.embodied_kg) * idle_share
        common: _EstimateFields = {
            **cloud_common(group.period),
            "quality": QualityTier.BILLING_ESTIMATE,
            "owner": owner,
        }
        self._draft.add(
            **common,
            energy_kwh=group.facility_kwh - group.idle_facility_kwh,
            factors=factors,
            flags=flags,
            location_kg=group.location_kg - idle_location,
            market_kg=group.market_kg - idle_market,
        )
        if group.idle_facility_kwh:
            self._draft.add(
                **common,
                energy_kwh=group.idle_facility_kwh,
                location_kg=idle_location,
                market_kg=idle_market,
                factors={**factors, "idle_share": idle_share},
                flags=[*flags, "cloud_idle_gpu"],
            )

    def _unsupported_provider_gaps(self, lines: QuerySet[CloudUsage]) -> None:
        """A data gap per provider we have no coefficients for (Oracle, Alibaba…): its lines' count and cost."""
        unsupported = (
            lines.filter(classification="unsupported")
            .values("provider")
            .annotate(lines=Count("id"), cost=Sum("cost"))
            .order_by("provider")
        )
        for row in unsupported:
            self._draft.gaps.append(
                f"{row['lines']} billing line(s) of {row['provider']} (cost {float(row['cost'] or 0):,.2f}) are not "
                "estimated: GreenGuild has no emission coefficients for this provider"
            )

    def _accelerator_power_gaps(self, lines: QuerySet[CloudUsage]) -> None:
        """A data gap per accelerator instance type whose accelerators have no power figure (Trainium,
        Inferentia, recent TPUs): the lines keep their CPU and memory energy, their accelerators count 0.
        Then a gap per kind of line that looks like GPU or accelerator use but carries no GPU energy."""
        tables = coefficient_tables_load()
        named: set[tuple[str, str]] = set()
        fell_back = (
            lines.filter(classification="gpu", estimate_fell_back=True)
            .values("provider", "instance_type")
            .annotate(lines=Count("id"), cost=Sum("cost"))
            .order_by("provider", "instance_type")
        )
        for row in fell_back:
            found = accelerator_of(row["provider"], row["instance_type"], tables)
            power = tables.gpu_power.get(found[0]) if found else None
            if found is not None and (power is None or power.max_w is None):
                named.add((row["provider"], row["instance_type"]))
                self._draft.gaps.append(
                    f"{row['lines']} billing line(s) of {row['provider']} {row['instance_type']} (cost "
                    f"{float(row['cost'] or 0):,.2f}): no power figure for {found[0]}, its accelerator "
                    "energy is not estimated (CPU and memory are)"
                )
        self._gpu_like_zero_gaps(lines, named)

    def _gpu_like_zero_gaps(self, lines: QuerySet[CloudUsage], named: set[tuple[str, str]]) -> None:
        """Lines whose service, SKU, usage type or instance type names a GPU or accelerator but that carry no
        GPU energy (an unknown instance, a SKU the estimator cannot read): a gap with their count and cost."""
        kinds = (
            lines.exclude(classification__in=NO_ENERGY)
            .filter(Q(gpu_energy_kwh__isnull=True) | Q(gpu_energy_kwh=0))
            .values("provider", "service", "sku", "usage_type", "instance_type")
            .annotate(lines=Count("id"), cost=Sum("cost"))
            .order_by("provider", "instance_type", "sku", "usage_type", "service")
        )
        for row in kinds:
            text = " ".join((row["service"], row["sku"], row["usage_type"], row["instance_type"]))
            if (row["provider"], row["instance_type"]) in named or not gpu_like(text):
                continue
            label = row["instance_type"] or row["sku"] or row["usage_type"] or row["service"]
            self._draft.gaps.append(
                f"{row['lines']} billing line(s) of {row['provider']} {label} (cost {float(row['cost'] or 0):,.2f}) "
                "look like GPU or accelerator use but carry no GPU energy: the estimate misses it"
            )

    def _cloud_group_estimate(self, group: EstimateGroup) -> dict[str, Any]:
        """Price the group at its region's factors (cloud_sharing.price_group) and return the factors used."""
        zone, month = group.zone, group.period
        location = self._factors.block(zone, month, month_end(month)) if zone else None
        # The month's residual mix where one is loaded (the organization's own › monthly › yearly), as for sites.
        residual = (
            self._book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month)
            if zone and location
            else None
        )
        if location is None:
            region = f"{group.provider} {group.region or '(none)'}"
            self._draft.gap("no_cloud_region_factor", group.facility_kwh, region=region)
        return price_group(group, location, residual)

    # --- Cloud runs (Scope 3 Cat 1) -------------------------------------------------------------

    def cloud_runs(self) -> None:
        """Tracker runs in a cloud region: provider energy (× region PUE) at the region's grid factor."""
        period = self._draft.period
        runs = runs_with_billing_cover(
            runs_overlapping(Run.objects.for_org(self._draft.organization), period.start, period.end).select_related(
                "project", "cloud_region__zone", "hardware_model"
            )
        )
        unlocated_kwh, unlocated, covered = 0.0, 0, 0
        emissions_only_kg, emissions_only = 0.0, 0
        for run in runs:
            starts_here = run.started_at.date() >= period.start  # disclosed once, in the period it started
            if "emissions_only_no_energy" in run.flags:
                # A model card gives a tracker's kgCO2e but no energy: nothing to recompute, so disclose it.
                if starts_here:
                    emissions_only += 1
                    emissions_only_kg += run.tracker_emissions_kg_co2e or 0
                continue
            if run.site_id is not None or run.grid_zone_id is not None:
                continue  # electricity() and offsite_runs() count these
            region = run.cloud_region
            if region is None:
                if starts_here:
                    unlocated, unlocated_kwh = unlocated + 1, unlocated_kwh + run.energy_kwh
                continue
            month = (region.provider, run.started_at.date().replace(day=1))
            if month in self._covered_cloud_months and run_billing_cover(run=run):
                # A billing line holds this run's compute (same resource, else region and time): the run
                # must not add it again. A bill of another region or resource leaves the run counted.
                covered += 1
                continue
            for piece in run_pieces([run]):
                if period.start <= piece.start <= period.end:
                    self._cloud_run_piece(run, region, piece)
        if emissions_only:
            self._draft.gaps.append(
                f"{emissions_only} run(s) report only the tracker's emissions ({emissions_only_kg:,.3f} kgCO2e), no "
                "energy: not in the ledger"
            )
        if covered:
            self._draft.gaps.append(
                f"{covered} cloud run(s) ran on compute that billing lines hold (same resource, else same region and "
                "time): counted there, not twice"
            )
        if unlocated:
            self._draft.gaps.append(
                f"{unlocated} run(s) with no location at all ({unlocated_kwh:,.1f} kWh IT): no site, cloud region or "
                "tracker country, and the organization has no default location (Settings → Off-site runs)"
            )

    def _cloud_run_embodied(self, run: Run, piece: RunPiece) -> None:
        """A cloud GPU run's share of its hardware's embodied emissions, as an on-prem run carries its site's:
        management view (amortized), by GPU-hours, at the per-GPU-hour figure billing estimates use."""
        gpu_hours = piece.share * run.gpu_hours
        if gpu_hours <= 0:
            return
        model = run.hardware_model.name if run.hardware_model is not None else ""
        kg_per_gpu_hour, provenance = cloud_run_embodied_kg_per_gpu_hour(coefficient_tables_load(), model)
        self._draft.add(
            scope=Scope.SCOPE_3,
            category=1,
            subcategory="cloud",
            basis=Basis.EMBODIED_AMORTIZED,
            activity_kind=ActivityKind.RUN,
            activity_id=run.pk,
            run=run,
            start=piece.start,
            end=piece.end,
            location_kg=gpu_hours * kg_per_gpu_hour,
            quality=QualityTier.DEFAULT,
            factors={"cloud_embodied": provenance, "gpu_hours": gpu_hours, "kg_per_gpu_hour": kg_per_gpu_hour},
            flags=list(piece.flags),
        )

    def _cloud_run_piece(self, run: Run, region: CloudRegion, piece: RunPiece) -> None:
        """The record of a cloud run's part in one month: facility kWh at the region's factor of that month."""
        self._cloud_run_embodied(run, piece)
        energy_kwh = piece.share * calc.facility_energy_kwh(
            it_energy_kwh=run.energy_kwh, site_pue=region.pue, tracker_pue=run.tracker_pue
        )
        factor = self._factors.run(region.zone.code, run, piece.start, piece.end) if region.zone else None
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
            self._draft.gap("no_cloud_region_factor", energy_kwh, region=f"{region.provider} {region.region}")
            return
        self._draft.add(
            scope=Scope.SCOPE_3,
            category=1,
            subcategory="cloud",
            activity_kind=ActivityKind.RUN,
            activity_id=run.pk,
            run=run,
            start=piece.start,
            end=piece.end,
            energy_kwh=energy_kwh,
            location_kg=calc.emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=factor.value),
            quality=run_tier(run),
            factors={"location": factor.as_provenance(), "pue": region.pue},
            flags=[*factor.flags, *piece.flags],
        )


class _EstimateFields(CloudFields):
    """What the records of one billing estimate group share."""

    quality: str
    owner: Owner
