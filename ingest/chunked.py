"""Large billing exports imported in pieces by several Celery workers, finalized when the last is done.

``import_batch_split`` (run by the batch's task) cuts the file into pieces (ingest/pieces.py), records
them as ImportChunk rows and enqueues one task per piece. Each ``import_chunk_process`` stores its
piece's lines, row errors and counts in one transaction and marks the chunk done; the task that
commits the last chunk runs ``import_batch_finalize``: the restated-month replacement, the summed
counts and the batch's status. The completion check is a database latch (a locked batch row), not a
Celery chord: chords need a result backend, and the job state already lives on rows.

The chunk task runs this module, so this module does not import it: the functions that enqueue chunks
are given the sending as ``chunk_send`` by ingest/tasks/imports.py and ingest/services.py.

Redelivery is safe at every step: a chunk found done is skipped; a chunk interrupted left nothing
(its transaction rolled back); lines are upserted on their keys, so a piece stored twice is stored once;
finalizing a finished batch does nothing. So ``import_chunks_resume`` (beat) may send the pending
chunks of a batch that stopped moving again without asking whether a task still holds them.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import timedelta
from typing import IO

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from redis.exceptions import RedisError

from emissions.task_policy import DATABASE_AWAY
from ingest import loading
from ingest.models import ImportBatch, ImportChunk, RowError
from ingest.parsers import PARSERS
from ingest.parsers.billing_read import DEFAULT_MAX_DECOMPRESSED_BYTES
from ingest.pieces import Piece, csv_pieces, file_kind, inflate, jsonl_pieces, parquet_pieces, piece_bytes_read
from ingest.reconciliation import FileTally
from ingest.records import ParseError

logger = logging.getLogger(__name__)

# Enqueues the task of one piece: ``chunk_send(batch_id, index)``.
ChunkSend = Callable[[int, int], object]

_COUNTS = ("rows_total", "rows_loaded", "rows_duplicate", "rows_rejected")
_GZIP_RATIO = 16
# Byte-range splitters by file kind (Parquet is split by row groups).
_SPLITTERS = {"csv": csv_pieces, "jsonl": jsonl_pieces}


def import_batch_split(*, batch: ImportBatch, chunk_send: ChunkSend) -> bool:
    """Cut a large billing export into chunks and enqueue them with ``chunk_send``; False when the file
    stays whole.

    Files under ``IMPORT_PIECE_BYTES`` (or ``IMPORT_PIECE_ROWS`` Parquet rows) are not split. Called again for
    a batch already split, it only re-enqueues the chunks not yet done.
    """
    source = PARSERS[batch.source]
    if source.read_chunks is None:
        return False
    chunks = list(ImportChunk.objects.filter(batch=batch))
    if not chunks:
        planned = _plan(batch)
        if len(planned) < 2:
            return False
        file_name, pieces = planned[0][0], [piece for _, piece in planned]
        with transaction.atomic():
            RowError.objects.filter(batch=batch).delete()
            chunks = ImportChunk.objects.bulk_create(
                ImportChunk(
                    batch=batch,
                    index=index,
                    file_name=file_name,
                    first_row=piece.first_row,
                    start=piece.start,
                    end=piece.end,
                    header_end=piece.header_end,
                    row_groups=list(piece.row_groups),
                    longest_record=piece.longest_record,
                )
                for index, piece in enumerate(pieces)
            )
        logger.info("import batch %s split into %d chunks", batch.pk, len(chunks))
    pending = [chunk.index for chunk in chunks if chunk.status == ImportChunk.Status.PENDING]
    if not pending:
        import_batch_finalize(batch_id=batch.pk)
        return True
    for index in pending:
        chunk_send(batch.pk, index)
    return True


def _plan(batch: ImportBatch) -> list[tuple[str, Piece]]:
    """``(storage name, piece)`` for each piece of the batch's file; one or none means "do not split"."""
    with batch.raw_file.open("rb") as handle:
        kind = file_kind(handle)
        if kind == "parquet":
            return [(batch.raw_file.name, p) for p in parquet_pieces(handle, piece_rows=settings.IMPORT_PIECE_ROWS)]
        piece_bytes = settings.IMPORT_PIECE_BYTES
        if kind in _SPLITTERS and batch.size_bytes >= piece_bytes:
            return [(batch.raw_file.name, p) for p in _SPLITTERS[kind](handle, piece_bytes=piece_bytes)]
        # Billing CSV compresses about tenfold or more: smaller gzip files are not worth inflating to split.
        if kind != "gzip" or batch.size_bytes < piece_bytes // _GZIP_RATIO:
            return []
        # gzip: inflate once into storage next to the upload, then split that copy like plain CSV.
        with tempfile.TemporaryFile() as inflated:
            limit = batch.options.get("max_decompressed_bytes", DEFAULT_MAX_DECOMPRESSED_BYTES)
            try:
                inflate(handle, inflated, max_bytes=limit)
            except ParseError:
                return []  # the single-task path reports the same error on the batch
            if inflated.tell() < piece_bytes:
                return []
            inflated.seek(0)
            kind = file_kind(inflated)
            if kind not in _SPLITTERS:
                return []
            name = default_storage.save(f"{batch.raw_file.name}.inflated.{kind}", File(inflated))
            with default_storage.open(name, "rb") as copy:
                return [(name, p) for p in _SPLITTERS[kind](copy, piece_bytes=piece_bytes)]


