"""The retry policy of every Celery task in GreenGuild, and ``retrying_task``, the decorator that applies it.

Every task is idempotent: it fetches its rows by id and calls a service that upserts, or that checks what
is already done, so running a task twice is safe. The policy relies on that:

* **Acknowledged late** (``acks_late``). A worker killed mid-task leaves the message with the broker,
  which hands it out again after the visibility timeout (``CELERY_VISIBILITY_TIMEOUT_S``, longer than
  the longest ``time_limit``).
* **Retried while the database is away, and for nothing else** (``DATABASE_AWAY``): a restart, a failover
  or a dropped connection. psycopg's own classes are listed too: COPY (emissions/services/cloud.py) runs
  on the raw cursor, whose errors Django does not wrap. A bug or a bad input fails at once; the service
  records it on the job's row (ImportBatch, Report).
* **Backoff without jitter**: 2, 4, 8, 16, 32, then every 60 s, ten tries, about 6 minutes in all. No
  jitter: a jittered countdown can be near 0 s every time, and the retries would all be spent inside one
  short restart.
* **A fresh connection for the retry** (``DatabaseTask.on_retry``). The worker keeps its connection
  between tasks; one the outage broke is dropped, so that the retry opens a new one.

Time limits stay per task (``soft_time_limit``/``time_limit``): they measure the job, not the outage.

Every task is given its name (``name=``), never the default derived from its module: the name travels in
queued messages, in the beat schedule (frontend/celery.py) and in the routes (``CELERY_TASK_ROUTES``),
so moving a task to another module must not rename it. tests/test_celery_tasks.py lists every name.

This module sits in the innermost package so that the tasks of every package can use it (imports point
inward). None of the domain's pure modules imports it (.importlinter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from celery import Task, shared_task
from django.db import InterfaceError, OperationalError, connections

# The database went away (restart, failover, a dropped connection): the errors a task is retried for,
# and the ones the import services let through to their task instead of recording a failure.
DATABASE_AWAY = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

# The decorator options of the policy above (the time limits come from each task).
RETRY_POLICY: dict[str, Any] = {
    "autoretry_for": DATABASE_AWAY,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": False,
    "max_retries": 10,
    "acks_late": True,
}


class DatabaseTask(Task):
    """A task that drops the database connections an outage broke before it is retried."""

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:
        # Never inside a transaction (an eager task in a test runs in the test's).
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()


def retrying_task(*, name: str, soft_time_limit: int | None = None, time_limit: int | None = None) -> Callable:
    """``shared_task`` with the retry policy, the task's explicit ``name`` and its time limits in seconds."""
    limits = {"soft_time_limit": soft_time_limit, "time_limit": time_limit}
    return shared_task(
        name=name,
        base=DatabaseTask,
        **RETRY_POLICY,
        **{option: seconds for option, seconds in limits.items() if seconds is not None},
    )
