"""Celery adapters over ingest services: fetch by id, call the service."""

from celery import shared_task
from django.db import OperationalError

# Both tasks are idempotent, so they are acknowledged late and retried while the database is away.
_RETRYING = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
    "acks_late": True,
    "soft_time_limit": 3600,
    "time_limit": 3700,
}


@shared_task(**_RETRYING)
def import_batch_process_task(batch_id: int) -> None:
    """Process one ImportBatch; idempotent, so a redelivery after a crash is safe."""
    from ingest.models import ImportBatch
    from ingest.services import import_batch_process

    import_batch_process(batch=ImportBatch.objects.get(pk=batch_id))


@shared_task(**_RETRYING)
def import_chunk_process_task(batch_id: int, index: int) -> None:
    """Import one piece of a split batch (ingest/chunked.py); a redelivery of a done piece does nothing."""
    from ingest.chunked import import_chunk_process

    import_chunk_process(batch_id=batch_id, index=index)


@shared_task
def import_batches_resume_task() -> int:
    """Beat: send again the batches whose enqueue was lost while the broker was away."""
    from ingest.services import import_batches_resume

    return import_batches_resume()
