"""Reads of cloud billing estimates and provider carbon figures, grouped as the ledger and the reconciliation
view need them (emissions/cloud_sharing.py holds the rules both apply)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Case, CharField, Count, DateField, F, Max, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from emissions.cloud_estimation import NO_ENERGY
from emissions.cloud_sharing import EstimateGroup, ProviderRow, azure_resource, fill_unclassified, group_key
from emissions.cloud_tables import normalize_region
from emissions.models import CloudEstimateBasis, CloudRegion, CloudUsage, Organization, ProviderCarbon, Run
from emissions.selectors import RUN_RESOURCE_TAG_KEYS, run_cloud_lines

ENERGY_FIELDS = (
    "compute_energy_kwh",
    "gpu_energy_kwh",
    "memory_energy_kwh",
    "storage_energy_kwh",
    "network_energy_kwh",
)


def cloud_usage_lines(*, organization: Organization, start: date, end: date):
    """Usage billing lines whose usage starts within [start, end] (dates, inclusive)."""
    return CloudUsage.objects.for_org(organization).filter(
        usage_start__date__gte=start, usage_start__date__lte=end, charge_category="usage"
    )


def azure_figures_by_resource(*, organization: Organization, start: date, end: date) -> bool:
    """Whether Azure's own carbon figures are there for a month that starts within [start, end]. Azure's report
    names resources, so only then do its estimates keep a group per resource to be matched to them: a month of a
    million Azure lines, one resource each, made a million ledger records (78-92 s) with no figure to match."""
    figures = ProviderCarbon.objects.for_org(organization).filter(provider="azure")
    return figures.filter(billing_period__gte=start.replace(day=1), billing_period__lte=end).exists()


def cloud_estimate_groups(
    *, organization: Organization, start: date, end: date, azure_by_resource: bool
) -> list[EstimateGroup]:
    """Billing estimates per provider, month of use, account, region, service, owner and, with
    ``azure_by_resource`` (``azure_figures_by_resource``), Azure resource.

    A line counts in the month its usage starts, the month its lines are chosen by: not in its billing
    period, which may be another month (a FOCUS line of September usage billed in October) and would put
    the estimate outside the period it was chosen for. Energies are facility kWh (IT × the line's PUE)
    before the unclassified lines' fill-in (``cloud_sharing.fill_unclassified``); costs in the lines'
    currency.
    """
    it_kwh = sum(Coalesce(F(name), 0.0) for name in ENERGY_FIELDS)
    # Azure's carbon report names resources, so its lines keep theirs when there is one to match; other
    # providers group above them.
    resource: Case | Value = Value("", output_field=CharField())
    if azure_by_resource:
        resource = Case(When(provider="azure", then=F("resource_id")), default=Value(""), output_field=CharField())
    rows = (
        cloud_usage_lines(organization=organization, start=start, end=end)
        .annotate(group_resource=resource, usage_month=TruncMonth("usage_start", output_field=DateField()))
        .values(
            "provider",
            "usage_month",
            "account_id",
            "region",
            "cloud_region__zone__code",
            "service",
            "group_resource",
            "team_id",
            "project_id",
        )
        .annotate(
            facility_kwh=Sum(it_kwh * Coalesce(F("pue"), 1.0)),
            embodied_kg=Sum(Coalesce(F("embodied_kg_co2e"), 0.0)),
            total_cost=Sum("cost"),
            unclassified_cost=Sum("cost", filter=Q(classification="unclassified")),
            classified_cost=Sum("cost", filter=~Q(classification__in={"unclassified", *NO_ENERGY})),
            lines=Count("id"),
        )
        .order_by(
            "provider", "usage_month", "account_id", "region", "service", "group_resource", "team_id", "project_id"
        )
    )
    return [
        EstimateGroup(
            provider=row["provider"],
            period=row["usage_month"],
            account=row["account_id"],
            region=row["region"],
            zone=row["cloud_region__zone__code"],
            service=row["service"],
            resource=azure_resource(row["group_resource"]),
            team_id=row["team_id"],
            project_id=row["project_id"],
            facility_kwh=row["facility_kwh"] or 0.0,
            embodied_kg=row["embodied_kg"] or 0.0,
            cost=float(row["total_cost"] or 0),
            classified_cost=float(row["classified_cost"] or 0),
            unclassified_cost=float(row["unclassified_cost"] or 0),
            lines=row["lines"],
        )
        for row in rows
    ]


def cloud_region_zones() -> dict[tuple[str, str], str]:
    """Grid zone code per (provider, normalized region name) of the shipped cloud regions; a later dataset's
    mapping wins, as the billing import's region lookup (``services/cloud.py``) does."""
    regions = CloudRegion.objects.filter(zone__isnull=False).order_by("dataset_id", "pk")
    rows = regions.values_list("provider", "region", "zone__code")
    return {(provider, normalize_region(region)): zone for provider, region, zone in rows}


def provider_rows(*, organization: Organization, start: date, end: date) -> list[ProviderRow]:
    """Provider carbon figures of the months that start within [start, end], each with its region's grid zone."""
    figures = ProviderCarbon.objects.for_org(organization).filter(billing_period__gte=start, billing_period__lte=end)
    zones = cloud_region_zones() if figures.exists() else {}
    return [
        ProviderRow(
            key=row.source_row_key,
            provider=row.provider,
            period=row.billing_period,
            account=row.account_id,
            region=row.region,
            service=row.service,
            location_kg=row.total_location_kg_co2e,
            market_kg=row.total_market_kg_co2e,
            model_version=row.model_version,
            scope3_kg=row.scope3_kg_co2e,
            zone=zones.get((row.provider, normalize_region(row.region))),
        )
        for row in figures.order_by("provider", "billing_period", "account_id", "region", "service", "pk")
    ]


def provider_latest_months(*, organization: Organization) -> dict[str, date]:
    """The latest month each provider's carbon export has reached for the organization."""
    return {
        row["provider"]: row["latest"]
        for row in ProviderCarbon.objects.for_org(organization)
        .values("provider")
        .annotate(latest=Max("billing_period"))
        .order_by()
    }


@dataclass
class MeasuredGpu:
    """Tracker-measured GPU energy replacing the assumed utilization on one estimate group's GPU lines of
    resources that runs name. Energies are IT kWh (before PUE), powers W."""

    assumed_kwh: float = 0.0  # what the lines carry at the assumed utilization
    measured_kwh: float = 0.0  # what the trackers measured on those GPUs
    billed_gpu_hours: float = 0.0
    run_gpu_hours: float = 0.0
    idle_w: float = 0.0  # the accelerators' minimum power, per GPU
    pue: float = 1.0
    runs: list[int] = field(default_factory=list)

    @property
    def idle_kwh(self) -> float:
        """The billed GPU-hours no run covers, at idle power: the cloud idle bucket."""
        return max(0.0, self.billed_gpu_hours - self.run_gpu_hours) * self.idle_w / 1000

    @property
    def facility_delta_kwh(self) -> float:
        """What replacing the assumption changes in the group's facility kWh (may be negative)."""
        return (self.measured_kwh + self.idle_kwh - self.assumed_kwh) * self.pue


_LINE_FIELDS = (
    "pk",
    "provider",
    "usage_start",
    "account_id",
    "region",
    "service",
    "resource_id",
    "team_id",
    "project_id",
    "gpu_energy_kwh",
    "pue",
    "coefficients_digest",
)


def coefficients_by_digest(*, organization: Organization, digests: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, dict]:
    """The organization's estimate coefficient sets (``CloudEstimateBasis``) of ``digests``, by digest."""
    wanted = {digest for digest in digests if digest is not None}
    if not wanted:
        return {}
    rows = CloudEstimateBasis.objects.for_org(organization).filter(digest__in=wanted)
    return dict(rows.values_list("digest", "coefficients"))


def _line_key(line: dict, azure_by_resource: bool) -> tuple:
    resource = azure_resource(line["resource_id"]) if azure_by_resource and line["provider"] == "azure" else ""
    return group_key(
        line["provider"],
        timezone.localtime(line["usage_start"]).date().replace(day=1),  # the month of use, as the groups
        line["account_id"],
        line["region"],
        line["service"],
        resource,
        line["team_id"],
        line["project_id"],
    )


def measured_gpu_by_group(
    *, organization: Organization, start: date, end: date, azure_by_resource: bool
) -> dict[tuple, MeasuredGpu]:
    """Per estimate group (``EstimateGroup.key``, grouped as ``cloud_estimate_groups`` with the same
    ``azure_by_resource``): the GPU billing lines of resources that tracker runs name (``RUN_RESOURCE_TAG_KEYS``)
    and the runs' measured GPU energy. A run's GPU-hours are its duration × its GPU count; a run counts in the
    group of its first overlapping line.
    """
    found: dict[tuple, MeasuredGpu] = {}
    gpu_lines = CloudUsage.objects.for_org(organization).filter(classification="gpu", charge_category="usage")
    if not gpu_lines.filter(billing_period__lte=end, usage_end__date__gte=start).exists():
        return found  # nothing to join: spare a query per run
    runs = Run.objects.for_org(organization).filter(
        started_at__date__gte=start, started_at__date__lte=end, tags__has_any_keys=list(RUN_RESOURCE_TAG_KEYS)
    )
    seen_lines: set[int] = set()
    for run in runs.order_by("started_at", "pk"):
        lines = list(
            run_cloud_lines(run=run).filter(classification="gpu", charge_category="usage").values(*_LINE_FIELDS)
        )
        if not lines:
            continue
        digests = (line["coefficients_digest"] for line in lines)
        basis = coefficients_by_digest(organization=organization, digests=digests)
        for line in lines:
            measured = found.setdefault(_line_key(line, azure_by_resource), MeasuredGpu(pue=line["pue"] or 1.0))
            if line["pk"] in seen_lines:
                continue
            seen_lines.add(line["pk"])
            coefficients = basis.get(line["coefficients_digest"], {})
            measured.assumed_kwh += line["gpu_energy_kwh"] or 0.0
            measured.billed_gpu_hours += float(coefficients.get("gpu_hours") or 0.0)
            measured.idle_w = float(coefficients.get("gpu_min_w") or measured.idle_w)
        measured = found[_line_key(lines[0], azure_by_resource)]
        measured.measured_kwh += run.gpu_energy_kwh
        measured.run_gpu_hours += run.duration_s / 3600 * run.gpu_count
        measured.runs.append(run.pk)
    return found


def cloud_estimates(*, organization: Organization, start: date, end: date) -> list[EstimateGroup]:
    """The estimate groups as the ledger counts them: unclassified lines filled at their provider-month's
    kWh per cost, then tracker-measured GPU energy in place of the assumed utilization where runs name
    their resource (the remaining billed GPU-hours at idle power, kept apart as the cloud idle bucket)."""
    by_resource = azure_figures_by_resource(organization=organization, start=start, end=end)
    groups = cloud_estimate_groups(organization=organization, start=start, end=end, azure_by_resource=by_resource)
    fill_unclassified(groups)
    measured = measured_gpu_by_group(organization=organization, start=start, end=end, azure_by_resource=by_resource)
    for group in groups:
        found = measured.get(group.key)
        if found is not None:
            group.measured(facility_delta_kwh=found.facility_delta_kwh, idle_facility_kwh=found.idle_kwh * found.pue)
    return groups
