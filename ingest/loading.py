"""Loading an import batch's rows: parsed rows to the source's loading service, with counts, row errors,
live progress and the batch's outcome.

Both ways of processing a batch use it: whole in one task (ingest/processing.py) and in pieces
(ingest/chunked.py), so it sits below both. Neither it nor they send a Celery task: ingest/services.py and
ingest/tasks/ pass in the sending (``chunk_send``), which keeps the import graph of ``ingest`` acyclic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import IO

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from emissions.services.refresh import ALL_PERIODS, figures_refresh_request
from emissions.signals import figures_changed_on_commit
from ingest.loaders import runs_load
from ingest.models import ImportBatch, RowError
from ingest.parsers import PARSERS
from ingest.parsers.billing_columns import ColumnarUnavailable
from ingest.reconciliation import FileTally, reconciliation
from ingest.records import ParsedRow, RowIssue

logger = logging.getLogger(__name__)

# Records are handed to the loading service in chunks so progress can be reported and memory stays flat.
LOAD_CHUNK_ROWS = 5000
PROGRESS_EVERY_ROWS = 1000
# Peak memory follows the chunk: 10,000 rows kept a 60,000-row import at 322 MiB RSS, 50,000 at 680 MiB.
STREAM_CHUNK_ROWS = 10_000
# A billing export row is roughly this long; only used to estimate progress of a streamed file.
BYTES_PER_BILLING_ROW = 400
PROGRESS_TTL_S = 6 * 3600


def rows_load(batch: ImportBatch, source, handle, counts: dict[str, int], tally: FileTally | None) -> None:
    """Parse and load a whole file, row by row, reporting progress every PROGRESS_EVERY_ROWS rows."""
    pending: list[ParsedRow] = []
    options = {"options": batch.options} if source.takes_options else {}
    items, rows_estimated = _items(source, handle, options)
    for item in items:
        counts["rows_total"] += 1
        if counts["rows_total"] % PROGRESS_EVERY_ROWS == 0:
            progress_report(batch, counts["rows_total"], rows_estimated)
        if isinstance(item, RowIssue):
            row_error_add(batch, item, counts, tally)
            continue
        pending.append(item)
        if len(pending) >= LOAD_CHUNK_ROWS:
            load_rows(batch, source, pending, counts, options, tally)
            pending = []
    load_rows(batch, source, pending, counts, options, tally)


def batch_settle(batch: ImportBatch, source, tally: FileTally | None) -> dict:
    """After every row of a batch is stored: the source's finalization (billing: the restated months replaced,
    ``tally``'s months scanned) and, for a billing export (``tally`` given), its reconciliation ({} otherwise)."""
    groups = None
    if source.finalize is not None:
        periods = tally.period_dates() if tally is not None else None
        groups = source.finalize(organization=batch.organization, source_batch_id=batch.pk, periods=periods).groups
    return reconciliation(batch=batch, tally=tally, groups=groups) if tally is not None else {}


def stream_load(
    batch: ImportBatch,
    open_stream: Callable[[], IO[bytes]],
    *,
    first_row: int,
    counts: dict[str, int],
    report: Callable[[int], None],
    row_groups: tuple[int, ...] = (),
    tally: FileTally | None = None,
) -> None:
    """Load a billing file or a piece of one: column-wise where the source can, else row by row.

    ``open_stream()`` opens the bytes; it is called a second time when the columnar reader gives up
    half-way (a ragged or garbled CSV), after what it stored is rolled back. ``report(rows_done)`` is
    called after every block of rows; ``counts`` receives the rows' counts and ``tally`` the file's totals.
    """
    source = PARSERS[batch.source]
    options = {"options": batch.options}
    if source.read_lines is not None:
        done = dict.fromkeys(counts, 0)
        read = FileTally() if tally is not None else None
        memo: dict = {}  # what the blocks of this load share (the loader's), gone with the transaction
        try:
            with transaction.atomic(), open_stream() as stream:  # a savepoint: giving up leaves nothing
                for chunk in source.read_lines(stream, first_row=first_row, row_groups=row_groups):
                    if isinstance(chunk, list):  # a block that is not clean: row by row, with its row errors
                        items_load(batch, source, chunk, done, options, read)
                    else:
                        lines_load(batch, source, chunk, done, options, read, memo)
                    report(counts["rows_total"] + done["rows_total"])
        except ColumnarUnavailable as exc:
            # A warning: reading row by row takes several times longer, and the reason should be seen.
            logger.warning("import batch %s (rows from %s) is read row by row: %s", batch.pk, first_row, exc)
        else:
            for name, value in done.items():
                counts[name] += value
            if tally is not None:
                tally.merge(read)
            return
    groups = {"row_groups": row_groups} if row_groups else {}
    with open_stream() as stream:
        for items in source.read_chunks(stream, chunk_rows=STREAM_CHUNK_ROWS, first_row=first_row, **groups):
            items_load(batch, source, items, counts, options, tally)
            report(counts["rows_total"])


def items_load(
    batch: ImportBatch, source, items: list, counts: dict[str, int], options: dict, tally: FileTally | None = None
) -> None:
    """Count a block of parsed rows and row issues, record the issues and load the rows."""
    parsed: list[ParsedRow] = []
    for item in items:
        counts["rows_total"] += 1
        if isinstance(item, RowIssue):
            row_error_add(batch, item, counts, tally)
        else:
            parsed.append(item)
    load_rows(batch, source, parsed, counts, options, tally)


