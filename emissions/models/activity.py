"""Activity data: what was consumed, measured or billed, before any emission factor applies."""

import hashlib
import uuid

from django.db import models
from django.db.models import F, Q

from emissions.choices import ChargeCategory, CloudProvider, LocationSource, RunKind
from emissions.models.fields import JSONRecordField
from emissions.querysets import OrgScopedQuerySet, RunQuerySet


class Run(models.Model):
    """One unit of compute work (a training job, an inference service-day, a notebook session).

    IT energy in kWh by component (``cpu_energy_kwh`` + ``gpu_energy_kwh`` + ``ram_energy_kwh``
    = ``energy_kwh``). When the tracker already multiplied by a PUE, ``tracker_pue`` records it
    so the accounting never applies a PUE twice. The tracker's own ``tracker_emissions_kg_co2e``
    and implied intensity are kept for reconciliation and never summed into the ledger.
    Located either at a Site (owned/colocated) or in a cloud region.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="runs")
    # Indexed by (project, started_at) below, which serves a project's lookups as well: with a project-only
    # index beside it, PostgreSQL read every run of a team's projects for a period's runs.
    project = models.ForeignKey("emissions.Project", on_delete=models.PROTECT, related_name="runs", db_index=False)
    experiment = models.ForeignKey(
        "emissions.Experiment", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    source = models.CharField(max_length=32, help_text="Ingest source, e.g. codecarbon_api, native")
    external_id = models.CharField(max_length=128, help_text="The source's run id")
    kind = models.CharField(max_length=20, choices=RunKind.choices, default=RunKind.TRAINING)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(default=0.0)
    cpu_energy_kwh = models.FloatField(default=0.0)
    gpu_energy_kwh = models.FloatField(default=0.0)
    ram_energy_kwh = models.FloatField(default=0.0)
    energy_kwh = models.FloatField(default=0.0, help_text="IT energy, kWh")
    tracker_pue = models.FloatField(null=True, blank=True, help_text="PUE already applied by the tracker")
    cpu_model = models.CharField(max_length=200, blank=True)
    cpu_count = models.PositiveIntegerField(default=0)
    gpu_model = models.CharField(max_length=200, blank=True)
    gpu_count = models.PositiveIntegerField(default=0)
    hardware_model = models.ForeignKey(
        "emissions.HardwareModel", null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    gpu_utilization_pct = models.FloatField(null=True, blank=True)
    site = models.ForeignKey("emissions.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    cloud_region = models.ForeignKey(
        "emissions.CloudRegion", null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    country_iso3 = models.CharField(max_length=3, blank=True)
    tracker_region = models.CharField(max_length=100, blank=True, help_text="Sub-national region the tracker named")
    grid_zone = models.ForeignKey(
        "emissions.GridZone",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
        help_text="Grid of a run with no site and no cloud region (see location_source)",
    )
    location_source = models.CharField(max_length=24, choices=LocationSource.choices, blank=True)
    component_quality = models.JSONField(
        default=dict, blank=True, help_text="Quality tier of each energy component: {cpu, gpu, ram} → tier"
    )
    tracker_emissions_kg_co2e = models.FloatField(null=True, blank=True)
    tracker_intensity_g_per_kwh = models.FloatField(null=True, blank=True)
    tracker_name = models.CharField(max_length=50, blank=True)
    tracker_version = models.CharField(max_length=50, blank=True)
    user_name = models.CharField(max_length=150, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    efficiency_techniques = models.JSONField(default=list, blank=True)
    tokens_processed = models.BigIntegerField(null=True, blank=True)
    inferences_count = models.BigIntegerField(null=True, blank=True)
    accuracy = models.FloatField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True, help_text="Data-quality flags, e.g. default_experiment_id")
    rank_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rank_members",
        help_text="The first live run of the same multi-rank job on the same host (emissions/services/run_ranks.py)",
    )
    source_batch_id = models.BigIntegerField(null=True, blank=True)
    source_row = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["organization", "started_at"]),
            models.Index(fields=["project", "started_at"]),
            # The few runs that name an efficiency technique: a project without any skips the savings (the
            # project page would otherwise read every run of the project to find none).
            models.Index(fields=["project"], condition=~Q(efficiency_techniques=[]), name="run_with_techniques"),
            # The project page's runs table sorted by IT energy or duration reads one page of the index, not
            # every run of the project (21,000 in the benchmark: 400 ms). Updating a live run's energy now
            # writes these entries too (no heap-only update); a tracker sample's own insert costs more.
            models.Index(fields=["project", "energy_kwh", "id"], name="run_project_energy"),
            models.Index(fields=["project", "duration_s", "id"], name="run_project_duration"),
            # The kind split (runs, IT kWh and GPU-seconds per kind) from the index alone (with the organization
            # every tenant-scoped query names), and the table sorted by kind.
            models.Index(
                fields=["project", "kind", "started_at", "id"],
                include=["organization", "energy_kwh", "gpu_count", "duration_s"],
                name="run_project_kind",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organization", "source", "external_id"], name="run_external_id_unique"),
            models.CheckConstraint(
                condition=Q(cpu_energy_kwh__gte=0, gpu_energy_kwh__gte=0, ram_energy_kwh__gte=0, energy_kwh__gte=0),
                name="run_energy_gte_0",
            ),
            models.CheckConstraint(condition=Q(duration_s__gte=0), name="run_duration_gte_0"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")), name="run_period_ordered"
            ),
            models.CheckConstraint(condition=Q(tracker_pue__isnull=True) | Q(tracker_pue__gte=1), name="run_pue_gte_1"),
            models.CheckConstraint(
                condition=Q(site__isnull=True) | Q(cloud_region__isnull=True), name="run_one_location"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} run {self.external_id}"

    @property
    def gpu_hours(self) -> float:
        return self.gpu_count * self.duration_s / 3600.0


class RunAlias(models.Model):
    """Another (source, id) under which the same run arrived: its CSV row, HTTP output or re-export.

    The run is stored once; what the other copy added was merged into it (emissions/services/run_matching.py),
    and a later copy with this key finds the run here, so re-imports stay duplicates.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="aliases")
    source = models.CharField(max_length=32)
    external_id = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "source", "external_id"], name="run_alias_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} → run {self.run_id}"


