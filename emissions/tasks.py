"""Celery adapters over the accounting services."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    acks_late=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def ledger_refresh_task() -> None:
    """Recompute the current quarter and year of every organization whose inputs changed (beat job)."""
    from emissions.services.ledger import ledger_refresh

    ledger_refresh()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True, time_limit=1900)
def figures_refresh_task(organization_id: int, months: list[str] | None) -> None:
    """Recompute the periods new data touched (``months``: ISO first days; None: every period)."""
    from datetime import date

    from emissions.services.refresh import figures_refresh

    figures_refresh(organization_id=organization_id, months=None if months is None else map(date.fromisoformat, months))