def lines_load(
    batch: ImportBatch,
    source,
    lines,
    counts: dict[str, int],
    options: dict,
    tally: FileTally | None,
    memo: dict | None = None,
):
    """Load a block of billing lines read column-wise and add its counts (and its totals to ``tally``); ``memo``
    is kept for every block of one load (one transaction), for the loader to read once what they share."""
    outcome = source.load_lines(
        organization=batch.organization, lines=lines, source_batch_id=batch.pk, memo=memo, **options
    )
    counts["rows_total"] += len(lines)
    counts["rows_loaded"] += outcome.loaded
    counts["rows_duplicate"] += outcome.duplicate
    if tally is not None:
        tally.add_lines(lines)
        tally.add_outcome(outcome)


def _items(source, handle, options: dict) -> tuple[Iterator, int]:
    """The parsed rows of a batch and an estimate of their number, for the progress bar.

    Sources with ``read_chunks`` (billing exports, possibly many GB) are streamed from the file in
    chunks; the others are small and parsed from memory, where lines estimate rows exactly for CSV.
    """
    if source.read_chunks is not None:
        size = handle.seek(0, 2)
        handle.seek(0)
        chunks = source.read_chunks(handle, chunk_rows=STREAM_CHUNK_ROWS)
        return (item for chunk in chunks for item in chunk), max(size // BYTES_PER_BILLING_ROW, 1)
    content = handle.read()
    return source.parse(content, **options), max(content.count(b"\n") - 1, 1)


def progress_key(batch_id: int) -> str:
    """The cache key of a batch's live progress."""
    return f"import-batch-progress:{batch_id}"


def progress_report(batch: ImportBatch, rows_done: int, rows_estimated: int) -> None:
    """Store a batch's live progress (read by ``import_batch_progress``)."""
    # The cache, not the row: the batch's own row is inside its transaction until processing ends.
    # Only the progress bar reads this: with the cache (Redis) away, the import goes on without it.
    try:
        cache.set(progress_key(batch.pk), {"rows_done": rows_done, "rows_estimated": rows_estimated}, PROGRESS_TTL_S)
    except RedisError as exc:
        logger.warning("import batch %s: progress not reported: %s", batch.pk, exc)


def _progress_forget(batch: ImportBatch) -> None:
    try:
        cache.delete(progress_key(batch.pk))
    except RedisError as exc:
        logger.warning("import batch %s: progress not cleared: %s", batch.pk, exc)


def load_rows(
    batch: ImportBatch,
    source,
    rows: list[ParsedRow],
    counts: dict[str, int],
    options: dict,
    tally: FileTally | None = None,
) -> None:
    """Hand parsed rows to the source's loading service; add its counts and rejections to ``counts``.

    With a ``tally`` (billing exports) the rows' totals are added to it and their row numbers go to the
    loader, so that rows repeating an earlier one are named.
    """
    if not rows:
        return
    records = [row.record for row in rows]
    numbered = {"row_numbers": [row.row_number for row in rows]} if tally is not None else {}
    outcome = source.load(
        organization=batch.organization, records=records, source_batch_id=batch.pk, **options, **numbered
    )
    counts["rows_loaded"] += outcome.loaded
    counts["rows_duplicate"] += outcome.duplicate
    if tally is not None:
        tally.add_records(records)
        tally.add_outcome(outcome)
    for index, reason in outcome.rejected.items():
        row_error_add(batch, RowIssue(row_number=rows[index].row_number, column="", reason=reason), counts)


def row_error_add(batch: ImportBatch, issue: RowIssue, counts: dict[str, int], tally: FileTally | None = None) -> None:
    """Record a rejected row and count it (and its readable cost in ``tally``)."""
    counts["rows_rejected"] += 1
    if tally is not None:
        tally.add_rejected(issue)
    RowError.objects.create(
        batch=batch,
        row_number=issue.row_number,
        column=issue.column,
        value=issue.value[:200],
        reason=issue.reason,
        raw=issue.raw[:2000],
    )


def batch_finish(
    batch: ImportBatch, *, status: str, error: str, counts: dict[str, int] | None, reconciliation: dict | None = None
) -> ImportBatch:
    """Record a batch's outcome: status, error, counts (None keeps them), the billing reconciliation
    (ingest/reconciliation.py) and the finish time."""
    batch.status = status
    batch.error = error
    batch.progress_pct = 100
    batch.finished_at = timezone.now()
    batch.reconciliation = reconciliation or {}
    fields = ["status", "error", "progress_pct", "finished_at", "reconciliation"]
    if counts is not None:
        for name, value in counts.items():
            setattr(batch, name, value)
        fields += list(counts)
    batch.save(update_fields=fields)
    # The live figure is stale once the batch is finished (and a reused id must not inherit it).
    transaction.on_commit(lambda: _progress_forget(batch))
    figures_changed_on_commit(batch.organization_id)
    source = PARSERS.get(batch.source)
    finished = status in (ImportBatch.Status.DONE, ImportBatch.Status.PARTIAL)
    if finished and batch.rows_loaded and source is not None and source.load is not runs_load:
        # Tracker runs asked for their own days in run_upsert_many; other inputs may touch any period.
        figures_refresh_request(organization_id=batch.organization_id, days=ALL_PERIODS)
    logger.info("import batch %s %s: %s", batch.pk, status, counts or error)
    return batch
