"""Read-side state: carbon budgets and generated reports (alerts and rollups join them in later issues)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from emissions.querysets import OrgScopedQuerySet


class CarbonBudget(models.Model):
    """An emissions budget in kgCO2e for one team or one project over a period (usually a quarter).

    ``basis`` says which Scope 2 figure counts against it: location-based by default.
    """

    class Basis(models.TextChoices):
        LOCATION = "location", "Location-based"
        MARKET = "market", "Market-based"

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="budgets")
    team = models.ForeignKey("emissions.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="budgets")
    project = models.ForeignKey(
        "emissions.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="budgets"
    )
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive last day")
    budget_kg_co2e = models.FloatField()
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.LOCATION)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["period_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, project__isnull=True) | Q(team__isnull=True, project__isnull=False),
                name="budget_exactly_one_owner",
            ),
            models.CheckConstraint(condition=Q(budget_kg_co2e__gt=0), name="budget_gt_0"),
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="budget_period_ordered"),
            models.UniqueConstraint(
                fields=["team", "period_start"], condition=Q(team__isnull=False), name="budget_team_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "period_start"], condition=Q(project__isnull=False), name="budget_project_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team or self.project} {self.period_start}: {self.budget_kg_co2e} kg"


class Report(models.Model):
    """A CSRD-style (ESRS E1) climate report of one organization for one period (``2025-Q1``, ``2025-H1``, ``2025``).

    The report is pinned to the calculations it was built from (the period, its year to date and the
    same periods one year earlier), so regenerating it later reads exactly the same ledger rows even
    after new activity has superseded those calculations. ``as_of`` is fixed when the calculations
    are pinned and is the date every file states; ``hourly_scope2`` is the supplementary hourly-matched
    Scope 2 computed at that moment. Files live in ``ReportFile`` rows, one per format.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.FAILED)

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="reports")
    period_label = models.CharField(max_length=20)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive last day")
    # Pinned calculations; CASCADE only matters when an organization (and its ledger) is deleted.
    calculation = models.ForeignKey(
        "emissions.Calculation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    ytd_calculation = models.ForeignKey(
        "emissions.Calculation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comparison_calculation = models.ForeignKey(
        "emissions.Calculation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comparison_ytd_calculation = models.ForeignKey(
        "emissions.Calculation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    as_of = models.DateTimeField(null=True, blank=True, help_text="When the calculations were pinned")
    # The ESRS taxonomy (concept map, reporting/reports/concepts.py) the inline XBRL and JSON tag with: an id of
    # ``esrs_taxonomies()``, checked by ``report_create``; no choices here, so a new map needs no migration.
    taxonomy = models.CharField(max_length=40, default="esrs-set1-2023-12-22")
    # The hourly-matched Scope 2 (the GHG Protocol revision's method, shown beside the inventory's and never
    # in it), computed when the calculations are pinned: meter data, certificates and hourly factors are not
    # part of the ledger, so the figures are kept here and every later rendering shows the same numbers
    # (reporting/reports/hourly_scope2.py describes the keys). Null for reports pinned before it existed.
    hourly_scope2 = models.JSONField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress_pct = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Issuing freezes a done report: its files never change again, and later reports state their
    # restatements against it (drafts are never "the last report").
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="report_period_ordered"),
            models.CheckConstraint(condition=Q(progress_pct__lte=100), name="report_progress_lte_100"),
            models.CheckConstraint(
                condition=Q(issued_at__isnull=True) | Q(status="done"), name="report_issued_only_when_done"
            ),
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} {self.organization} {self.period_label} ({self.status})"

    def pinned_calculations(self) -> dict:
        """The pinned calculations by the column they fill (period, year to date, comparatives)."""
        pinned = {
            "period": self.calculation,
            "year to date": self.ytd_calculation if self.is_interim else None,
            "previous period": self.comparison_calculation,
            "previous year to date": self.comparison_ytd_calculation if self.is_interim else None,
        }
        return {column: calculation for column, calculation in pinned.items() if calculation is not None}

    @property
    def is_interim(self) -> bool:
        """Shorter than a year: the report then carries year-to-date columns."""
        return (self.period_end - self.period_start).days < 364


class ReportFile(models.Model):
    """One rendered format of a Report, stored in the database (reports are small, and every worker
    and web process then sees the same bytes without shared storage)."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        JSON = "json", "JSON"
        PDF = "pdf", "PDF"
        XHTML = "xhtml", "Inline XBRL (XHTML)"
        VSME = "vsme", "VSME B3 digital template (XLSX)"
        VSME_XHTML = "vsme-xhtml", "VSME B3 inline XBRL (XHTML)"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="files")
    file_format = models.CharField(max_length=10, choices=Format.choices)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now=True)

    objects = OrgScopedQuerySet.as_manager()
    org_path = "report__organization"

    class Meta:
        ordering = ["report", "file_format"]
        constraints = [models.UniqueConstraint(fields=["report", "file_format"], name="report_file_unique_format")]

    def __str__(self) -> str:
        return f"{self.report_id}.{self.file_format} ({self.size_bytes} bytes)"


class BudgetAlert(models.Model):
    """A carbon-budget threshold (80 % or 100 %) crossed, recorded once per budget and threshold.

    A CarbonBudget covers one period, so "once per threshold per period" is the unique constraint on
    (budget, threshold_pct): the row is claimed before anything is sent, and a second check (another
    worker, the next beat) finds it and sends nothing. Delivery outcomes are kept on the row.
    """

    organization = models.ForeignKey("emissions.Organization", on_delete=models.CASCADE, related_name="+")
    budget = models.ForeignKey(CarbonBudget, on_delete=models.CASCADE, related_name="alerts")
    threshold_pct = models.PositiveSmallIntegerField()
    used_kg_co2e = models.FloatField()
    budget_kg_co2e = models.FloatField()
    forecast_kg_co2e = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    email_recipients = models.JSONField(default=list, blank=True)
    webhook_url = models.CharField(max_length=500, blank=True)
    webhook_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivery_error = models.TextField(blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "threshold_pct"], name="budget_alert_once_per_threshold"),
            models.CheckConstraint(condition=Q(threshold_pct__gt=0), name="budget_alert_threshold_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.budget} crossed {self.threshold_pct} %"
