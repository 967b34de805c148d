"""Celery tasks of the accounting core: thin adapters over its services (policy: emissions/task_policy.py).

Autodiscovery imports this package (``frontend/celery.py``), so it imports every task module, and callers
keep importing tasks from here (``from emissions.tasks import figures_refresh_task``).
"""

from emissions.tasks.refresh import figures_refresh_task, ledger_refresh_task

__all__ = ["figures_refresh_task", "ledger_refresh_task"]
