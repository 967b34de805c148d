"""Rollups of the ledger for the dashboards (per day, per run), and the watermark of their incremental refresh."""

from django.db import models
from django.db.models import Q

from emissions.choices import ActivityKind, Basis, QualityTier, RunKind, Scope
from emissions.querysets import OrgScopedQuerySet


class DailyEmissionRollup(models.Model):
    """The ledger summed per organization, day and dimension, so dashboards never scan EmissionRecords.

    One row per (day, team, project, site, scope, Scope 3 category, basis, quality tier, activity
    kind). Each day is read from the newest current Calculation that covers it (a quarter and its
    year both cover a day; they are never added). A record spanning several days (a month's
    unallocated electricity, a period's idle embodied share) is spread evenly over its days.
    Written only by ``reporting.rollups``; never edited by hand. Emissions in kgCO2e, both Scope 2
    figures kept apart; ``energy_kwh`` is the records' facility energy; GPU-hours come from the runs
    behind the records that carry a run's energy (one per run), for average utilization.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # No FK indexes: the table is read by (organization, day) or (organization, team, day), and rebuilt in bulk.
    team = models.ForeignKey(
        "emissions.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    project = models.ForeignKey(
        "emissions.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    site = models.ForeignKey(
        "emissions.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    scope = models.PositiveSmallIntegerField(choices=Scope.choices)
    scope3_category = models.PositiveSmallIntegerField(null=True, blank=True)
    basis = models.CharField(max_length=20, choices=Basis.choices)
    quality = models.CharField(max_length=20, choices=QualityTier.choices)
    activity_kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    emissions_kg_co2e_location = models.FloatField(default=0.0)
    emissions_kg_co2e_market = models.FloatField(default=0.0)
    energy_kwh = models.FloatField(default=0.0)
    gpu_hours = models.FloatField(default=0.0)
    # GPU-hours of runs that reported a utilization, and those GPU-hours × utilization (0..1).
    gpu_hours_with_utilization = models.FloatField(default=0.0)
    gpu_busy_hours = models.FloatField(default=0.0)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "day"]),
            # One team's days (the team page, a team filter) without reading every team's rows of the period.
            models.Index(fields=["organization", "team", "day"], name="rollup_org_team_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(emissions_kg_co2e_location__gte=0, emissions_kg_co2e_market__gte=0, energy_kwh__gte=0),
                name="rollup_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} scope {self.scope}: {self.emissions_kg_co2e_location:.3f} kg"


class RunEmissionRollup(models.Model):
    """Each run's operational emissions summed once per calculation, so the team and project pages rank and
    split runs without grouping ledger lines per run.

    One row per run and day its operational lines start on (one day; a run split at month ends has a piece,
    hence a row, in each month), from the newest current Calculation that owns that day: the rule of
    ``DailyEmissionRollup``, refreshed with it under the same watermark. kgCO2e of the run's operational
    lines (its electricity and their upstream, Scope 2 or Scope 3 Cat 1), both Scope 2 methods apart; the
    same in the inventory and management views. The run's project, kind and start are copied from the Run
    when the row is written, so a page filters and groups without joining the runs; an edited run gets its
    row again from the recalculation the edit starts. Written only by ``reporting.rollups``.
    """

    # No FK indexes: the unique (run, day) and the two indexes below serve every lookup and cascade.
    organization = models.ForeignKey(
        "emissions.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    run = models.ForeignKey("emissions.Run", on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey("emissions.Project", on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=20, choices=RunKind.choices)
    started_at = models.DateTimeField()
    day = models.DateField(help_text="First day of the ledger lines summed here (the day their calculation owns)")
    emissions_kg_co2e_location = models.FloatField(default=0.0)
    emissions_kg_co2e_market = models.FloatField(default=0.0)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "day"], name="run_rollup_org_day"),
            # A team's or project's runs started in a period, with what ranks and splits them (index-only
            # once vacuumed; rows are written in this order, so the heap pages are few otherwise).
            models.Index(
                fields=["project", "started_at"],
                include=["organization", "run", "kind", "emissions_kg_co2e_location", "emissions_kg_co2e_market"],
                name="run_rollup_project_started",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "day"], name="run_rollup_run_day_unique"),
            models.CheckConstraint(
                condition=Q(emissions_kg_co2e_location__gte=0, emissions_kg_co2e_market__gte=0),
                name="run_rollup_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.day}: {self.emissions_kg_co2e_location:.3f} kg"


class DailyRollupWatermark(models.Model):
    """How far an organization's rollups (DailyEmissionRollup, RunEmissionRollup) have read the ledger: the
    highest Calculation id.

    Calculations of one organization are created under a lock on its row and committed in id order,
    so every Calculation above the watermark is one the rollup has not seen yet.
    """

    organization = models.OneToOneField(
        "emissions.Organization", on_delete=models.CASCADE, related_name="rollup_watermark"
    )
    last_calculation_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.organization_id} rollup up to calculation {self.last_calculation_id}"
