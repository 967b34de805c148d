"""Django admin for the domain: the instance operator's tool (staff only, sees every organization)."""

from django.contrib import admin
from django.template.response import TemplateResponse

from emissions import models
from emissions.services.tokens import api_token_create, api_token_revoke


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "lei", "currency", "consolidation_approach", "default_pue"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "team"]
    list_filter = ["organization", "role"]


@admin.register(models.Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "parent"]
    list_filter = ["organization"]


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team", "stage", "model_family", "organization"]
    list_filter = ["organization", "stage"]


@admin.register(models.Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "project", "is_default_demo_id"]


@admin.register(models.Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "ownership", "zone", "pue", "wue_l_per_kwh", "buys_electricity"]
    list_filter = ["organization", "ownership"]


@admin.register(models.NetRevenue)
class NetRevenueAdmin(admin.ModelAdmin):
    list_display = ["organization", "period_start", "period_end", "amount", "currency"]


@admin.register(models.Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "kind", "started_at", "energy_kwh", "gpu_model", "gpu_count", "source"]
    list_filter = ["organization", "kind", "source"]
    search_fields = ["external_id"]
    raw_id_fields = ["project", "experiment", "site", "cloud_region", "hardware_model"]
    date_hierarchy = "started_at"


@admin.register(models.RunSample)
class RunSampleAdmin(admin.ModelAdmin):
    list_display = ["run", "recorded_at", "duration_s", "energy_kwh"]
    raw_id_fields = ["run"]


@admin.register(models.MeterReading)
class MeterReadingAdmin(admin.ModelAdmin):
    list_display = ["site", "period_start", "period_end", "energy_kwh"]


@admin.register(models.FuelUse)
class FuelUseAdmin(admin.ModelAdmin):
    list_display = ["site", "used_on", "fuel", "quantity", "unit"]


@admin.register(models.RefrigerantLoss)
class RefrigerantLossAdmin(admin.ModelAdmin):
    list_display = ["site", "occurred_on", "gas", "kg_leaked"]


@admin.register(models.CloudUsage)
class CloudUsageAdmin(admin.ModelAdmin):
    list_display = ["provider", "service", "region", "billing_period", "usage_quantity", "usage_unit", "cost", "team"]
    list_filter = ["organization", "provider", "charge_category"]
    raw_id_fields = ["cloud_region", "team", "project"]
    # A line's tags and coefficients are sets stored once (CloudTagSet, CloudEstimateBasis): shown, not edited.
    readonly_fields = ["tags", "tags_digest", "coefficients", "coefficients_digest"]


@admin.register(models.AllocationRule)
class AllocationRuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "organization", "provider", "account_id", "tag_key", "tag_value", "team", "project"]


@admin.register(models.FactorDataset)
class FactorDatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "organization", "licence", "loaded_at"]


@admin.register(models.GridZone)
class GridZoneAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country_iso3", "parent"]
    search_fields = ["code", "name"]


@admin.register(models.GridFactor)
class GridFactorAdmin(admin.ModelAdmin):
    list_display = ["zone", "kind", "year", "month", "intensity_g_per_kwh", "dataset", "organization"]
    list_filter = ["kind", "dataset"]
    search_fields = ["zone__code"]


@admin.register(models.HourlyIntensity)
class HourlyIntensityAdmin(admin.ModelAdmin):
    list_display = ["zone", "hour_start", "intensity_g_per_kwh", "dataset"]


@admin.register(models.GridEnergyMix)
class GridEnergyMixAdmin(admin.ModelAdmin):
    list_display = ["zone", "year", "fossil_share_pct", "nuclear_share_pct", "renewable_share_pct", "dataset"]


@admin.register(models.CloudRegion)
class CloudRegionAdmin(admin.ModelAdmin):
    list_display = ["provider", "region", "location", "zone", "pue", "intensity_g_per_kwh", "dataset"]
    list_filter = ["provider"]


@admin.register(models.EnergyInstrument)
class EnergyInstrumentAdmin(admin.ModelAdmin):
    list_display = ["instrument_id", "kind", "zone", "vintage_start", "vintage_end", "energy_mwh", "organization"]


@admin.register(models.FuelFactor)
class FuelFactorAdmin(admin.ModelAdmin):
    list_display = ["fuel", "unit", "kg_co2e_per_unit", "dataset"]


@admin.register(models.GlobalWarmingPotential)
class GlobalWarmingPotentialAdmin(admin.ModelAdmin):
    list_display = ["gas", "gwp100", "dataset"]


@admin.register(models.HardwareModel)
class HardwareModelAdmin(admin.ModelAdmin):
    list_display = ["name", "asset_class", "tdp_w", "gpu_count", "embodied_kg_co2e", "default_lifetime_years"]
    list_filter = ["asset_class"]


@admin.register(models.HardwareAsset)
class HardwareAssetAdmin(admin.ModelAdmin):
    list_display = ["asset_id", "hardware_model", "quantity", "site", "acquired_on", "retired_on", "organization"]
    list_filter = ["organization", "site"]


@admin.register(models.Calculation)
class CalculationAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "period_start", "period_end", "methodology_version", "created_at"]


@admin.register(models.EmissionRecord)
class EmissionRecordAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "scope",
        "scope3_category",
        "basis",
        "activity_kind",
        "period_start",
        "emissions_kg_co2e_location",
        "emissions_kg_co2e_market",
        "quality",
    ]
    list_filter = ["organization", "scope", "basis", "quality"]
    raw_id_fields = ["calculation", "team", "project", "run", "site"]


@admin.register(models.CarbonCredit)
class CarbonCreditAdmin(admin.ModelAdmin):
    list_display = ["credit_id", "organization", "cancelled_on", "tonnes_co2e", "kind", "standard"]


@admin.register(models.DisposalFactor)
class DisposalFactorAdmin(admin.ModelAdmin):
    list_display = ["asset_class", "disposal_route", "kg_co2e_per_unit", "dataset", "organization"]


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens: adding one generates it and shows it once; only its SHA-256 is stored."""

    list_display = ["name", "prefix", "organization", "project", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization", "scope"]
    fields = ["organization", "project", "site", "name", "scope", "prefix", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "last_used_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, plaintext = api_token_create(
            organization=obj.organization,
            project=obj.project,
            site=obj.site,
            name=obj.name,
            scope=obj.scope,
            created_by=request.user,
        )
        obj.pk, obj.token_sha256, obj.prefix = token.pk, token.token_sha256, token.prefix
        request.greenguild_new_token = plaintext

    def response_add(self, request, obj, post_url_continue=None):
        plaintext = getattr(request, "greenguild_new_token", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "token": obj,
            "plaintext": plaintext,
            "title": "Token created",
        }
        return TemplateResponse(request, "admin/emissions/apitoken/created.html", context)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(organization=token.organization, token_id=token.pk)


# Plurals Django cannot derive from the class name ("Grid energy mixs"). Set on the options the admin
# reads, not in the models' Meta: the admin is the only place they are shown, and Meta options would
# change the migration state for a label.
ADMIN_PLURALS = {
    models.GridEnergyMix: "grid energy mixes",
    models.HourlyIntensity: "hourly intensities",
    models.RefrigerantLoss: "refrigerant losses",
    models.FuelUse: "fuel use records",
    models.CloudUsage: "cloud usage lines",
    models.NetRevenue: "net revenue figures",
    models.ApiToken: "API tokens",
}
for _model, _plural in ADMIN_PLURALS.items():
    _model._meta.verbose_name_plural = _plural
models.ApiToken._meta.verbose_name = "API token"
