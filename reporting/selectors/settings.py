"""Reads for the settings hub (``/settings/``): read-only lists of the organization's settings."""

from __future__ import annotations

from emissions.models import AllocationRule, FactorDataset, GridFactor, Membership, Organization, Team
from reporting.models import CarbonBudget


def settings_lists(*, organization: Organization) -> dict:
    """Read-only lists of the settings hub: teams and their projects, members and roles, allocation rules,
    the organization's own factor datasets and grid factors (its overrides of the shipped ones), budgets."""
    return {
        "teams": Team.objects.for_org(organization).prefetch_related("projects"),
        "members": Membership.objects.for_org(organization).select_related("user", "team").order_by("user__username"),
        "allocation_rules": AllocationRule.objects.for_org(organization).select_related("team", "project"),
        "datasets": FactorDataset.objects.filter(organization=organization),
        "grid_factors": GridFactor.objects.filter(organization=organization).select_related("zone", "dataset"),
        "budgets": CarbonBudget.objects.for_org(organization)
        .select_related("team", "project")
        .order_by("-period_start", "team__name", "project__name"),
    }
