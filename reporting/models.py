"""Read-side state: carbon budgets (alerts, reports and rollups join them in later issues)."""

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
