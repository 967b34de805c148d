"""``run_upsert_many``: the runs of one batch, written together."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from emissions.models import Project, Run
from emissions.records import RunRecord
from emissions.services.runs import run_upsert_many


def _record(index: int, project_name: str) -> RunRecord:
    return RunRecord(
        source="native", external_id=f"run-{index}", started_at=datetime(2025, 3, 1, index % 24, tzinfo=UTC),
        duration_s=600, energy_kwh=0.5, project_name=project_name,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_batch_looks_each_project_name_up_once(org_a):
    records = [_record(index, "Vision" if index % 2 else "nlp-team") for index in range(40)]
    with CaptureQueriesContext(connection) as queries:
        outcome = run_upsert_many(organization=org_a, records=records)
    assert outcome.loaded == 40
    project_reads = [q["sql"] for q in queries.captured_queries if 'FROM "emissions_project"' in q["sql"]]
    assert len(project_reads) <= 4  # per name: by slug, then by name (42 before: each record looked its name up)
    by_project = {p.name: Run.objects.filter(project=p).count() for p in Project.objects.for_org(org_a)}
    assert by_project["Vision"] == 20 and by_project["nlp-team"] == 20
