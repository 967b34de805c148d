"""Run ownership: an ingest token writes the runs of its own project only, on every ingest path.

A run id that exists in another project of the organization (same team or another team) is refused
with 409 and the reason, and that run keeps its project and energy. Another organization's run with the
same id is a different run: the write lands in the token's organization and leaks nothing about it.
"""

import json
from pathlib import Path

import pytest

from emissions.models import Project, Run, RunSample
from emissions.services.tokens import api_token_create
from ingest.models import ImportBatch
from tests.factories import ProjectFactory, RunFactory, TeamFactory

SAMPLES = Path(__file__).parent / "fixtures" / "codecarbon"
HTTP_OUTPUT = json.loads((SAMPLES / "http_output.json").read_text())
EMISSION_BODY = json.loads((SAMPLES / "codecarbon_api_emission.json").read_text())
NATIVE_RUN = {"external_id": "job-42", "started_at": "2025-03-01T10:00:00Z", "duration_s": 3600, "energy_kwh": 99.0}
VICTIM_ENERGY_KWH = 10.0


@pytest.fixture
def token(org_a):
    """An ingest token of project ``mine`` (team ``a-team`` of org A)."""
    mine = ProjectFactory(organization=org_a, team=Project.objects.get(slug="a-project").team, slug="mine")
    _token, plaintext = api_token_create(organization=org_a, project=mine, name="tracker")
    return plaintext


def _victim_project(where: str, org_a, org_b) -> Project:
    """Another project: of the token's team, of another team, or of another organization."""
    if where == "same team":
        return Project.objects.get(organization=org_a, slug="a-project")
    if where == "other team":
        team = TeamFactory(organization=org_a, slug="other-team")
        return ProjectFactory(organization=org_a, team=team, slug="other-team-project")
    return Project.objects.get(organization=org_b, slug="b-project")


def _victim(project: Project, *, source: str, external_id: str) -> Run:
    return RunFactory(
        organization=project.organization, project=project, source=source, external_id=external_id,
        energy_kwh=VICTIM_ENERGY_KWH,
    )  # fmt: skip


def _assert_untouched(victim: Run) -> None:
    stored = Run.objects.get(pk=victim.pk)
    assert (stored.project_id, stored.organization_id) == (victim.project_id, victim.organization_id)
    assert stored.energy_kwh == VICTIM_ENERGY_KWH and stored.updated_at == victim.updated_at
    assert not stored.samples.exists()


def _post_json(client, path: str, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["same team", "other team"])
def test_native_api_refuses_a_run_of_another_project(
    client, org_a, org_b, token, where, media_root, django_capture_on_commit_callbacks
):
    victim = _victim(_victim_project(where, org_a, org_b), source="native", external_id="job-42")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_json(client, "/api/v1/runs", {"runs": [NATIVE_RUN]}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 409, response.content
    assert "run job-42 belongs to another project" in response.json()["detail"]
    assert not ImportBatch.objects.exists()  # refused before anything is queued
    _assert_untouched(victim)


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["same team", "other team"])
def test_http_output_refuses_a_run_of_another_project(client, org_a, org_b, token, where, media_root):
    run_id = HTTP_OUTPUT["run_id"]
    victim = _victim(_victim_project(where, org_a, org_b), source="codecarbon_http", external_id=run_id)
    response = _post_json(client, f"/api/codecarbon/http-output/{token}", {**HTTP_OUTPUT, "energy_consumed": 99.0})
    assert response.status_code == 409, response.content
    assert f"run {run_id} belongs to another project" in response.json()["detail"]
    _assert_untouched(victim)


@pytest.mark.django_db
def test_http_output_refuses_a_copy_of_another_projects_live_run(client, org_a, org_b, token, media_root):
    """Same CodeCarbon run id under another source (the live API): merging would move it just the same."""
    run_id = HTTP_OUTPUT["run_id"]
    victim = _victim(_victim_project("other team", org_a, org_b), source="codecarbon_api", external_id=run_id)
    response = _post_json(client, f"/api/codecarbon/http-output/{token}", HTTP_OUTPUT)
    assert response.status_code == 409 and f"run {run_id} belongs to another project" in response.json()["detail"]
    _assert_untouched(victim)
    assert not Run.objects.filter(source="codecarbon_http").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["same team", "other team"])
