"""Celery adapters over the import of batches: fetch by id, call the processing; and the sending of these
tasks, which the processing is given (``chunk_send``, ``batch_send``) instead of importing them."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as BrokerError

from emissions.task_policy import retrying_task
from ingest.chunked import import_chunk_process, import_chunks_resume
from ingest.models import ImportBatch
from ingest.processing import import_batch_process, import_batches_resume

logger = logging.getLogger(__name__)


@retrying_task(name="ingest.tasks.import_batch_process_task", soft_time_limit=3600, time_limit=3700)
def import_batch_process_task(batch_id: int) -> None:
    """Process one ImportBatch; idempotent, so a redelivery after a crash is safe."""
    import_batch_process(batch=ImportBatch.objects.get(pk=batch_id), chunk_send=import_chunk_process_task.delay)


@retrying_task(name="ingest.tasks.import_chunk_process_task", soft_time_limit=3600, time_limit=3700)
def import_chunk_process_task(batch_id: int, index: int) -> None:
    """Import one piece of a split batch (ingest/chunked.py); a redelivery of a done piece does nothing."""
    import_chunk_process(batch_id=batch_id, index=index)


@retrying_task(name="ingest.tasks.import_batches_resume_task")
def import_batches_resume_task() -> int:
    """Beat: send again the batches whose enqueue was lost while the broker was away, and the pieces
    of split batches that stopped moving (their task gave up, or its worker died)."""
    return import_batches_resume(batch_send=import_batch_send) + import_chunks_resume(chunk_send=import_chunk_resend)


def import_batch_send(batch_id: int) -> bool:
    """Send a batch to the workers; with the broker away it stays pending for ``import_batches_resume``.

    The upload is stored by then, so a broker outage must not turn it into an error: the client got its
    batch id, and the sweep sends it as soon as the broker is back.
    """
    try:
        import_batch_process_task.apply_async((batch_id,), retry=False)
    except BrokerError as exc:
        logger.warning("import batch %s stays pending, the broker is unavailable: %s", batch_id, exc)
        return False
    return True


def import_chunk_resend(batch_id: int, index: int) -> None:
    """Send a piece's task again without publishing retries: the sweep stops at a broker error, and the
    next sweep sends the rest."""
    import_chunk_process_task.apply_async((batch_id, index), retry=False)
