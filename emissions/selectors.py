"""Lookups of the domain, always scoped to one organization."""

from __future__ import annotations

import hashlib

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from emissions.choices import ActivityKind, Basis
from emissions.cloud_tables import coefficient_tables_digest
from emissions.digests import content_columns, rows_digest
from emissions.models import (
    Calculation,
    CertificateUse,
    CloudRegion,
    CloudUsage,
    DisposalFactor,
    EmissionRecord,
    EnergyInstrument,
    FactorDataset,
    FuelFactor,
    FuelUse,
    GlobalWarmingPotential,
    GridFactor,
    GridZone,
    HardwareAsset,
    HardwareModel,
    HourlyIntensity,
    Membership,
    MeterReading,
    Organization,
    Project,
    ProviderCarbon,
    RefrigerantLoss,
    Run,
    RunSample,
    Site,
)


def membership_get(*, user) -> Membership | None:
    """The user's membership (organization and role), or None for anonymous users and non-members.

    A user in several organizations acts in the first by slug; switching organizations is a
    later feature, and no query ever mixes two.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(user=user)
        .select_related("organization", "team")
        .order_by("organization__slug")
        .first()
    )


def run_emissions_by_id(*, run_ids: list[int]) -> dict[int, tuple[float, float]]:
    """Each run's operational kgCO2e (location, market) in the newest current calculation that covers it.

    A run appears in every current calculation whose period contains it (a quarter and its year);
    they agree, so the newest one is read rather than their sum.
    """
    if not run_ids:
        return {}
    rows = (
        EmissionRecord.objects.filter(
            run_id__in=run_ids, basis=Basis.OPERATIONAL, calculation__superseded_by__isnull=True
        )
        .values("run_id", "calculation_id")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by("run_id", "calculation_id")
    )
    return {row["run_id"]: (row["location"], row["market"]) for row in rows}


def unlocated_runs_summary(*, organization: Organization) -> dict:
    """Runs nothing locates (no site, cloud region, tracker country or default location): their count and
    IT kWh, which no figure includes until the organization sets a default location or a site. A rank member
    that counts nothing (its first rank counts the machine; or an empty run a client's retry left) is not one."""
    summary = (
        Run.objects.for_org(organization)
        .filter(site__isnull=True, cloud_region__isnull=True, grid_zone__isnull=True)
        .exclude(rank_of__isnull=False, energy_kwh=0)
        .aggregate(runs=Count("id"), energy_kwh=Sum("energy_kwh"))
    )
    return {"runs": summary["runs"], "energy_kwh": summary["energy_kwh"] or 0.0}


def runs_not_in_ledger(*, organization: Organization, runs, by: str | None = None) -> dict:
    """Of ``runs`` (a Run queryset), those no current calculation counts: ``runs`` and ``energy_kwh`` (IT);
    with ``by`` (a Run value path such as ``project_id`` or ``project__team_id``), that summary per key.

    A run is counted when an operational record of a current calculation names it, or when billing lines hold
    its compute (``run_billing_cover``, the ledger's rule: the bill counts that compute, not the run; a bill
    of another region, resource or time does not). The rest — not located, no factor for its zone, a tracker
    figure without energy, or new since the last recalculation — is energy that no figure holds yet. An empty
    id a client opened twice is not a run (``RunQuerySet.without_empty_members``).
    """
    fields = ["pk", "energy_kwh", "cloud_region__provider", "started_at", *([by] if by else [])]
    counted = set(
        EmissionRecord.objects.filter(
            run_id__in=runs.values("pk"), basis=Basis.OPERATIONAL, calculation__superseded_by__isnull=True
        ).values_list("run_id", flat=True)
    )
    rows = [row for row in runs.without_empty_members().values(*fields) if row["pk"] not in counted]
    # As the ledger asks: only a run of a provider and month with billing lines can be covered. One probe of
    # the unique key's (organization, provider, billing_period) prefix per pair, not a scan of every line.
    months = {row["pk"]: (row["cloud_region__provider"], row["started_at"].date().replace(day=1)) for row in rows}
    lines = CloudUsage.objects.for_org(organization)
    billed = {
        (provider, month)
        for provider, month in set(months.values())
        if provider and lines.filter(provider=provider, billing_period=month).exists()
    }
    maybe_billed = [pk for pk, month in months.items() if month in billed]
    covered = {
        run.pk
        for run in runs_with_billing_cover(Run.objects.filter(pk__in=maybe_billed).select_related("cloud_region"))
        if run_billing_cover(run=run)
    }
    summaries: dict = {}
    for row in rows:
        if row["pk"] in covered:
            continue
        summary = summaries.setdefault(row[by] if by else None, {"runs": 0, "energy_kwh": 0.0})
        summary["runs"] += 1
        summary["energy_kwh"] += row["energy_kwh"]
    if by:
        return summaries
    return summaries.get(None, {"runs": 0, "energy_kwh": 0.0})


def inventory_inputs_digest(*, organization: Organization, methodology_version: str) -> str:
    """SHA-256 (hex) over the content of every row and factor a calculation of the organization reads.

    Each table's part digests the values of its rows (``emissions.digests``), never sums, so any correction
    (kWh moved between months, two factors' values swapped, a billing line given to another team, one
    hourly intensity changed) changes the digest, and only the organization's own rows and the reference
    data it sees take part. Equal digests mean a recalculation would write the same records, so it is skipped.
    """
    # The shipped coefficient tables the ledger reads from files, not rows (cloud_tables.COEFFICIENT_FILES).
    parts = [methodology_version, f"coefficient_tables={coefficient_tables_digest()}"]
    for name, rows, columns in _inventory_inputs(organization):
        parts.append(f"{name}={rows_digest(rows, columns)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# One input of a calculation: a name, the rows and the columns whose values count.
_Input = tuple[str, QuerySet, list[str]]


def _inventory_inputs(organization: Organization) -> list[_Input]:
    """What the ledger reads (emissions/services/ledger*.py, factor_book.py, selectors_cloud.py): every
    content column (``digests.content_columns``: all but bookkeeping) of the rows it may read."""
    return [
        # Settings: where unlocated runs are taken to run and where off-site runs go; projects' team and scope.
        _rows("organization", Organization.objects.filter(pk=organization.pk)),
        _rows("projects", Project.objects.for_org(organization)),
        _rows("sites", Site.objects.for_org(organization)),
        # Activity. Ids are content too: records cite them (activity_id, factor provenance).
        _rows("runs", Run.objects.for_org(organization)),
        ("run_samples", _samples_split_by_month(organization), ["run_id", "recorded_at", "energy_kwh"]),
        _rows("meter_readings", MeterReading.objects.for_org(organization)),
        _rows("fuel_uses", FuelUse.objects.for_org(organization)),
        _rows("refrigerant_losses", RefrigerantLoss.objects.for_org(organization)),
        *_cloud_usage_inputs(organization),
        _rows("provider_carbon", ProviderCarbon.objects.for_org(organization)),
        _rows("energy_instruments", EnergyInstrument.objects.for_org(organization)),
        _rows("certificate_uses", CertificateUse.objects.for_org(organization)),
        _rows("hardware_assets", HardwareAsset.objects.for_org(organization)),
        # Factors: shipped ones and the organization's own, never another organization's.
        _rows("factor_datasets", FactorDataset.objects.visible_to(organization)),
        _rows("grid_factors", GridFactor.objects.visible_to(organization)),
        _rows("disposal_factors", DisposalFactor.objects.visible_to(organization)),
        _rows("hardware_models", HardwareModel.objects.visible_to(organization)),
        # Shared reference tables the factor book and the cloud lines read whole (a few hundred rows each).
        _rows("fuel_factors", FuelFactor.objects.all()),
        _rows("gwps", GlobalWarmingPotential.objects.all()),
        _rows("grid_zones", GridZone.objects.all()),
        _rows("cloud_regions", CloudRegion.objects.all()),
        # Nothing cites an hourly row, and a reload may renumber them: their values count, not their ids.
        # Shipped hours and the organization's own (``visible_to``): another organization's never count.
        _rows(
            "hourly_intensities",
            HourlyIntensity.objects.visible_to(organization).filter(zone__in=_hourly_zones_read(organization)),
            "id",
        ),
    ]


# A billing line's columns that count: its ``row_digest`` and what that does not stand for: its id, the region it
# was resolved to, and its owner (the digest holds the owner at import; a team or project deleted since clears it).
_CLOUD_USAGE_DIGESTED = ("id", "row_digest", "cloud_region_id", "team_id", "project_id", "allocation_basis")


def _rows(name: str, rows: QuerySet, *exclude: str) -> _Input:
    """An input read in full: every content column of its model but ``exclude``."""
    return name, rows, content_columns(rows.model, exclude=exclude)


def _cloud_usage_inputs(organization: Organization) -> list[_Input]:
    """Billing lines, by far the largest input (millions of lines): a line the importer stored is read
    through its ``row_digest`` (emissions/services/cloud.py: the record, the estimate or the estimator's
    fingerprint, and the owner) and the few columns it does not cover; a line without one, in full."""
    lines = CloudUsage.objects.for_org(organization)
    return [
        ("cloud_usage", lines.exclude(row_digest=""), list(_CLOUD_USAGE_DIGESTED)),
        _rows("cloud_usage_undigested", lines.filter(row_digest="")),
    ]


def _samples_split_by_month(organization: Organization) -> QuerySet:
    """Samples of the runs that cross a month end: their energy by month splits such a run between periods
    (emissions/services/run_pieces.py). Other runs are counted whole, so their live samples do not count."""
    sampled = (
        Run.objects.for_org(organization)
        .filter(Exists(RunSample.objects.filter(run=OuterRef("pk"))), ended_at__isnull=False)
        .values_list("pk", "started_at", "ended_at")
    )
    # The months compared as run_pieces compares them (in Python, UTC), over the few runs with samples.
    spanning = [pk for pk, start, end in sampled if (start.year, start.month) != (end.year, end.month)]
    return RunSample.objects.filter(run_id__in=spanning)


def _hourly_zones_read(organization: Organization) -> list[int]:
    """Ids of the grid zones with hourly intensities that the organization's electricity is placed in: its
    sites' zones, its runs' (their own zone or their cloud region's) and its billing lines' regions' zones.

    A zone entering or leaving this set changes one of those rows, so the hourly intensities of other zones
    cannot change a calculation. Billing lines are read only for the regions of zones with hourly data: a
    semi-join over millions of lines is what the digest must not pay for each call.
    """
    # One index probe per zone, over the hours the organization may read (shipped and its own).
    loaded = Exists(HourlyIntensity.objects.visible_to(organization).filter(zone=OuterRef("pk")))
    hourly = set(GridZone.objects.filter(loaded).values_list("pk", flat=True))
    if not hourly:
        return []
    sites, runs = Site.objects.for_org(organization), Run.objects.for_org(organization)
    regions = dict(CloudRegion.objects.filter(zone__in=hourly).values_list("pk", "zone_id"))
    used_regions = {
        *sites.filter(cloud_region__in=regions).values_list("cloud_region_id", flat=True),
        *runs.filter(cloud_region__in=regions).values_list("cloud_region_id", flat=True).distinct(),
        *CloudUsage.objects.for_org(organization)
        .filter(cloud_region__in=regions)
        .values_list("cloud_region_id", flat=True)
        .distinct(),
    }
    zones = {
        *sites.values_list("zone_id", flat=True),
        *runs.values_list("grid_zone_id", flat=True).distinct(),
        *(regions[region] for region in used_regions),
    }
    return sorted(hourly & zones)


def inventory_summary(*, calculation: Calculation) -> dict:
    """The inventory of one calculation in kgCO2e, location- and market-based kept apart.

    Inventory view only (``operational`` and ``capital_goods`` records); the management view
    (amortized embodied, write-offs, unallocated energy, roll-forward) is reported under
    ``management`` and never added to a total.
    """
    records = EmissionRecord.objects.filter(calculation=calculation)
    inventory = records.filter(basis__in=[Basis.OPERATIONAL, Basis.CAPITAL_GOODS])
    by_scope = {
        (row["scope"], row["scope3_category"]): row
        for row in inventory.values("scope", "scope3_category").annotate(
            location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market")
        )
    }
    scope_1 = by_scope.get((1, None), {}).get("location") or 0.0
    scope_2 = by_scope.get((2, None), {})
    scope_2_location, scope_2_market = scope_2.get("location") or 0.0, scope_2.get("market") or 0.0
    scope_3 = {str(c): row["location"] for (s, c), row in sorted(by_scope.items(), key=str) if s == 3}
    # Equal to scope_3 but for purchased cloud (Cat 1), whose provider electricity is counted market-based here.
    scope_3_market = {str(c): row["market"] for (s, c), row in sorted(by_scope.items(), key=str) if s == 3}
    energy = records.filter(basis=Basis.OPERATIONAL).aggregate(
        own=Sum("energy_kwh", filter=Q(scope=2) | Q(scope3_subcategory="colocation")),
        cloud=Sum("energy_kwh", filter=Q(scope3_subcategory="cloud")),
        unallocated=Sum("energy_kwh", filter=Q(activity_kind=ActivityKind.UNALLOCATED)),
    )
    management = records.aggregate(
        # Own fleet (Cat 2), tied to the roll-forward, and cloud GPU runs' share of the provider's hardware (Cat 1).
        amortized=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.EMBODIED_AMORTIZED, scope3_category=2)),
        cloud_runs=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.EMBODIED_AMORTIZED, scope3_category=1)),
        written_off=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.EMBODIED_WRITE_OFF)),
    )
    quality = dict(inventory.values_list("quality").annotate(kg=Sum("emissions_kg_co2e_location")).order_by("quality"))
    total_quality = sum(quality.values()) or 1.0
    return {
        "organization": calculation.organization.slug,
        "period_start": calculation.period_start.isoformat(),
        "period_end": calculation.period_end.isoformat(),
        "calculation_id": calculation.pk,
        "methodology_version": calculation.methodology_version,
        "scope_1_kg": scope_1,
        "scope_2_location_kg": scope_2_location,
        "scope_2_market_kg": scope_2_market,
        "scope_3_kg_by_category": scope_3,
        "total_location_kg": scope_1 + scope_2_location + sum(scope_3.values()),
        "scope_3_market_kg_by_category": scope_3_market,
        "total_market_kg": scope_1 + scope_2_market + sum(scope_3_market.values()),
        "energy_kwh": energy["own"] or 0.0,
        "cloud_energy_kwh": energy["cloud"] or 0.0,
        "quality_shares_pct": {tier: 100.0 * kg / total_quality for tier, kg in quality.items()},
        "management": {
            "embodied_amortized_kg": management["amortized"] or 0.0,
            "embodied_cloud_runs_kg": management["cloud_runs"] or 0.0,
            "embodied_written_off_kg": management["written_off"] or 0.0,
            "unallocated_energy_kwh": energy["unallocated"] or 0.0,
            "roll_forward": calculation.roll_forward,
        },
        "data_gaps": calculation.data_gaps,
    }


