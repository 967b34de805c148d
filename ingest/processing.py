"""Processing an import batch in a worker: parse, load and count it whole, or split a large billing export
into pieces for several workers (ingest/chunked.py); and the sweep of batches whose enqueue was lost.

The tasks that run this (ingest/tasks/imports.py) are above it, and so is every sending of a task: the
functions here are given it (``chunk_send``, ``batch_send``). Code outside Celery calls the same functions
through ingest/services.py, which passes the same tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from emissions.task_policy import DATABASE_AWAY
from ingest import loading
from ingest.chunked import ChunkSend, import_batch_split
from ingest.models import ImportBatch, RowError
from ingest.parsers import PARSERS
from ingest.parsers.input_limits import whole_file_check
from ingest.reconciliation import FileTally
from ingest.records import ParseError


def import_batch_process(*, batch: ImportBatch, chunk_send: ChunkSend) -> ImportBatch:
    """Parse and load a batch; safe to run again (a redelivered task re-counts from scratch).

    Bad rows become RowErrors; a file that cannot be parsed at all fails the batch with a reason. A large
    billing export is split instead, its pieces sent with ``chunk_send``; the last piece finishes the batch.
    """
    source = PARSERS[batch.source]
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.RUNNING, started_at=timezone.now(), progress_pct=0, error=""
    )
    # A large billing export goes to several workers in pieces; the last piece finishes the batch.
    if source.read_chunks is not None and import_batch_split(batch=batch, chunk_send=chunk_send):
        batch.refresh_from_db()
        return batch
    counts = {"rows_total": 0, "rows_loaded": 0, "rows_duplicate": 0, "rows_rejected": 0}
    # Billing exports are reconciled: the file's own totals beside what was stored.
    tally = FileTally() if source.read_chunks is not None else None
    try:
        # One transaction for the whole batch: a worker killed half-way leaves nothing behind, and the
        # redelivered task starts afresh.
        with transaction.atomic():
            RowError.objects.filter(batch=batch).delete()
            if source.read_lines is not None:
                rows_estimated = max(batch.size_bytes // loading.BYTES_PER_BILLING_ROW, 1)
                loading.stream_load(
                    batch,
                    lambda: batch.raw_file.open("rb"),
                    first_row=2,
                    counts=counts,
                    report=lambda rows_done: loading.progress_report(batch, rows_done, rows_estimated),
                    tally=tally,
                )
            else:
                if source.read_chunks is None:  # parsed from memory: bounded before it is read
                    whole_file_check(batch.size_bytes, batch.source)
                with batch.raw_file.open("rb") as handle:
                    loading.rows_load(batch, source, handle, counts, tally)
            reconciled = loading.batch_settle(batch, source, tally)
    except ParseError as exc:
        return loading.batch_finish(batch, status=ImportBatch.Status.FAILED, error=str(exc), counts=None)
    except DATABASE_AWAY:
        raise  # the database is away: the task retries, and the rerun starts the batch afresh
    except Exception as exc:
        # A bug must not leave the batch "running" forever: record it, then let Celery log it.
        loading.batch_finish(
            batch, status=ImportBatch.Status.FAILED, error=f"internal error ({type(exc).__name__})", counts=None
        )
        raise
    status = ImportBatch.Status.PARTIAL if counts["rows_rejected"] else ImportBatch.Status.DONE
    return loading.batch_finish(batch, status=status, error="", counts=counts, reconciliation=reconciled)


def import_batches_resume(*, batch_send: Callable[[int], bool], older_than_s: int = 120) -> int:
    """Send again (``batch_send(batch_id)``: False when the broker is away) the batches still pending after
    ``older_than_s`` seconds: their enqueue was lost.

    Processing is idempotent, so a batch sent twice is processed once and counted once. Returns how
    many were sent.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    pending = ImportBatch.objects.filter(status=ImportBatch.Status.PENDING, created_at__lt=cutoff)
    return sum(batch_send(batch_id) for batch_id in pending.order_by("pk").values_list("pk", flat=True))
