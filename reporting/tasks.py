"""Celery adapters over reporting services: fetch by id, call the service."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
    soft_time_limit=900,
    time_limit=960,
)
def report_generate_task(report_id: int) -> None:
    """Generate one Report (pin, build, render every format); safe to run again."""
    from reporting.models import Report
    from reporting.services import report_generate

    report_generate(report=Report.objects.select_related("organization").get(pk=report_id))