def test_codecarbon_emissions_refuse_a_run_of_another_project(client, org_a, org_b, token, where):
    victim = _victim(_victim_project(where, org_a, org_b), source="codecarbon_api", external_id="live-1")
    response = _post_json(
        client, "/api/codecarbon/emissions", {**EMISSION_BODY, "run_id": "live-1"}, HTTP_X_API_TOKEN=token
    )
    assert response.status_code == 409, response.content
    assert "run live-1 belongs to another project" in response.json()["detail"]
    _assert_untouched(victim)
    assert not RunSample.objects.exists()


@pytest.mark.django_db
def test_a_fixed_project_file_import_rejects_a_run_of_another_project(org_a, org_b, token, media_root):
    """``manage.py ingest --project`` and the loader behind every path give the same reason as a row error."""
    from ingest.services import import_batch_create, import_batch_process

    victim = _victim(_victim_project("other team", org_a, org_b), source="native", external_id="job-42")
    batch = import_batch_create(
        organization=org_a, source="native_json", filename="runs.json",
        content=json.dumps({"runs": [NATIVE_RUN]}).encode(), options={"project": "mine"},
    )  # fmt: skip
    batch = import_batch_process(batch=batch)
    assert (batch.rows_loaded, batch.rows_rejected) == (0, 1)
    assert "run job-42 belongs to another project" in batch.row_errors.get().reason
    _assert_untouched(victim)


@pytest.mark.django_db
def test_another_organizations_run_stays_isolated(
    client, org_a, org_b, token, media_root, django_capture_on_commit_callbacks
):
    """The same ids in org B: org A's token writes its own runs, and nothing tells it org B has them."""
    victims = [
        _victim(_victim_project("other org", org_a, org_b), source=source, external_id=external_id)
        for source, external_id in (
            ("native", "job-42"), ("codecarbon_http", HTTP_OUTPUT["run_id"]), ("codecarbon_api", "live-1")
        )
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        native = _post_json(client, "/api/v1/runs", {"runs": [NATIVE_RUN]}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert native.status_code == 202
    assert _post_json(client, f"/api/codecarbon/http-output/{token}", HTTP_OUTPUT).status_code == 201
    sample = _post_json(
        client, "/api/codecarbon/emissions", {**EMISSION_BODY, "run_id": "live-1"}, HTTP_X_API_TOKEN=token
    )
    assert sample.status_code == 403 and "another project" not in sample.json()["detail"]  # unknown, as any id
    mine = Run.objects.filter(organization=org_a, project__slug="mine")
    assert sorted(mine.values_list("external_id", flat=True)) == sorted(["job-42", HTTP_OUTPUT["run_id"]])
    for victim in victims:
        _assert_untouched(victim)


@pytest.mark.django_db
def test_the_tokens_own_runs_are_still_replaced(client, org_a, token, media_root, django_capture_on_commit_callbacks):
    """The guard refuses other projects' runs only: re-sending one's own run id replaces it as before."""
    mine = Project.objects.get(slug="mine")
    own = _victim(mine, source="native", external_id="job-42")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_json(client, "/api/v1/runs", {"runs": [NATIVE_RUN]}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 202
    assert Run.objects.get(pk=own.pk).energy_kwh == NATIVE_RUN["energy_kwh"]


def test_a_duration_beyond_the_calendar_is_a_row_error_not_a_crash():
    """Schemathesis found ``duration_s: 1e300`` overflowing ``started_at + duration`` (OverflowError → 500)."""
    import json

    from ingest.parsers import native_json
    from ingest.records import RowIssue

    run = {"external_id": "x", "started_at": "2025-01-01T00:00:00Z", "duration_s": 1e300}
    [issue] = list(native_json.parse(json.dumps({"runs": [run]}).encode()))
    assert isinstance(issue, RowIssue) and issue.column == "duration_s" and "one year" in issue.reason
