"""The emission ledger: append-only EmissionRecords grouped by the Calculation that wrote them."""

from django.db import models
from django.db.models import F, Q

from emissions.choices import ActivityKind, Basis, QualityTier, Scope
from emissions.querysets import CalculationQuerySet, OrgScopedQuerySet


class Calculation(models.Model):
    """One run of the accounting engine for an organization and period.

    A recalculation writes a new Calculation and new records; the earlier one is marked
    ``superseded_by`` and its records stay, so any earlier report can be reproduced and a
    restatement listed as the difference between the two.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="calculations")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive last day")
    methodology_version = models.CharField(max_length=20)
    reason = models.CharField(max_length=300, blank=True)
    # Digest of every input the calculation read (activity, factors); equal digest = nothing to recompute.
    inputs_digest = models.CharField(max_length=64, blank=True)
    # What the ledger could not cover (missing factors, unlocated runs), in words, for the report.
    data_gaps = models.JSONField(default=list, blank=True)
    # Management-view roll-forward of the unamortized embodied balance (kgCO2e), fixed at calculation time.
    roll_forward = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )

    objects = CalculationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="calculation_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"Calculation {self.pk} {self.period_start}–{self.period_end} ({self.methodology_version})"


# Scope 3 categories are 1..15; Scope 1 and 2 records carry none. The explicit isnull=False matters:
# in SQL a NULL comparison is unknown, and a CHECK that evaluates to unknown passes.
_VALID_SCOPE_CATEGORY = Q(scope__in=[Scope.SCOPE_1, Scope.SCOPE_2], scope3_category__isnull=True) | Q(
    scope=Scope.SCOPE_3, scope3_category__isnull=False, scope3_category__gte=1, scope3_category__lte=15
)


class EmissionRecord(models.Model):
    """One ledger line: the emissions of one activity in one scope/category/basis and period.

    ``emissions_kg_co2e_location`` and ``emissions_kg_co2e_market`` are both stored on every
    record (equal outside Scope 2); a total sums one column, never both. The range
    (``low``/``high``) applies to the location-based figure. ``basis`` keeps the inventory view
    (``capital_goods``) apart from the management view (``embodied_amortized``/``_write_off``).
    Provenance: the activity row, the factors (``factors`` holds ids, values and dataset
    versions), the dataset version and methodology version, and the Calculation.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="+")
    # Indexed by (calculation, project) below, which serves a calculation's lookups as well.
    calculation = models.ForeignKey(Calculation, on_delete=models.PROTECT, related_name="records", db_index=False)
    scope = models.PositiveSmallIntegerField(choices=Scope.choices)
    scope3_category = models.PositiveSmallIntegerField(null=True, blank=True)
    scope3_subcategory = models.CharField(max_length=30, blank=True, help_text="e.g. 3a, 3b, 3c, cloud")
    basis = models.CharField(max_length=20, choices=Basis.choices, default=Basis.OPERATIONAL)
    activity_kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    activity_id = models.BigIntegerField(null=True, blank=True)
    team = models.ForeignKey("emissions.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    project = models.ForeignKey("emissions.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey("emissions.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    site = models.ForeignKey("emissions.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive last day")
    energy_kwh = models.FloatField(null=True, blank=True)
    emissions_kg_co2e_location = models.FloatField()
    emissions_kg_co2e_market = models.FloatField()
    emissions_low_kg_co2e = models.FloatField()
    emissions_high_kg_co2e = models.FloatField()
    quality = models.CharField(max_length=20, choices=QualityTier.choices)
    factors = models.JSONField(default=dict, blank=True)
    factor_dataset_version = models.CharField(max_length=200, blank=True)
    methodology_version = models.CharField(max_length=20)
    flags = models.JSONField(default=list, blank=True, help_text="e.g. grid_average_fallback, lifecycle_factor")

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "period_start"]),
            models.Index(fields=["calculation", "scope", "scope3_category"]),
            # A project's lines in one calculation (its carbon label) without reading the whole calculation.
            models.Index(fields=["calculation", "project"], name="record_calculation_project"),
        ]
        constraints = [
            models.CheckConstraint(condition=_VALID_SCOPE_CATEGORY, name="record_scope_category_valid"),
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="record_period_ordered"),
            models.CheckConstraint(
                condition=Q(energy_kwh__isnull=True) | Q(energy_kwh__gte=0), name="record_energy_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(emissions_kg_co2e_location__gte=0, emissions_kg_co2e_market__gte=0),
                name="record_emissions_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(emissions_low_kg_co2e__lte=F("emissions_kg_co2e_location"))
                & Q(emissions_kg_co2e_location__lte=F("emissions_high_kg_co2e")),
                name="record_range_ordered",
            ),
            models.CheckConstraint(
                # Purchased cloud (Scope 3 Cat 1) carries the provider's electricity both ways, each in its
                # own total (docs/methodology.md "Provider figures and billing estimates").
                condition=Q(scope=Scope.SCOPE_2)
                | Q(scope=Scope.SCOPE_3, scope3_category=1, scope3_subcategory="cloud")
                | Q(emissions_kg_co2e_location=F("emissions_kg_co2e_market")),
                name="record_location_equals_market_outside_scope_2_and_cloud",
            ),
        ]

    def __str__(self) -> str:
        category = f" cat {self.scope3_category}" if self.scope3_category else ""
        return f"Scope {self.scope}{category} {self.basis}: {self.emissions_kg_co2e_location:.3f} kg"