def calculation_restatement(*, previous: Calculation, current: Calculation) -> list[dict]:
    """Per scope/category/basis: previous and current kgCO2e (location, market) and the change."""
    keys = ("scope", "scope3_category", "scope3_subcategory", "basis")

    def totals(calculation: Calculation) -> dict:
        rows = (
            EmissionRecord.objects.filter(calculation=calculation)
            .values(*keys)
            .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        )
        return {tuple(row[k] for k in keys): (row["location"], row["market"]) for row in rows}

    before, after = totals(previous), totals(current)
    lines = []
    for key in sorted(set(before) | set(after), key=str):
        old_location, old_market = before.get(key, (0.0, 0.0))
        new_location, new_market = after.get(key, (0.0, 0.0))
        lines.append(
            {
                **dict(zip(keys, key, strict=True)),
                "previous_location_kg": old_location,
                "current_location_kg": new_location,
                "change_location_kg": new_location - old_location,
                "previous_market_kg": old_market,
                "current_market_kg": new_market,
                "change_market_kg": new_market - old_market,
            }
        )
    return lines


# Run tags that may name the cloud resource a run used (an instance id, a VM name, an ARN or URI).
RUN_RESOURCE_TAG_KEYS = ("resource_id", "cloud_resource_id", "instance_id")


