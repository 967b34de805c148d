"""Celery adapters over the figures refresh: the beat safety net and the debounced refresh of new data."""

from __future__ import annotations

from datetime import date

from emissions.services.ledger import ledger_refresh
from emissions.services.refresh import figures_refresh
from emissions.task_policy import retrying_task


@retrying_task(name="emissions.tasks.ledger_refresh_task", soft_time_limit=1800, time_limit=1900)
def ledger_refresh_task() -> None:
    """Recompute the current quarter and year of every organization whose inputs changed (beat job)."""
    ledger_refresh()


@retrying_task(name="emissions.tasks.figures_refresh_task", time_limit=1900)
def figures_refresh_task(organization_id: int, months: list[str] | None) -> None:
    """Recompute the periods new data touched (``months``: ISO first days; None: every period)."""
    figures_refresh(organization_id=organization_id, months=None if months is None else map(date.fromisoformat, months))
