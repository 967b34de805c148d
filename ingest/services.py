"""Import batches, the entry points: create (store the bytes durably, enqueue), process, resume, progress.

The work is done below, by modules that import no Celery task (so that the tasks, which run it, import
them without a cycle): ingest/processing.py processes a batch, ingest/chunked.py its pieces and
ingest/loading.py loads rows. The functions here hand them the tasks that carry the work on
(ingest/tasks/imports.py), as the tasks themselves do: ``import_batch_process`` here is what
``import_batch_process_task`` runs, callable without a worker (management commands, tests).
"""

from __future__ import annotations

import io
from typing import BinaryIO

from django.core.cache import cache
from django.db import transaction

from emissions.choices import Role
from emissions.models import Organization
from ingest import chunked, processing
from ingest.loading import BYTES_PER_BILLING_ROW, progress_key
from ingest.models import ImportBatch
from ingest.parsers import PARSERS
from ingest.tasks.imports import import_batch_send, import_chunk_process_task, import_chunk_resend
from ingest.upload_hash import upload_store


def import_options_for(membership) -> dict:
    """Batch options a member's import carries for its role: a guild member's import creates new
    projects under its own team, not the organization's first (docs/configuration.md, "Roles")."""
    if membership.role == Role.GUILD_MEMBER and membership.team_id:
        return {"team": membership.team.slug}
    return {}


class UnknownSourceError(ValueError):
    """The requested source has no parser."""


def import_batch_create(
    *,
    organization: Organization,
    source: str,
    filename: str,
    content: bytes | None = None,
    stream: BinaryIO | None = None,
    created_by=None,
    options=None,
) -> ImportBatch:
    """Store the raw input as a pending batch and enqueue its processing once the transaction commits.

    Give ``content`` (bytes) or, for large files, ``stream`` (a binary file object, copied in blocks so
    a multi-GB export never sits in memory).
    """
    if source not in PARSERS:
        raise UnknownSourceError(f"unknown source {source!r}; choose one of {', '.join(sorted(PARSERS))}")
    stream = stream if stream is not None else io.BytesIO(content or b"")
    stream.seek(0)
    batch = ImportBatch(
        organization=organization,
        source=source,
        filename=filename[:255],
        created_by=created_by,
        # The file name is kept in the options too: some formats carry their run id only in it (carbontracker).
        options={"filename": filename, **(options or {})},
    )
    batch.checksum, batch.size_bytes = upload_store(batch.raw_file, filename or f"{source}.csv", stream)
    batch.save()
    transaction.on_commit(lambda: import_batch_send(batch.pk))
    return batch


def import_batch_process(*, batch: ImportBatch) -> ImportBatch:
    """Parse and load a batch here, as its task does; the pieces of a large billing export go to the workers.

    Safe to run again (a redelivered task re-counts from scratch). See ingest/processing.py.
    """
    return processing.import_batch_process(batch=batch, chunk_send=import_chunk_process_task.delay)


def import_batches_resume(*, older_than_s: int = 120) -> int:
    """Send again the batches still pending after ``older_than_s`` seconds (their enqueue was lost).

    Processing is idempotent, so a batch sent twice is processed once and counted once. Returns how
    many were sent.
    """
    return processing.import_batches_resume(batch_send=import_batch_send, older_than_s=older_than_s)


def import_chunks_resume(*, stalled_s: int = 900) -> int:
    """Send again the pending pieces of split batches that stopped moving (ingest/chunked.py)."""
    return chunked.import_chunks_resume(chunk_send=import_chunk_resend, stalled_s=stalled_s)


def import_batch_progress(*, batch: ImportBatch) -> dict:
    """Live progress: ``rows_done``, ``rows_estimated`` and ``progress_pct`` (100 once finished)."""
    if batch.status in ImportBatch.FINISHED:
        return {"rows_done": batch.rows_total, "rows_estimated": batch.rows_total, "progress_pct": 100}
    live = (
        cache.get(progress_key(batch.pk))
        or chunked.chunked_progress(batch=batch, rows_estimated=max(batch.size_bytes // BYTES_PER_BILLING_ROW, 1))
        or {"rows_done": 0, "rows_estimated": 0}
    )
    estimated = max(live["rows_estimated"], live["rows_done"], 1)
    return {**live, "progress_pct": min(99, int(100 * live["rows_done"] / estimated))}
