"""The hardware catalogue (embodied emissions per model) and the fleet register."""

from django.db import models
from django.db.models import F, Q

from emissions.choices import AssetClass, DisposalRoute
from emissions.querysets import OrgScopedQuerySet, ReferenceQuerySet


class HardwareModel(models.Model):
    """A GPU, board, server or node type with its cradle-to-gate embodied emissions.

    ``embodied_kg_co2e`` is the central figure per unit, with ``embodied_low_kg_co2e`` /
    ``embodied_high_kg_co2e`` as the range of credible published figures; ``tdp_w`` the thermal
    design power in watts; ``gpu_count`` the accelerators one unit carries (8 for an 8-GPU
    server, 1 for a card). Drives Scope 3 Cat 2 and amortization of HardwareAssets.
    """

    dataset = models.ForeignKey(
        "emissions.FactorDataset", null=True, blank=True, on_delete=models.PROTECT, related_name="hardware_models"
    )
    organization = models.ForeignKey(
        "emissions.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="hardware_models"
    )
    name = models.CharField(max_length=200)
    asset_class = models.CharField(max_length=32, choices=AssetClass.choices)
    tdp_w = models.FloatField(null=True, blank=True)
    gpu_count = models.PositiveSmallIntegerField(default=0)
    embodied_kg_co2e = models.FloatField()
    embodied_low_kg_co2e = models.FloatField()
    embodied_high_kg_co2e = models.FloatField()
    boundary = models.TextField(blank=True)
    default_lifetime_years = models.FloatField()
    source = models.TextField()
    licence = models.CharField(max_length=300)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=Q(organization__isnull=True), name="hw_model_unique"),
            models.UniqueConstraint(
                fields=["organization", "name"], condition=Q(organization__isnull=False), name="hw_model_org_unique"
            ),
            models.CheckConstraint(
                condition=Q(embodied_low_kg_co2e__gte=0)
                & Q(embodied_low_kg_co2e__lte=F("embodied_kg_co2e"))
                & Q(embodied_kg_co2e__lte=F("embodied_high_kg_co2e")),
                name="hw_model_embodied_range_ordered",
            ),
            models.CheckConstraint(condition=Q(default_lifetime_years__gt=0), name="hw_model_lifetime_gt_0"),
            models.CheckConstraint(condition=Q(tdp_w__isnull=True) | Q(tdp_w__gt=0), name="hw_model_tdp_gt_0"),
        ]

    def __str__(self) -> str:
        return self.name


class HardwareAsset(models.Model):
    """A line of the fleet register: ``quantity`` units of one model at one site.

    Inventory view: the full embodied figure is Scope 3 Cat 2 in the period of ``acquired_on``.
    Management view: amortized linearly from ``in_service_on`` over ``lifetime_years``; an early
    ``retired_on`` writes off the unamortized balance; ``disposal_route`` drives Scope 3 Cat 5.
    ``embodied_kg_co2e_per_unit`` overrides the catalogue figure when the buyer has its own PCF (quality
    ``supplier_specific``); ``team`` says whose hardware it is.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="assets")
    asset_id = models.CharField(max_length=100)
    hardware_model = models.ForeignKey(HardwareModel, on_delete=models.PROTECT, related_name="assets")
    quantity = models.PositiveIntegerField(default=1)
    site = models.ForeignKey("emissions.Site", on_delete=models.PROTECT, related_name="assets")
    # Whose hardware it is: its capital goods (Cat 2 at acquisition), write-off and disposal count in this team's
    # figures and budgets; empty leaves them with the organization (unassigned).
    team = models.ForeignKey("emissions.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    acquired_on = models.DateField()
    in_service_on = models.DateField()
    lifetime_years = models.FloatField()
    retired_on = models.DateField(null=True, blank=True)
    disposal_route = models.CharField(max_length=20, choices=DisposalRoute.choices, blank=True)
    embodied_kg_co2e_per_unit = models.FloatField(null=True, blank=True)
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["site__name", "acquired_on", "asset_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "asset_id"], name="asset_id_unique_per_org"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="asset_quantity_gte_1"),
            models.CheckConstraint(condition=Q(lifetime_years__gt=0), name="asset_lifetime_gt_0"),
            models.CheckConstraint(condition=Q(in_service_on__gte=F("acquired_on")), name="asset_in_service_after_acq"),
            models.CheckConstraint(
                condition=Q(retired_on__isnull=True) | Q(retired_on__gte=F("in_service_on")),
                name="asset_retired_after_in_service",
            ),
            models.CheckConstraint(
                condition=Q(embodied_kg_co2e_per_unit__isnull=True) | Q(embodied_kg_co2e_per_unit__gte=0),
                name="asset_embodied_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.quantity} × {self.hardware_model}"

    @property
    def embodied_per_unit_kg_co2e(self) -> float:
        """The buyer's own figure when given, else the catalogue's central figure."""
        if self.embodied_kg_co2e_per_unit is not None:
            return self.embodied_kg_co2e_per_unit
        return self.hardware_model.embodied_kg_co2e

    @property
    def gpu_count_total(self) -> int:
        return self.quantity * self.hardware_model.gpu_count


class DisposalFactor(models.Model):
    """End-of-life emissions of one unit of an asset class by disposal route (kgCO2e per unit),
    for Scope 3 Cat 5 in the year of disposal. None ship with GreenGuild (no open source was
    found); an organization imports its recycler's or a published figure with its source."""

    dataset = models.ForeignKey("emissions.FactorDataset", on_delete=models.PROTECT, related_name="disposal_factors")
    organization = models.ForeignKey(
        "emissions.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="disposal_factors"
    )
    asset_class = models.CharField(max_length=32, choices=AssetClass.choices)
    disposal_route = models.CharField(max_length=20, choices=DisposalRoute.choices)
    kg_co2e_per_unit = models.FloatField()
    source = models.TextField()

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "asset_class", "disposal_route"], name="disposal_factor_unique"),
            models.CheckConstraint(condition=Q(kg_co2e_per_unit__gte=0), name="disposal_factor_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_class} {self.disposal_route}: {self.kg_co2e_per_unit} kg/unit"
