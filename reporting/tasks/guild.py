"""Celery adapter over the carbon-budget alert check (``reporting.guild.alerts``), run by beat."""

from django.utils import timezone

from emissions.task_policy import retrying_task
from reporting.guild.alerts import budget_alerts_check_all


# The name it had in reporting/tasks_guild.py: the beat schedule and queued messages carry it.
@retrying_task(name="reporting.tasks_guild.budget_alerts_check_task", soft_time_limit=600, time_limit=660)
def budget_alerts_check_task() -> int:
    """Send the budget alerts (80 %, 100 %) newly reached today; each is sent once (see the service)."""
    return budget_alerts_check_all(today=timezone.now().date())