class RunSample(models.Model):
    """An append-only delta a tracker sent during a run (CodeCarbon ``/emissions``).

    Energies are kWh and durations seconds *of this interval*; powers are interval averages in W.
    ``dedupe_key`` is a digest of the sample's content, so a retried identical sample is stored once.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="samples")
    recorded_at = models.DateTimeField()
    dedupe_key = models.CharField(max_length=64)
    duration_s = models.FloatField(default=0.0)
    energy_kwh = models.FloatField(default=0.0)
    cpu_energy_kwh = models.FloatField(default=0.0)
    gpu_energy_kwh = models.FloatField(default=0.0)
    ram_energy_kwh = models.FloatField(default=0.0)
    cpu_power_w = models.FloatField(null=True, blank=True)
    gpu_power_w = models.FloatField(null=True, blank=True)
    ram_power_w = models.FloatField(null=True, blank=True)
    cpu_utilization_pct = models.FloatField(null=True, blank=True)
    gpu_utilization_pct = models.FloatField(null=True, blank=True)
    tracker_emissions_kg_co2e = models.FloatField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()
    org_path = "run__organization"

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["run", "dedupe_key"], name="run_sample_dedupe"),
            models.CheckConstraint(
                condition=Q(duration_s__gte=0, energy_kwh__gte=0, cpu_energy_kwh__gte=0)
                & Q(gpu_energy_kwh__gte=0, ram_energy_kwh__gte=0),
                name="run_sample_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} @ {self.recorded_at:%Y-%m-%d %H:%M:%S}"


class MeterReading(models.Model):
    """Metered facility electricity of a site for a period (``period_start`` to ``period_end``,
    inclusive dates), in kWh. Where it exists it is the inventory figure and tracker energy only
    apportions it to teams and runs."""

    site = models.ForeignKey("emissions.Site", on_delete=models.CASCADE, related_name="meter_readings")
    period_start = models.DateField()
    period_end = models.DateField()
    energy_kwh = models.FloatField()
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()
    org_path = "site__organization"

    class Meta:
        ordering = ["site", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["site", "period_start", "period_end"], name="meter_reading_unique"),
            models.CheckConstraint(condition=Q(energy_kwh__gte=0), name="meter_reading_energy_gte_0"),
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="meter_reading_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.period_start}–{self.period_end}: {self.energy_kwh} kWh"


class FuelUse(models.Model):
    """Fuel burnt at an owned site (Scope 1 stationary combustion), e.g. litres of diesel for
    backup generators. ``fuel`` and ``unit`` match a FuelFactor."""

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="fuel_uses")
    site = models.ForeignKey("emissions.Site", on_delete=models.PROTECT, related_name="fuel_uses")
    used_on = models.DateField()
    fuel = models.CharField(max_length=100)
    quantity = models.FloatField()
    unit = models.CharField(max_length=30)
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["used_on"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="fuel_use_quantity_gte_0"),
            models.UniqueConstraint(fields=["site", "used_on", "fuel", "unit"], name="fuel_use_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.used_on}: {self.quantity} {self.unit} {self.fuel}"


class RefrigerantLoss(models.Model):
    """Refrigerant or SF6 leaked at an owned site (Scope 1 fugitive): kg of ``gas`` × its GWP100."""

    organization = models.ForeignKey(
        "emissions.Organization", on_delete=models.CASCADE, related_name="refrigerant_losses"
    )
    site = models.ForeignKey("emissions.Site", on_delete=models.PROTECT, related_name="refrigerant_losses")
    occurred_on = models.DateField()
    gas = models.CharField(max_length=50)
    kg_leaked = models.FloatField()
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_on"]
        constraints = [
            models.CheckConstraint(condition=Q(kg_leaked__gte=0), name="refrigerant_kg_gte_0"),
            models.UniqueConstraint(fields=["site", "occurred_on", "gas"], name="refrigerant_loss_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.occurred_on}: {self.kg_leaked} kg {self.gas}"


class AllocationRule(models.Model):
    """Maps cloud billing lines to a team/project by tag, label, account or project id.

    Rules are tried in ascending ``priority``; the first match wins; lines no rule matches stay in
    the explicit *unallocated* bucket.
    """

    organization = models.ForeignKey(
        "emissions.Organization", on_delete=models.CASCADE, related_name="allocation_rules"
    )
    priority = models.PositiveIntegerField(default=100)
    provider = models.CharField(max_length=10, choices=CloudProvider.choices, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    tag_key = models.CharField(max_length=200, blank=True)
    tag_value = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey("emissions.Team", on_delete=models.CASCADE, related_name="allocation_rules")
    project = models.ForeignKey(
        "emissions.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="allocation_rules"
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(account_id="") | ~Q(tag_key=""), name="allocation_rule_has_criterion"),
        ]

    def __str__(self) -> str:
        target = self.project or self.team
        return f"#{self.priority} {self.tag_key}={self.tag_value or '*'} → {target}"


class CloudEstimateBasis(models.Model):
    """The coefficients behind billing lines' estimates (watts, hours, PUE, embodied figures and their
    sources), stored once per organization and distinct set; a line names its set by ``digest``.

    Lines of one kind and quantity share every coefficient: written with each line, the set was half of a
    billing import's database time and of the line table's size. The digest is computed from the set
    (``emissions.services.cloud_basis``), so a writer knows it without a round trip. No unique constraint:
    pieces of one file imported in parallel may each write a new set once (same digest, same values);
    a constraint would make a piece wait for the other's whole transaction.
    """

    organization = models.ForeignKey(
        "emissions.Organization", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    digest = models.UUIDField()
    coefficients = JSONRecordField(default=dict, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "digest"])]

    def __str__(self) -> str:
        return f"estimate basis {self.digest}"


class CloudTagSet(models.Model):
    """The tags (resource tags, labels) of billing lines, stored once per organization and distinct set; a line
    names its set by ``tags_digest`` (emissions.services.cloud_basis, keys sorted).

    Lines of one kind share their tags: written with each line as ``jsonb``, they were 12-18 % of PostgreSQL's
    time to COPY a million Google Cloud lines (README, "Tags stored once per set"). No unique constraint, for
    the reason CloudEstimateBasis gives.
    """

    organization = models.ForeignKey(
        "emissions.Organization", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    digest = models.UUIDField()
    tags = models.JSONField(default=dict, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "digest"])]

    def __str__(self) -> str:
        return f"tag set {self.digest}"


def cloud_line_keys_raw(line_item_keys: list[str]) -> bytes:
    """``CloudUsage.line_key`` of each line item key, 16 bytes each, end to end (a block of lines written at once):
    the MD5 of its UTF-8 bytes, which PostgreSQL's ``md5()`` gives too (migration 0021 keyed the lines stored
    before). An identity, not a secret: a colliding pair could only come from one organization's own file, and
    would be stored once."""
    md5 = hashlib.md5
    return b"".join([md5(key.encode(), usedforsecurity=False).digest() for key in line_item_keys])


def cloud_line_key_hex(line_item_key: str) -> str:
    """``CloudUsage.line_key`` of one line item key, as 32 hex digits (``cloud_line_keys_raw``)."""
    return cloud_line_keys_raw([line_item_key]).hex()


class CloudUsage(models.Model):
    """One normalized cloud billing line (Scope 3 Cat 1 for the customer).

    ``usage_quantity`` in ``usage_unit`` (hours, GB-months, GB...), ``cost`` in ``currency``.
    Estimated energy by class (kWh) is filled by the billing estimator; the provider's own carbon
    figure (``provider_reported_kg_co2e``) when a provider export covers the line.
    """

    # The foreign keys of this bulk fact table are kept by its writer (emissions/services/cloud.py takes every id
    # from the organization's own rows in the same transaction) and by Django's on_delete, not by per-row
    # triggers: those cost a third of a billing import and made parallel workers queue on the organization's row.
    # The organization's index is the unique constraint's prefix, (organization, billing_period): it serves the
    # month's reads too, so no index of its own is kept for them (one B-tree insert per imported line less).
    # Team and project have no index of their own: every read goes through the organization (for_org), and
    # each index costs a billing import's COPY a B-tree insert per line (a million lines: 17.4 s with these two
    # and the primary key, 13.0 s without the three; docs/billing-benchmark-history.md). Deleting a team or
    # project (rare, by hand) scans the table to clear its lines' owner.
    organization = models.ForeignKey(
        "emissions.Organization",
        on_delete=models.CASCADE,
        related_name="cloud_usages",
        db_constraint=False,
        db_index=False,
    )
    provider = models.CharField(max_length=10, choices=CloudProvider.choices)
    billing_account = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True, help_text="Usage account, project or subscription")
    billing_period = models.DateField(help_text="First day of the billing month")
    line_item_key = models.CharField(max_length=128, help_text="Line item id, or a digest of the row")
    # The unique key holds this 16-byte digest of line_item_key, not the key (up to 128 characters, 64 for a
    # row digest): its index is half the size (1,000,000 lines in random order into the table and its three
    # indexes, one session: 13.2 s instead of 18.8 s; in an import, whose pieces come sorted by key, about a
    # CPU-second of PostgreSQL's 13; docs/billing-benchmark-history.md).
    line_key = models.UUIDField(editable=False, help_text="cloud_line_key_hex(line_item_key)")
    charge_category = models.CharField(max_length=20, choices=ChargeCategory.choices, default=ChargeCategory.USAGE)
    service = models.CharField(max_length=200, blank=True)
    sku = models.CharField(max_length=200, blank=True)
    usage_type = models.CharField(max_length=200, blank=True)
    instance_type = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=64, blank=True)
    cloud_region = models.ForeignKey(
        "emissions.CloudRegion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="usages",
        db_constraint=False,
        db_index=False,
    )
    usage_start = models.DateTimeField()
    usage_end = models.DateTimeField()
    usage_quantity = models.FloatField(default=0.0)
    usage_unit = models.CharField(max_length=50, blank=True)
    cost = models.DecimalField(max_digits=22, decimal_places=10, default=0, help_text="As billed, 10 decimals")
    currency = models.CharField(max_length=3, default="USD")
    resource_id = models.CharField(max_length=500, blank=True)
    # The line's tags, stored once per set as a CloudTagSet (None: no tags).
    tags_digest = models.UUIDField(null=True, blank=True)
    team = models.ForeignKey(
        "emissions.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    project = models.ForeignKey(
        "emissions.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cloud_usages",
        db_constraint=False,
        db_index=False,
    )
    compute_energy_kwh = models.FloatField(null=True, blank=True)
    gpu_energy_kwh = models.FloatField(null=True, blank=True)
    memory_energy_kwh = models.FloatField(null=True, blank=True)
    storage_energy_kwh = models.FloatField(null=True, blank=True)
    network_energy_kwh = models.FloatField(null=True, blank=True)
    embodied_kg_co2e = models.FloatField(null=True, blank=True, help_text="SCI share of the hardware's embodied")
    pue = models.FloatField(null=True, blank=True)
    classification = models.CharField(max_length=20, blank=True)
    estimate_fell_back = models.BooleanField(default=False)
    # Every value the estimate used (``coefficients``), stored once per set as a CloudEstimateBasis.
    coefficients_digest = models.UUIDField(null=True, blank=True)
    # Digest of the normalized line: an identical re-import is recognised as a duplicate.
    row_digest = models.CharField(max_length=64, blank=True)
    # How the owner was found: resource_tag, project_label, account or unallocated.
    allocation_basis = models.CharField(max_length=20, blank=True)
    provider_reported_kg_co2e = models.FloatField(null=True, blank=True)
    source_batch_id = models.BigIntegerField(null=True, blank=True)
    source_row = models.PositiveIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["billing_period", "provider"]
        constraints = [
            models.UniqueConstraint(
                # The line key before the provider: a comparison of two entries is settled by the random 16-byte key
                # (fixed width, at a fixed offset), not after comparing two equal provider texts. 1,000,000 lines
                # COPYed in 23 sorted pieces, one session, the two orders alternating four times: a mean of 14.48 s
                # against 15.51 s, faster in each pair (bench/unique_key_order.py; docs/billing-benchmark-history.md).
                # The same set of columns: the same uniqueness.
                fields=["organization", "billing_period", "line_key", "provider"],
                name="cloud_usage_month_key_unique",
            ),
            models.CheckConstraint(condition=Q(usage_start__lte=F("usage_end")), name="cloud_usage_period_ordered"),
            models.CheckConstraint(
                condition=(Q(compute_energy_kwh__isnull=True) | Q(compute_energy_kwh__gte=0))
                & (Q(gpu_energy_kwh__isnull=True) | Q(gpu_energy_kwh__gte=0))
                & (Q(memory_energy_kwh__isnull=True) | Q(memory_energy_kwh__gte=0))
                & (Q(storage_energy_kwh__isnull=True) | Q(storage_energy_kwh__gte=0))
                & (Q(network_energy_kwh__isnull=True) | Q(network_energy_kwh__gte=0)),
                name="cloud_usage_energy_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.service} {self.billing_period:%Y-%m} {self.line_item_key}"

    def save(self, *args, **kwargs) -> None:
        """Save, keyed by ``line_item_key`` (the bulk writers in emissions/services set ``line_key`` themselves)."""
        self.line_key = uuid.UUID(cloud_line_key_hex(self.line_item_key))
        super().save(*args, **kwargs)

    @property
    def tags(self) -> dict:
        """The line's tags by name ({} for none)."""
        return self._set_stored(CloudTagSet, "tags", self.tags_digest)

    @property
    def coefficients(self) -> dict:
        """Every value the line's estimate used, by name ({} for a line stored without an estimate)."""
        return self._set_stored(CloudEstimateBasis, "coefficients", self.coefficients_digest)

    def _set_stored(self, model: type[models.Model], field: str, digest: uuid.UUID | None) -> dict:
        """The organization's set of ``model`` named by ``digest`` ({} for none)."""
        if digest is None:
            return {}
        rows = model._default_manager.filter(organization_id=self.organization_id, digest=digest)
        return next(iter(rows.values_list(field, flat=True)), {})


