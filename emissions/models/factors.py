"""Reference data: versioned factor datasets, grid zones and factors, instruments, GWPs."""

from django.db import models
from django.db.models import F, Q

from emissions.choices import CloudProvider, FactorKind, InstrumentKind
from emissions.querysets import HourlyIntensityQuerySet, OrgScopedQuerySet, ReferenceQuerySet


class FactorDataset(models.Model):
    """A versioned set of reference values (e.g. ``ember-owid`` 2024-codecarbon-3.3.2).

    Shipped datasets have no organization; an organization's own overrides (a supplier rate, a
    licensed residual mix) live in a dataset of that organization and win over shipped ones.
    A new version is a new row, so earlier calculations keep pointing at the values they used.
    """

    organization = models.ForeignKey(
        "emissions.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    title = models.CharField(max_length=300)
    source = models.TextField(help_text="Publisher and document the values come from")
    licence = models.CharField(max_length=300)
    loaded_at = models.DateTimeField(auto_now=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"], condition=Q(organization__isnull=True), name="dataset_shipped_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "name", "version"],
                condition=Q(organization__isnull=False),
                name="dataset_org_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class GridZone(models.Model):
    """An electricity market or grid area: a country (ISO 3166-1 alpha-2, ``DE``) or a subdivision
    (ISO 3166-2, ``US-VA``). Factors, instruments and sites refer to zones; an instrument covers
    consumption only in its own zone (Scope 2 Quality Criteria: same market)."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    country_iso3 = models.CharField(max_length=3, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class GridFactor(models.Model):
    """Grid emission factor of a zone for a year (or one month of it), in gCO2e per kWh.

    ``kind`` separates direct location-based factors, lifecycle factors (used as location-based
    only where no direct factor exists, and flagged), residual mixes, T&D losses and upstream.
    ``source`` and ``licence`` are recorded per row; ``dataset`` carries the version.
    """

    dataset = models.ForeignKey(FactorDataset, on_delete=models.PROTECT, related_name="grid_factors")
    organization = models.ForeignKey(
        "emissions.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="grid_factors"
    )
    zone = models.ForeignKey(GridZone, on_delete=models.PROTECT, related_name="factors")
    kind = models.CharField(max_length=20, choices=FactorKind.choices)
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty for a yearly factor")
    intensity_g_per_kwh = models.FloatField()
    source = models.TextField()
    licence = models.CharField(max_length=300)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["zone__code", "kind", "year", "month"]
        indexes = [models.Index(fields=["zone", "kind", "year"])]
        constraints = [
            models.CheckConstraint(condition=Q(intensity_g_per_kwh__gte=0), name="grid_factor_intensity_gte_0"),
            models.CheckConstraint(
                condition=Q(month__isnull=True) | Q(month__gte=1, month__lte=12), name="grid_factor_month_valid"
            ),
            models.UniqueConstraint(
                fields=["dataset", "zone", "kind", "year"],
                condition=Q(month__isnull=True),
                name="grid_factor_yearly_unique",
            ),
            models.UniqueConstraint(
                fields=["dataset", "zone", "kind", "year", "month"],
                condition=Q(month__isnull=False),
                name="grid_factor_monthly_unique",
            ),
        ]

    def __str__(self) -> str:
        period = f"{self.year}-{self.month:02d}" if self.month else str(self.year)
        return f"{self.zone.code} {self.kind} {period}: {self.intensity_g_per_kwh} g/kWh"


class HourlyIntensity(models.Model):
    """Hourly grid intensity of a zone (gCO2e per kWh, location-based, direct) for the hour starting at
    ``hour_start`` (UTC); where the source gives them, the hour's residual mix (gCO2e/kWh) and the carbon-free
    share of its generation (percent), which the hourly-matched Scope 2 reads (``emissions.hourly_scope2``).

    Shipped (a dataset without organization, ``manage.py load_hourly_intensity``) or an organization's own
    (its dataset ``own-hourly-intensity``, the ``grid_intensity_hourly`` import): for the same zone and hour the
    organization's own value wins over a shipped one (``HourlyIntensityQuerySet.by_hour``)."""

    dataset = models.ForeignKey(FactorDataset, on_delete=models.PROTECT, related_name="hourly_intensities")
    zone = models.ForeignKey(GridZone, on_delete=models.PROTECT, related_name="hourly_intensities")
    hour_start = models.DateTimeField()
    intensity_g_per_kwh = models.FloatField()
    residual_g_per_kwh = models.FloatField(null=True, blank=True)
    carbon_free_share_pct = models.FloatField(null=True, blank=True)

    # Read for an organization only through ``visible_to`` (shipped and its own datasets, its own first).
    objects = HourlyIntensityQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "zone", "hour_start"], name="hourly_intensity_unique"),
            models.CheckConstraint(condition=Q(intensity_g_per_kwh__gte=0), name="hourly_intensity_gte_0"),
            models.CheckConstraint(
                condition=Q(residual_g_per_kwh__isnull=True) | Q(residual_g_per_kwh__gte=0),
                name="hourly_residual_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(carbon_free_share_pct__isnull=True)
                | Q(carbon_free_share_pct__gte=0, carbon_free_share_pct__lte=100),
                name="hourly_carbon_free_share_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone.code} {self.hour_start:%Y-%m-%d %H}:00 {self.intensity_g_per_kwh} g/kWh"


class GridEnergyMix(models.Model):
    """Shares of a zone's electricity generation by source (percent), for ESRS E1-5 energy mix."""

    dataset = models.ForeignKey(FactorDataset, on_delete=models.PROTECT, related_name="energy_mixes")
    zone = models.ForeignKey(GridZone, on_delete=models.PROTECT, related_name="energy_mixes")
    year = models.PositiveSmallIntegerField()
    fossil_share_pct = models.FloatField()
    nuclear_share_pct = models.FloatField()
    renewable_share_pct = models.FloatField()
    source = models.TextField()
    licence = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "zone", "year"], name="energy_mix_unique"),
            models.CheckConstraint(
                condition=Q(fossil_share_pct__gte=0, nuclear_share_pct__gte=0, renewable_share_pct__gte=0)
                & Q(fossil_share_pct__lte=100, nuclear_share_pct__lte=100, renewable_share_pct__lte=100),
                name="energy_mix_shares_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone.code} {self.year} mix"


class CloudRegion(models.Model):
    """A cloud provider's region mapped to a grid zone, with the provider's PUE (dimensionless)."""

    dataset = models.ForeignKey(FactorDataset, on_delete=models.PROTECT, related_name="cloud_regions")
    provider = models.CharField(max_length=10, choices=CloudProvider.choices)
    region = models.CharField(max_length=64)
    location = models.CharField(max_length=200, blank=True)
    zone = models.ForeignKey(GridZone, null=True, blank=True, on_delete=models.PROTECT, related_name="cloud_regions")
    pue = models.FloatField()
    # The grid factor the source publishes for the region (gCO2e/kWh), kept for cloud estimates.
    intensity_g_per_kwh = models.FloatField(null=True, blank=True)
    intensity_source = models.TextField(blank=True)
    pue_source = models.TextField(blank=True)
    licence = models.CharField(max_length=300)

    class Meta:
        ordering = ["provider", "region"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "provider", "region"], name="cloud_region_unique"),
            models.CheckConstraint(condition=Q(pue__gte=1), name="cloud_region_pue_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.region}"


class EnergyInstrument(models.Model):
    """A contractual instrument for Scope 2 market-based accounting (Scope 2 Guidance ch. 7).

    Covers at most ``energy_mwh`` of consumption in its own ``zone`` during its vintage
    (``vintage_start`` to ``vintage_end``, inclusive). Renewable certificates carry
    ``emission_factor_g_per_kwh = 0``.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="instruments")
    instrument_id = models.CharField(max_length=100, help_text="Certificate or contract id")
    kind = models.CharField(max_length=20, choices=InstrumentKind.choices)
    zone = models.ForeignKey(GridZone, on_delete=models.PROTECT, related_name="instruments")
    site = models.ForeignKey(
        "emissions.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="instruments"
    )
    vintage_start = models.DateField()
    vintage_end = models.DateField()
    energy_mwh = models.FloatField()
    emission_factor_g_per_kwh = models.FloatField(default=0.0)
    # Bundled = bought with the electricity (PPA, green tariff); unbundled = certificate alone.
    bundled = models.BooleanField(default=False)
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["vintage_start", "instrument_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "instrument_id"], name="instrument_id_unique_per_org"),
            models.CheckConstraint(condition=Q(energy_mwh__gte=0), name="instrument_energy_gte_0"),
            models.CheckConstraint(condition=Q(emission_factor_g_per_kwh__gte=0), name="instrument_factor_gte_0"),
            models.CheckConstraint(condition=Q(vintage_start__lte=F("vintage_end")), name="instrument_vintage_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.instrument_id} ({self.energy_mwh} MWh, {self.zone.code})"


class CertificateUse(models.Model):
    """A certificate's (or contract's) use by one block of electricity that an issued report showed.

    Recorded once, when the report is issued (``emissions.services.certificates``), from its calculation's
    Scope 2 records: every later calculation reads these uses for those blocks instead of replaying the
    allocation, and no other block can draw the same kWh (Scope 2 Quality Criteria: a claim is made once). A
    block whose energy changed after issue keeps its issued cover; the difference is valued as uncovered and
    named as a data gap. ``instrument_id`` is the instrument's id text, so a re-imported certificate keeps its
    claims; ``block_kwh`` is the block's facility kWh when issued; ``calculation_id`` the issued calculation.
    """

    organization = models.ForeignKey(
        "emissions.Organization", on_delete=models.CASCADE, related_name="certificate_uses"
    )
    instrument_id = models.CharField(max_length=100)
    block_key = models.CharField(max_length=200)
    month = models.DateField(help_text="First day of the block's month")
    block_kwh = models.FloatField()
    energy_kwh = models.FloatField(help_text="kWh of the block this instrument covered")
    emission_factor_g_per_kwh = models.FloatField()
    calculation_id = models.BigIntegerField()

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["month", "block_key", "instrument_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "block_key", "instrument_id"], name="certificate_use_once_per_block"
            ),
            models.CheckConstraint(condition=Q(energy_kwh__gte=0), name="certificate_use_kwh_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id}: {self.energy_kwh:,.1f} kWh of {self.block_key}"


class FuelFactor(models.Model):
    """Stationary-combustion emission factor of a fuel: kgCO2e per unit (litre, kWh NCV, ...)."""

    dataset = models.ForeignKey(FactorDataset, on_delete=models.PROTECT, related_name="fuel_factors")
    fuel = models.CharField(max_length=100)
    unit = models.CharField(max_length=30)
    kg_co2e_per_unit = models.FloatField()
    source = models.TextField()
    licence = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "fuel", "unit"], name="fuel_factor_unique"),
            models.CheckConstraint(condition=Q(kg_co2e_per_unit__gte=0), name="fuel_factor_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.fuel} per {self.unit}: {self.kg_co2e_per_unit} kgCO2e"


class GlobalWarmingPotential(models.Model):
    """100-year global warming potential of a gas or blend (kgCO2e per kg), IPCC AR6."""

    dataset = models.ForeignKey(FactorDataset, on_delete=models.PROTECT, related_name="gwps")
    gas = models.CharField(max_length=50)
    gwp100 = models.FloatField()
    source = models.TextField()
    licence = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "gas"], name="gwp_unique"),
            models.CheckConstraint(condition=Q(gwp100__gt=0), name="gwp_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.gas}: GWP100 {self.gwp100}"
