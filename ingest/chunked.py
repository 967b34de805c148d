"""Large billing exports imported in pieces by several Celery workers, finalized when the last is done.

``import_batch_split`` (run by the batch's task) cuts the file into pieces (ingest/pieces.py), records
them as ImportChunk rows and enqueues one task per piece. Each ``import_chunk_process`` stores its
piece's lines, row errors and counts in one transaction and marks the chunk done; the task that
commits the last chunk runs ``import_batch_finalize``: the restated-month replacement, the summed
counts and the batch's status. The completion check is a database latch (a locked batch row), not a
Celery chord: chords need a result backend, and the job state already lives on rows.

Redelivery is safe at every step: a chunk found done is skipped; a chunk interrupted left nothing
(its transaction rolled back); lines are upserted on their keys, so a piece stored twice is stored once;
finalizing a finished batch does nothing.
"""

from __future__ import annotations

import logging
import tempfile

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import OperationalError, transaction
from django.utils import timezone

from ingest.models import ImportBatch, ImportChunk, RowError
from ingest.parsers import PARSERS
from ingest.parsers.billing_read import DEFAULT_MAX_DECOMPRESSED_BYTES
from ingest.pieces import Piece, csv_pieces, file_kind, inflate, parquet_pieces, piece_bytes_read
from ingest.records import ParsedRow, ParseError, RowIssue

logger = logging.getLogger(__name__)

_COUNTS = ("rows_total", "rows_loaded", "rows_duplicate", "rows_rejected")
_GZIP_RATIO = 16


def import_batch_split(*, batch: ImportBatch) -> bool:
    """Cut a large billing export into chunks and enqueue them; False when the file stays whole.

    Files under ``IMPORT_PIECE_BYTES`` (or ``IMPORT_PIECE_ROWS`` Parquet rows) and JSON lines are not
    split. Called again for a batch already split, it only re-enqueues the chunks not yet done.
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
                )
                for index, piece in enumerate(pieces)
            )
        logger.info("import batch %s split into %d chunks", batch.pk, len(chunks))
    pending = [chunk.index for chunk in chunks if chunk.status == ImportChunk.Status.PENDING]
    if not pending:
        import_batch_finalize(batch_id=batch.pk)
        return True
    from ingest.tasks import import_chunk_process_task

    for index in pending:
        import_chunk_process_task.delay(batch.pk, index)
    return True


def _plan(batch: ImportBatch) -> list[tuple[str, Piece]]:
    """``(storage name, piece)`` for each piece of the batch's file; one or none means "do not split"."""
    with batch.raw_file.open("rb") as handle:
        kind = file_kind(handle)
        if kind == "parquet":
            return [(batch.raw_file.name, p) for p in parquet_pieces(handle, piece_rows=settings.IMPORT_PIECE_ROWS)]
        piece_bytes = settings.IMPORT_PIECE_BYTES
        if kind == "csv" and batch.size_bytes >= piece_bytes:
            return [(batch.raw_file.name, p) for p in csv_pieces(handle, piece_bytes=piece_bytes)]
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
            if file_kind(inflated) != "csv":
                return []
            name = default_storage.save(f"{batch.raw_file.name}.inflated.csv", File(inflated))
            with default_storage.open(name, "rb") as copy:
                return [(name, p) for p in csv_pieces(copy, piece_bytes=piece_bytes)]


def import_chunk_process(*, batch_id: int, index: int) -> None:
    """Import one chunk in one transaction; then, if it was the last, finalize the batch."""
    try:
        _chunk_store(batch_id, index)
    except ParseError as exc:  # the piece is unreadable: nothing of it was stored
        _chunk_fail(batch_id, index, str(exc))
    except OperationalError:
        raise  # the database is away: the task retries the chunk
    except Exception as exc:
        _chunk_fail(batch_id, index, f"internal error ({type(exc).__name__})")
        import_batch_finalize(batch_id=batch_id)
        raise
    import_batch_finalize(batch_id=batch_id)


def _chunk_store(batch_id: int, index: int) -> None:
    from ingest.services import STREAM_CHUNK_ROWS, load_rows, row_error_add

    with transaction.atomic():
        chunk = (
            ImportChunk.objects.select_for_update()
            .select_related("batch__organization")
            .get(batch_id=batch_id, index=index)
        )
        if chunk.status != ImportChunk.Status.PENDING:
            return
        batch = chunk.batch
        source = PARSERS[batch.source]
        options = {"options": batch.options}
        counts = dict.fromkeys(_COUNTS, 0)
        for rows in _piece_chunks(chunk, source, STREAM_CHUNK_ROWS):
            parsed: list[ParsedRow] = []
            for item in rows:
                counts["rows_total"] += 1
                if isinstance(item, RowIssue):
                    row_error_add(batch, item, counts)
                else:
                    parsed.append(item)
            load_rows(batch, source, parsed, counts, options)
            cache.set(_live_key(batch_id, index), counts["rows_total"], 6 * 3600)
        ImportChunk.objects.filter(pk=chunk.pk).update(
            status=ImportChunk.Status.DONE, finished_at=timezone.now(), **counts
        )


def _chunk_fail(batch_id: int, index: int, error: str) -> None:
    ImportChunk.objects.filter(batch_id=batch_id, index=index, status=ImportChunk.Status.PENDING).update(
        status=ImportChunk.Status.FAILED, error=error, finished_at=timezone.now()
    )


def _piece_chunks(chunk: ImportChunk, source, chunk_rows: int):
    with default_storage.open(chunk.file_name, "rb") as handle:
        if chunk.row_groups:
            yield from source.read_chunks(
                handle, chunk_rows=chunk_rows, first_row=chunk.first_row, row_groups=tuple(chunk.row_groups)
            )
            return
        piece = Piece(first_row=chunk.first_row, start=chunk.start, end=chunk.end, header_end=chunk.header_end)
        yield from source.read_chunks(piece_bytes_read(handle, piece), chunk_rows=chunk_rows, first_row=piece.first_row)


def import_batch_finalize(*, batch_id: int) -> ImportBatch | None:
    """Finish a split batch once every chunk is done (or one failed); a no-op before that, or after."""
    from ingest.services import batch_finish

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
            return batch_finish(batch, status=ImportBatch.Status.FAILED, error=error, counts=None)
        source = PARSERS[batch.source]
        if source.finalize is not None:
            source.finalize(organization=batch.organization, source_batch_id=batch.pk)
        counts = {name: sum(getattr(chunk, name) for chunk in chunks) for name in _COUNTS}
        status = ImportBatch.Status.PARTIAL if counts["rows_rejected"] else ImportBatch.Status.DONE
        return batch_finish(batch, status=status, error="", counts=counts)


def _live_key(batch_id: int, index: int) -> str:
    return f"import-chunk-progress:{batch_id}:{index}"


def chunked_progress(*, batch: ImportBatch, rows_estimated: int) -> dict | None:
    """Live progress of a split batch (rows of done chunks plus the running ones' last report), or None."""
    indexes = list(ImportChunk.objects.filter(batch=batch).values_list("index", "status", "rows_total"))
    if not indexes:
        return None
    live = cache.get_many([_live_key(batch.pk, index) for index, status, _ in indexes if status == "pending"])
    rows_done = sum(total for _, status, total in indexes if status != "pending") + sum(live.values())
    return {"rows_done": rows_done, "rows_estimated": rows_estimated}
