"""With the broker away, an upload is stored and stays pending; the resume sweep sends it once it is back."""

import time

import pytest
from django.db import transaction

from emissions.models import Site
from ingest.models import ImportBatch
from ingest.services import import_batch_create, import_batches_resume
from tests.factories import GridZoneFactory

CSV = b"site,ownership,grid_zone,pue\nFrankfurt DC,owned,DE,1.35\n"


@pytest.fixture
def broker_away(settings):
    """A real connection refused: the app's broker points at a closed local port, then is restored."""
    from frontend.celery import app

    saved = app.conf.broker_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool = None  # connections are pooled per broker URL: forget the pool so the new URL is used
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url = saved
    app._pool = None
    app.amqp._producer_pool = None
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True


def test_an_upload_with_the_broker_away_is_kept_and_resumed(
    org_a, media_root, broker_away, django_capture_on_commit_callbacks
):
    GridZoneFactory(code="DE")
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        batch = import_batch_create(organization=org_a, source="sites", filename="sites.csv", content=CSV)
    assert time.monotonic() - started < 10  # no long retry loop on the request path
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING and batch.raw_file.read() == CSV

    from frontend.celery import app

    app.conf.task_always_eager = True  # the broker is back (here: tasks run in-process)
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=batch.created_at.replace(year=2020))
    assert import_batches_resume() == 1
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE and Site.objects.for_org(org_a).count() == 1
    assert import_batches_resume() == 0  # nothing pending any more