class CarbonCredit(models.Model):
    """A carbon credit the organization cancelled (ESRS E1-7): reported apart, never netted from
    gross emissions. ``tonnes_co2e`` in metric tonnes."""

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="carbon_credits")
    credit_id = models.CharField(max_length=100)
    cancelled_on = models.DateField()
    tonnes_co2e = models.FloatField()
    kind = models.CharField(max_length=20, help_text="removal or reduction")
    standard = models.CharField(max_length=100, blank=True, help_text="e.g. Verra VCS, Gold Standard")
    project = models.CharField(max_length=300, blank=True)
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["cancelled_on"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "credit_id"], name="carbon_credit_unique"),
            models.CheckConstraint(condition=Q(tonnes_co2e__gt=0), name="carbon_credit_tonnes_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.credit_id}: {self.tonnes_co2e} t ({self.cancelled_on})"


class ProviderCarbon(models.Model):
    """A cloud provider's own carbon figure (kgCO2e) for one account, region, service and month.

    Where it exists it is the inventory number for that month (``provider_reported`` quality); the
    billing estimate then only shares it out to teams and projects.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="provider_carbon")
    provider = models.CharField(max_length=10, choices=CloudProvider.choices)
    account_id = models.CharField(max_length=100, blank=True)
    billing_period = models.DateField(help_text="First day of the month")
    region = models.CharField(max_length=64, blank=True)
    service = models.CharField(max_length=200, blank=True)
    source_row_key = models.CharField(max_length=128)
    total_location_kg_co2e = models.FloatField()
    total_market_kg_co2e = models.FloatField()
    scope1_kg_co2e = models.FloatField(null=True, blank=True)
    scope2_location_kg_co2e = models.FloatField(null=True, blank=True)
    scope2_market_kg_co2e = models.FloatField(null=True, blank=True)
    scope3_kg_co2e = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=50, blank=True)
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["billing_period", "provider", "account_id", "region", "service"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "billing_period", "source_row_key"], name="provider_carbon_unique"
            ),
            models.CheckConstraint(
                condition=Q(total_location_kg_co2e__gte=0, total_market_kg_co2e__gte=0), name="provider_carbon_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.account_id} {self.region} {self.service} {self.billing_period:%Y-%m}"