def import_chunk_process(*, batch_id: int, index: int) -> None:
    """Import one chunk in one transaction; then, if it was the last, finalize the batch."""
    try:
        _chunk_store(batch_id, index)
    except ParseError as exc:  # the piece is unreadable: nothing of it was stored
        _chunk_fail(batch_id, index, str(exc))
    except DATABASE_AWAY:
        raise  # the database is away: nothing of the chunk was stored, and the task retries it
    except Exception as exc:
        _chunk_fail(batch_id, index, f"internal error ({type(exc).__name__})")
        import_batch_finalize(batch_id=batch_id)
        raise
    import_batch_finalize(batch_id=batch_id)


def _chunk_store(batch_id: int, index: int) -> None:
    with transaction.atomic():
        chunk = (
            # of=self: a plain FOR UPDATE would lock the joined batch and organization rows too, and the
            # chunks of one batch would wait for each other instead of running in parallel.
            ImportChunk.objects.select_for_update(of=("self",))
            .select_related("batch__organization")
            .get(batch_id=batch_id, index=index)
        )
        if chunk.status != ImportChunk.Status.PENDING:
            return
        batch = chunk.batch
        counts = dict.fromkeys(_COUNTS, 0)
        tally = FileTally()
        loading.stream_load(
            batch,
            lambda: _piece_open(chunk),
            first_row=chunk.first_row,
            row_groups=tuple(chunk.row_groups),
            counts=counts,
            report=lambda rows_done: _live_report(batch_id, index, rows_done),
            tally=tally,
        )
        ImportChunk.objects.filter(pk=chunk.pk).update(
            status=ImportChunk.Status.DONE, finished_at=timezone.now(), tally=tally.as_dict(), **counts
        )


def _chunk_fail(batch_id: int, index: int, error: str) -> None:
    ImportChunk.objects.filter(batch_id=batch_id, index=index, status=ImportChunk.Status.PENDING).update(
        status=ImportChunk.Status.FAILED, error=error, finished_at=timezone.now()
    )


def _piece_open(chunk: ImportChunk) -> IO[bytes]:
    """The chunk's bytes: the stored file for Parquet row groups, else the CSV piece with the header."""
    handle = default_storage.open(chunk.file_name, "rb")
    if chunk.row_groups:
        return handle
    with handle:
        piece = Piece(
            first_row=chunk.first_row,
            start=chunk.start,
            end=chunk.end,
            header_end=chunk.header_end,
            longest_record=chunk.longest_record,
        )
        return piece_bytes_read(handle, piece)


