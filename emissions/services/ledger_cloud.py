"""The cloud part of the ledger: billing lines and tracker runs in cloud regions (Scope 3 Cat 1)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from emissions import calculations as calc
from emissions.choices import ActivityKind, QualityTier, Scope
from emissions.cloud_estimation import NO_ENERGY, coefficient_tables_load, gpu_instance_spec
from emissions.factor_book import ResolvedFactor
from emissions.models import CloudUsage, ProviderCarbon, Run
from emissions.periods import month_end
from emissions.selectors import run_billing_cover, runs_with_billing_cover
from emissions.services.run_quality import run_tier

_ENERGY_CLASSES = (
    "compute_energy_kwh",
    "gpu_energy_kwh",
    "memory_energy_kwh",
    "storage_energy_kwh",
    "network_energy_kwh",
)


class CloudLines:
    """Mixin of the ledger builder: records for cloud billing lines and cloud tracker runs."""

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
                classified_cost=Sum("cost", filter=~Q(classification__in={"unclassified", *NO_ENERGY})),
                unsupported_cost=Sum("cost", filter=Q(classification="unsupported")),
                unsupported_lines=Count("id", filter=Q(classification="unsupported")),
                lines=Count("id"),
            )
            .order_by("provider", "billing_period", "region", "team_id", "project_id")
        )
        if not groups:
            return
        self._unsupported_provider_gaps(groups)
        self._accelerator_power_gaps(lines)
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
                "start": group["billing_period"], "end": month_end(group["billing_period"]),
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

    def _unsupported_provider_gaps(self, groups: list[dict]) -> None:
        """A data gap per provider we have no coefficients for (Oracle, Alibaba…): its lines' count and cost."""
        unsupported: dict[str, list] = defaultdict(lambda: [0, 0.0])
        for group in groups:
            if group["unsupported_lines"]:
                unsupported[group["provider"]][0] += group["unsupported_lines"]
                unsupported[group["provider"]][1] += float(group["unsupported_cost"] or 0)
        for provider, (lines, cost) in sorted(unsupported.items()):
            self.gaps.append(
                f"{lines} billing line(s) of {provider} (cost {cost:,.2f}) are not estimated: GreenGuild has no "
                "emission coefficients for this provider"
            )

    def _accelerator_power_gaps(self, lines) -> None:
        """A data gap per accelerator instance type whose accelerators have no power figure (Trainium,
        Inferentia, recent TPUs): the lines keep their CPU and memory energy, their accelerators count 0."""
        tables = coefficient_tables_load()
        fell_back = (
            lines.filter(classification="gpu", estimate_fell_back=True)
            .values("provider", "instance_type")
            .annotate(lines=Count("id"), cost=Sum("cost"))
            .order_by("provider", "instance_type")
        )
        for row in fell_back:
            spec = gpu_instance_spec(row["provider"], row["instance_type"], tables)
            power = tables.gpu_power.get(spec.hardware_model) if spec else None
            if spec is not None and (power is None or power.max_w is None):
                self.gaps.append(
                    f"{row['lines']} billing line(s) of {row['provider']} {row['instance_type']} (cost "
                    f"{float(row['cost'] or 0):,.2f}): no power figure for {spec.hardware_model}, its accelerator "
                    "energy is not estimated (CPU and memory are)"
                )

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
            self._location_factor(zone, group["billing_period"], month_end(group["billing_period"])) if zone else None
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
        runs = runs_with_billing_cover(
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
            if run.site_id is not None or run.grid_zone_id is not None:
                continue  # electricity() and offsite_runs() count these
            if run.cloud_region is None:
                unlocated, unlocated_kwh = unlocated + 1, unlocated_kwh + run.energy_kwh
                continue
            month = (run.cloud_region.provider, run.started_at.date().replace(day=1))
            if month in self._covered_cloud_months and run_billing_cover(run=run):
                # A billing line holds this run's compute (same resource, else region and time): the run
                # must not add it again. A bill of another region or resource leaves the run counted.
                covered += 1
                continue
            region = run.cloud_region
            day = run.started_at.date()
            energy_kwh = calc.facility_energy_kwh(
                it_energy_kwh=run.energy_kwh, site_pue=region.pue, tracker_pue=run.tracker_pue
            )
            factor = (
                self._location_factor(region.zone.code, day.replace(day=1), month_end(day)) if region.zone else None
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
                quality=run_tier(run),
                factors={"location": factor.as_provenance(), "pue": region.pue},
                flags=list(factor.flags),
            )
        if emissions_only:
            self.gaps.append(
                f"{emissions_only} run(s) report only the tracker's emissions ({emissions_only_kg:,.3f} kgCO2e), no "
                "energy: not in the ledger"
            )
        if covered:
            self.gaps.append(
                f"{covered} cloud run(s) ran on compute that billing lines hold (same resource, else same region and "
                "time): counted there, not twice"
            )
        if unlocated:
            self.gaps.append(
                f"{unlocated} run(s) with no location at all ({unlocated_kwh:,.1f} kWh IT): no site, cloud region or "
                "tracker country, and the organization has no default location (Settings → Off-site runs)"
            )
