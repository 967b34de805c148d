"""Hourly inputs of the hourly-matched Scope 2 (``emissions.hourly_scope2``): a site's metered electricity
hour by hour, and granular certificates stamped with the hour and market boundary they were generated in."""

from django.db import models
from django.db.models import Q

from emissions.querysets import OrgScopedQuerySet


class HourlyMeterReading(models.Model):
    """A site's facility electricity in the hour starting at ``hour_start`` (UTC), in kWh."""

    site = models.ForeignKey("emissions.Site", on_delete=models.CASCADE, related_name="hourly_readings")
    hour_start = models.DateTimeField()
    energy_kwh = models.FloatField()
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()
    org_path = "site__organization"

    class Meta:
        ordering = ["site", "hour_start"]
        constraints = [
            models.UniqueConstraint(fields=["site", "hour_start"], name="hourly_reading_unique"),
            models.CheckConstraint(condition=Q(energy_kwh__gte=0), name="hourly_reading_energy_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.hour_start:%Y-%m-%d %H}:00: {self.energy_kwh} kWh"


class GranularCertificate(models.Model):
    """A certificate for ``energy_kwh`` generated in the hour starting at ``hour_start`` (UTC) inside the market
    boundary of ``zone`` (its bidding zone or grid), at ``emission_factor_g_per_kwh`` (0 for carbon-free
    sources). The same quality criteria as annual instruments apply (one claim, the organization's own); in
    the hourly method it covers only its own hour and boundary. ``site`` names a site it was bought for
    (informative: matching is by boundary)."""

    organization = models.ForeignKey(
        "emissions.Organization", on_delete=models.CASCADE, related_name="granular_certificates"
    )
    certificate_id = models.CharField(max_length=100)
    zone = models.ForeignKey("emissions.GridZone", on_delete=models.PROTECT, related_name="granular_certificates")
    site = models.ForeignKey(
        "emissions.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="granular_certificates"
    )
    hour_start = models.DateTimeField()
    energy_kwh = models.FloatField()
    emission_factor_g_per_kwh = models.FloatField(default=0.0)
    carbon_free = models.BooleanField(default=True)
    energy_source = models.CharField(max_length=40, blank=True, help_text="e.g. solar, wind, hydro, nuclear")
    source_batch_id = models.BigIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["hour_start", "certificate_id"]
        indexes = [models.Index(fields=["organization", "hour_start"])]
        constraints = [
            models.UniqueConstraint(fields=["organization", "certificate_id"], name="granular_certificate_unique"),
            models.CheckConstraint(condition=Q(energy_kwh__gte=0), name="granular_certificate_energy_gte_0"),
            models.CheckConstraint(
                condition=Q(emission_factor_g_per_kwh__gte=0), name="granular_certificate_factor_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id}: {self.energy_kwh} kWh {self.hour_start:%Y-%m-%d %H}:00 ({self.zone_id})"
