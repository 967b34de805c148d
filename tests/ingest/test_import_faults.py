"""A split billing import through database and cache outages (ingest/tasks/imports.py, ingest/chunked.py).

Eager Celery: a retry runs at once, in-process. bench/faults.py does the same with a real PostgreSQL
restart and a SIGKILLed worker.
"""

from datetime import timedelta

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from emissions.models import CloudUsage
from ingest import chunked
from ingest import loading as services  # batch_finish, which the split and whole paths both call
from ingest.models import ImportBatch, ImportChunk
from ingest.services import import_batch_create, import_batch_process, import_chunks_resume
from ingest.tasks import import_chunk_process_task
from tests.ingest.test_chunked_import import _cur, _org

LINES = 300


@pytest.fixture
def split_batch(reference, db, media_root, settings):
    """A stored, not yet processed 300-line CUR that splits into pieces of 4 KiB."""
    settings.IMPORT_PIECE_BYTES = 4096
    return import_batch_create(organization=_org("faults"), source="aws_cur", filename="cur.csv", content=_cur(LINES))


def _spy(calls: list):
    """``batch_finish`` recording each status it sets: a batch must finish exactly once."""
    real = services.batch_finish

    def spy(batch, **kwargs):
        calls.append(kwargs["status"])
        return real(batch, **kwargs)

    return spy


@pytest.fixture
def eager_retries(monkeypatch):
    """Eager tasks that retry as a worker does: with errors propagated, Celery raises ``Retry`` instead."""
    from frontend.celery import app

    monkeypatch.setitem(app.conf, "task_eager_propagates", False)


@pytest.fixture
def finishes(monkeypatch):
    calls: list = []
    monkeypatch.setattr(services, "batch_finish", _spy(calls))
    return calls


def _assert_imported_once(batch: ImportBatch, finishes: list) -> None:
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE, batch.error
    assert (batch.rows_total, batch.rows_loaded, batch.rows_duplicate) == (LINES, LINES, 0)
    assert finishes == [ImportBatch.Status.DONE]
    assert CloudUsage.objects.filter(source_batch_id=batch.pk).count() == LINES
    assert set(ImportChunk.objects.filter(batch=batch).values_list("status", flat=True)) == {"done"}


@pytest.mark.parametrize(
    "error",
    [
        # psycopg's own class: COPY runs on the raw cursor, so a restart surfaces unwrapped.
        psycopg.OperationalError("server closed the connection unexpectedly"),
        OperationalError("the database system is shutting down"),
        InterfaceError("connection already closed"),
    ],
    ids=["psycopg", "django-operational", "django-interface"],
)
def test_a_chunk_that_loses_the_database_is_retried_and_the_batch_finishes_once(
    split_batch, eager_retries, finishes, monkeypatch, error
):
    store, failures = chunked._chunk_store, []

    def away_once(batch_id, index):
        if index == 1 and not failures:
            failures.append(index)
            raise error
        store(batch_id, index)

    monkeypatch.setattr(chunked, "_chunk_store", away_once)

    import_batch_process(batch=split_batch)

    assert failures == [1]  # the fault happened, and the chunk was not marked failed for it
    _assert_imported_once(split_batch, finishes)


def test_a_stalled_batch_gets_its_pending_chunks_sent_again(split_batch, finishes, monkeypatch):
    delay = import_chunk_process_task.delay
    with monkeypatch.context() as patch:
        # Chunk 2's task is lost: its retries ran out, or its worker died and the message is not back yet.
        patch.setattr(import_chunk_process_task, "delay", lambda batch_id, i: None if i == 2 else delay(batch_id, i))
        import_batch_process(batch=split_batch)
    split_batch.refresh_from_db()
    assert split_batch.status == ImportBatch.Status.RUNNING and finishes == []
    assert list(ImportChunk.objects.filter(batch=split_batch, status="pending").values_list("index", flat=True)) == [2]
    assert import_chunks_resume() == 0  # chunks finished a moment ago: the batch is moving

    hour_ago = split_batch.started_at - timedelta(hours=1)
    ImportBatch.objects.filter(pk=split_batch.pk).update(started_at=hour_ago)
    ImportChunk.objects.filter(batch=split_batch, status="done").update(finished_at=hour_ago)
    assert import_chunks_resume() == 1

    _assert_imported_once(split_batch, finishes)
    assert import_chunks_resume() == 0  # finished: nothing to send


def test_a_chunk_goes_on_while_the_cache_is_away(split_batch, finishes, monkeypatch):
    def refused(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(chunked.cache, "set", refused)  # only the progress bar reads these reports

    import_batch_process(batch=split_batch)

    _assert_imported_once(split_batch, finishes)
