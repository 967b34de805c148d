"""Celery adapter over the carbon-budget alert check (``reporting.guild.alerts``), run by beat."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    acks_late=True,
    soft_time_limit=600,
    time_limit=660,
)
def budget_alerts_check_task() -> int:
    """Send the budget alerts (80 %, 100 %) newly reached today; each is sent once (see the service)."""
    from django.utils import timezone

    from reporting.guild.alerts import budget_alerts_check_all

    return budget_alerts_check_all(today=timezone.now().date())
