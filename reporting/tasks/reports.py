"""Celery adapter over report generation (reporting/generation.py): fetch by id, call the service."""

from emissions.task_policy import retrying_task
from reporting.generation import report_generate
from reporting.models import Report


@retrying_task(name="reporting.tasks.report_generate_task", soft_time_limit=900, time_limit=960)
def report_generate_task(report_id: int) -> None:
    """Generate one Report (pin, build, render every format); safe to run again."""
    report_generate(report=Report.objects.select_related("organization").get(pk=report_id))