def import_batch_finalize(*, batch_id: int) -> ImportBatch | None:
    """Finish a split batch once every chunk is done (or one failed); a no-op before that, or after."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        chunks = list(ImportChunk.objects.filter(batch=batch))
        if batch.status in ImportBatch.FINISHED:
            return None
        if any(chunk.status == ImportChunk.Status.PENDING for chunk in chunks):
            return None
        failed = [chunk for chunk in chunks if chunk.status == ImportChunk.Status.FAILED]
        if failed:
            first = failed[0]
            error = (
                f"rows from {first.first_row}: {first.error}. The other {len(chunks) - len(failed)} pieces were "
                "stored; fix the file and import it again to replace them"
            )
            return loading.batch_finish(batch, status=ImportBatch.Status.FAILED, error=error, counts=None)
        source = PARSERS[batch.source]
        counts = {name: sum(getattr(chunk, name) for chunk in chunks) for name in _COUNTS}
        tally = FileTally()
        for chunk in chunks:
            tally.merge(FileTally.from_dict(chunk.tally))
        reconciled = loading.batch_settle(batch, source, tally)
        status = ImportBatch.Status.PARTIAL if counts["rows_rejected"] else ImportBatch.Status.DONE
        return loading.batch_finish(batch, status=status, error="", counts=counts, reconciliation=reconciled)


def _live_key(batch_id: int, index: int) -> str:
    return f"import-chunk-progress:{batch_id}:{index}"


def _live_report(batch_id: int, index: int, rows_done: int) -> None:
    # Only the progress bar reads this: with the cache (Redis) away, the chunk goes on without it.
    try:
        cache.set(_live_key(batch_id, index), rows_done, 6 * 3600)
    except RedisError as exc:
        logger.warning("import chunk %s of batch %s: progress not reported: %s", index, batch_id, exc)


def import_chunks_resume(*, chunk_send: ChunkSend, stalled_s: int = 900) -> int:
    """Send again (``chunk_send``, without publishing retries) the pending chunks of running batches where
    no chunk finished for ``stalled_s`` seconds.

    A chunk task that gave up (the database away longer than its retries) or whose worker died (its
    message comes back only after the broker's visibility timeout) leaves the batch running forever.
    Sending a chunk that is still being imported is harmless: the copy waits for the chunk's row lock,
    then finds it done. Returns how many chunk tasks were sent.
    """
    from kombu.exceptions import OperationalError as BrokerError

    cutoff = timezone.now() - timedelta(seconds=stalled_s)
    stalled = (
        ImportBatch.objects.filter(status=ImportBatch.Status.RUNNING, started_at__lt=cutoff)
        .annotate(chunk_count=Count("chunks"), last_finished=Max("chunks__finished_at"))
        .filter(chunk_count__gt=0)  # a batch imported by one task has no chunks to send
        .exclude(last_finished__gte=cutoff)
    )
    sent = 0
    for batch_id in stalled.order_by("pk").values_list("pk", flat=True):
        pending = ImportChunk.objects.filter(batch_id=batch_id, status=ImportChunk.Status.PENDING)
        indexes = list(pending.order_by("index").values_list("index", flat=True))
        if not indexes:  # every chunk ended but the finalization was lost
            import_batch_finalize(batch_id=batch_id)
            continue
        logger.warning("import batch %s stalled: sending %d pending chunks again", batch_id, len(indexes))
        try:
            for index in indexes:
                chunk_send(batch_id, index)
                sent += 1
        except BrokerError as exc:
            logger.warning("import batch %s: the broker is unavailable, next sweep: %s", batch_id, exc)
            break
    return sent


def chunked_progress(*, batch: ImportBatch, rows_estimated: int) -> dict | None:
    """Live progress of a split batch (rows of done chunks plus the running ones' last report), or None."""
    indexes = list(ImportChunk.objects.filter(batch=batch).values_list("index", "status", "rows_total"))
    if not indexes:
        return None
    live = cache.get_many([_live_key(batch.pk, index) for index, status, _ in indexes if status == "pending"])
    rows_done = sum(total for _, status, total in indexes if status != "pending") + sum(live.values())
    return {"rows_done": rows_done, "rows_estimated": rows_estimated}
