"""Celery tasks of reporting: thin adapters over its services (policy: emissions/task_policy.py).

Autodiscovery imports this package (``frontend/celery.py``), so it imports every task module, and callers
keep importing tasks from here (``from reporting.tasks import rollup_refresh_task``).
"""

from reporting.tasks.guild import budget_alerts_check_task
from reporting.tasks.reports import report_generate_task
from reporting.tasks.rollups import figures_follow_task, rollup_refresh_task

__all__ = ["budget_alerts_check_task", "figures_follow_task", "report_generate_task", "rollup_refresh_task"]