def run_cloud_lines(*, run: Run):
    """The billing lines of the cloud resource a run used, during the run: CloudUsage joined to a Run.

    The run names its resource in a tag (``RUN_RESOURCE_TAG_KEYS``); a line matches when its resource
    id is that value or ends with ``/<value>`` (AWS ARNs, GCP and Azure resource URIs end with the
    instance's name) and its usage window overlaps the run's. No tag: no lines.
    """
    tags = run.tags if isinstance(run.tags, dict) else {}
    resource = next((str(tags[key]).strip() for key in RUN_RESOURCE_TAG_KEYS if str(tags.get(key) or "").strip()), "")
    if not resource:
        return CloudUsage.objects.none()
    ended_at = run.ended_at or run.started_at
    return (
        CloudUsage.objects.for_org(run.organization_id)
        .filter(Q(resource_id=resource) | Q(resource_id__endswith=f"/{resource}"))
        .filter(usage_start__lt=ended_at, usage_end__gt=run.started_at)
        .order_by("usage_start", "pk")
    )


# Classifications of billing lines that hold the compute a tracker measures.
_COMPUTE_CLASSES = ("compute", "gpu")


def run_billing_cover(*, run: Run) -> str:
    """How billing data covers a cloud tracker run's compute, or ``""`` when it does not (the run counts).

    ``resource``: the run names its resource (``RUN_RESOURCE_TAG_KEYS``) and a billing line of that resource
    overlaps the run. ``region_time``: the run names no resource, and a compute or GPU line of the run's
    provider and region overlaps it in time. A run that names a resource no line holds, or that ran in a
    region or at a time no compute line covers, is not covered: a bill of another region, account or month
    never drops it. docs/methodology.md "Tracker runs and billing lines".
    """
    if run.cloud_region_id is None:
        return ""
    tags = run.tags if isinstance(run.tags, dict) else {}
    if any(str(tags.get(key) or "").strip() for key in RUN_RESOURCE_TAG_KEYS):
        return "resource" if run_cloud_lines(run=run).exists() else ""
    annotated = getattr(run, "billed_in_region", None)  # runs_with_billing_cover: one query for many runs
    if annotated is not None:
        return "region_time" if annotated else ""
    ended_at = run.ended_at or run.started_at
    region = run.cloud_region
    covered = (
        CloudUsage.objects.for_org(run.organization_id)
        .filter(provider=region.provider, region=region.region, charge_category="usage")
        .filter(classification__in=_COMPUTE_CLASSES, usage_start__lte=ended_at, usage_end__gte=run.started_at)
        .exists()
    )
    return "region_time" if covered else ""


def runs_with_billing_cover(runs):
    """``runs`` annotated with ``billed_in_region``: whether a compute or GPU usage line of the run's
    organization, provider and region overlaps it (``run_billing_cover``'s second rule, for many runs in one
    query instead of one query per run)."""
    lines = CloudUsage.objects.filter(
        organization_id=OuterRef("organization_id"),  # the outer runs are scoped to one organization already
        provider=OuterRef("cloud_region__provider"),
        region=OuterRef("cloud_region__region"),
        charge_category="usage",
        classification__in=_COMPUTE_CLASSES,
        usage_start__lte=Coalesce(OuterRef("ended_at"), OuterRef("started_at")),
        usage_end__gte=OuterRef("started_at"),
    )
    return runs.annotate(billed_in_region=Exists(lines))
