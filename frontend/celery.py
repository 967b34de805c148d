"""The Celery application: ``celery -A frontend worker -Q default,ingest,reporting``.

Tasks live in each package's ``tasks`` package (``emissions/tasks/``, ``ingest/tasks/``, ``reporting/tasks/``),
whose ``__init__`` imports every task module, and are found by autodiscovery. Each is declared with
``emissions.task_policy.retrying_task``: one retry policy, and an explicit name that stays when its module
moves (tests/test_celery_tasks.py lists them). Every periodic task is declared in ``BEAT_SCHEDULE`` below,
one entry per job with its crontab in a comment; an entry names its task by that name.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")

app = Celery("greenguild")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _worker_memory(**_) -> None:
    """Each pool process keeps freed memory for the next piece of an import (ingest/worker_memory.py)."""
    from ingest.worker_memory import worker_memory_keep

    worker_memory_keep()


# All periodic jobs, in one place.
BEAT_SCHEDULE: dict[str, dict] = {
    # */10 * * * *: the safety net of the debounced refresh (emissions/services/refresh.py): current quarter and year.
    "ledger-refresh": {"task": "emissions.tasks.ledger_refresh_task", "schedule": crontab(minute="*/10")},
    # */5 * * * *: uploads stored while the broker was away are sent to the workers once it is back.
    "import-batches-resume": {"task": "ingest.tasks.import_batches_resume_task", "schedule": crontab(minute="*/5")},
    # 5,35 * * * *: carbon-budget alerts at 80 % / 100 %, after the rollup has caught up with the ledger.
    "budget-alerts": {"task": "reporting.tasks_guild.budget_alerts_check_task", "schedule": crontab(minute="5,35")},
}
app.conf.beat_schedule = BEAT_SCHEDULE
