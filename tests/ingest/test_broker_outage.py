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


@pytest.mark.django_db(transaction=True)
def test_a_tracker_sample_with_the_broker_away_is_stored_and_answered_201(org_a, broker_away, settings, client):
    """The debounced figures refresh is enqueued after the sample commits; a broker outage there was a 500
    for a sample already stored (bench/faults.py, broker phase), so the tracker would count it as lost."""
    from emissions.models import Project, RunSample
    from emissions.services.tokens import api_token_create

    settings.GREENGUILD_FIGURES_REFRESH_DELAY_S = 60
    token = api_token_create(organization=org_a, project=Project.objects.get(slug="a-project"), name="t")[1]
    body = {"timestamp": "2026-03-01T10:00:00+00:00", "experiment_id": "11111111-2222-3333-4444-555555555555"}
    run = client.post("/api/codecarbon/runs", body, content_type="application/json", HTTP_X_API_TOKEN=token)
    assert run.status_code == 201
    sample = {"timestamp": "2026-03-01T10:05:00+00:00", "run_id": run.json()["id"], "duration": 300,
              "energy_consumed": 0.01, "emissions_sum": 0.001}  # fmt: skip
    started = time.monotonic()
    answer = client.post("/api/codecarbon/emissions", sample, content_type="application/json", HTTP_X_API_TOKEN=token)
    assert answer.status_code == 201 and time.monotonic() - started < 10
    assert RunSample.objects.filter(run__external_id=run.json()["id"]).count() == 1
