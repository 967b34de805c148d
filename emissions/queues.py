"""Celery queue names shared by every package's tasks.

It lives in the innermost package so that ``ingest`` and ``reporting`` tasks can name their queue
without importing ``frontend`` (imports point inward).
"""

import enum


class CeleryQueue(enum.StrEnum):
    """Queues a task may be routed to; workers subscribe with ``-Q default,ingest,reporting``."""

    DEFAULT = "default"
    INGEST = "ingest"
    REPORTING = "reporting"
