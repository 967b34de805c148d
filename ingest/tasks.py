"""Celery adapters over ingest services: fetch by id, call the service."""

import psycopg
from celery import Task, shared_task
from django.db import InterfaceError, OperationalError, connections

# The database went away (restart, failover, a dropped connection). psycopg's own classes are listed
# too: COPY (emissions/services/cloud.py) runs on the raw cursor, whose errors Django does not wrap.
DATABASE_AWAY = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

# Both tasks are idempotent, so they are acknowledged late and retried while the database is away:
# 2, 4, 8, 16, 32, then every 60 s, about 6 minutes in all. No jitter: a jittered countdown can be
# near 0 s every time, and the retries would all be spent inside one short restart.
_RETRYING = {
    "autoretry_for": DATABASE_AWAY,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": False,
    "max_retries": 10,
    "acks_late": True,
    "soft_time_limit": 3600,
    "time_limit": 3700,
}


class _DatabaseTask(Task):
    def on_retry(self, exc, task_id, args, kwargs, einfo):
        # The worker keeps its connection between tasks: drop one the outage broke, so the retry opens a
        # fresh one. Never inside a transaction (an eager task in a test runs in the test's).
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()


@shared_task(base=_DatabaseTask, **_RETRYING)
def import_batch_process_task(batch_id: int) -> None:
    """Process one ImportBatch; idempotent, so a redelivery after a crash is safe."""
    from ingest.models import ImportBatch
    from ingest.services import import_batch_process

    import_batch_process(batch=ImportBatch.objects.get(pk=batch_id))


@shared_task(base=_DatabaseTask, **_RETRYING)
def import_chunk_process_task(batch_id: int, index: int) -> None:
    """Import one piece of a split batch (ingest/chunked.py); a redelivery of a done piece does nothing."""
    from ingest.chunked import import_chunk_process

    import_chunk_process(batch_id=batch_id, index=index)


@shared_task
def import_batches_resume_task() -> int:
    """Beat: send again the batches whose enqueue was lost while the broker was away, and the pieces
    of split batches that stopped moving (their task gave up, or its worker died)."""
    from ingest.chunked import import_chunks_resume
    from ingest.services import import_batches_resume

    return import_batches_resume() + import_chunks_resume()
