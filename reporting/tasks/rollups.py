"""Celery adapters over the rollup refresh (``reporting.rollups``): fetch by id, call the service.

Enqueued by ``emissions.signals.figures_changed`` (reporting/apps.py): after a Calculation is written
and after an import batch finishes; the refresh
is a no-op when no Calculation is above the watermark, so extra calls cost one query.
"""

from datetime import date

from django.utils import timezone

from emissions.models import Organization
from emissions.task_policy import retrying_task
from reporting.guild.alerts import budget_alerts_check
from reporting.rollups import rollup_refresh

# The names below are those of reporting/rollup_tasks.py, where these tasks were: queued messages carry them.


@retrying_task(name="reporting.rollup_tasks.rollup_refresh_task", soft_time_limit=1800, time_limit=1900)
def rollup_refresh_task(organization_id: int) -> None:
    """Bring one organization's daily rollup up to its newest Calculation."""
    rollup_refresh(organization=Organization.objects.get(pk=organization_id))


@retrying_task(name="reporting.rollup_tasks.figures_follow_task", time_limit=1900)
def figures_follow_task(organization_id: int, since: str | None = None) -> None:
    """Rollup up to date, then the organization's 80 % / 100 % budget alerts (each sent once), including
    budgets of closed periods from ``since`` (ISO date: the first month the refresh touched)."""
    organization = Organization.objects.get(pk=organization_id)
    rollup_refresh(organization=organization)
    first = date.fromisoformat(since) if since else None
    budget_alerts_check(organization=organization, today=timezone.now().date(), since=first)
