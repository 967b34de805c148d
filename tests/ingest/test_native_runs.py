"""The native run API: POST a batch, read it back with our figures, row errors for bad runs."""

import json

import pytest

from emissions.models import ApiToken, Run
from emissions.services.tokens import api_token_create
from ingest.models import ImportBatch
from ingest.parsers import native_json
from ingest.records import ParsedRow, RowIssue
from tests.factories import ProjectFactory

RUN = {
    "external_id": "job-1", "project": "a-project", "kind": "fine_tuning", "started_at": "2025-03-01T10:00:00Z",
    "duration_s": 3600, "energy_kwh": 12.5, "cpu_energy_kwh": 1.0, "gpu_energy_kwh": 11.0, "ram_energy_kwh": 0.5,
    "gpu_model": "NVIDIA H100 SXM 80GB", "gpu_count": 8, "cloud_provider": "aws", "cloud_region": "us-east-1",
    "tracker_emissions_kg_co2e": 4.2, "tokens_processed": 1_000_000, "tags": {"queue": "gpu"},
}  # fmt: skip


def _post(client, payload, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post("/api/v1/runs", body, content_type="application/json", **headers)


def test_parser_reports_each_bad_field():
    bad = [
        {**RUN, "external_id": "neg", "energy_kwh": -1},
        {**RUN, "external_id": "sum", "energy_kwh": 99},
        {**RUN, "external_id": "naive", "started_at": "2025-03-01T10:00:00"},
        {**RUN, "external_id": "future", "started_at": "9999-01-01T00:00:00Z"},
        {**RUN, "external_id": "zero", "duration_s": 0},
        {**RUN, "external_id": "nan", "gpu_count": "eight"},
        RUN,
    ]
    rows = list(native_json.parse(json.dumps({"runs": bad}).encode()))
    issues = {row.row_number: row for row in rows if isinstance(row, RowIssue)}
    assert {n: i.column for n, i in issues.items()} == {
        1: "energy_kwh", 2: "energy_kwh", 3: "started_at", 4: "started_at", 5: "duration_s", 6: "gpu_count",
    }  # fmt: skip
    assert issues[1].value == "-1" and "negative" in issues[1].reason
    assert isinstance(rows[-1], ParsedRow) and rows[-1].record.energy_kwh == 12.5


@pytest.mark.django_db
def test_member_posts_runs_and_reads_them_back(client, alice, org_a, media_root, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, {"runs": [RUN, {**RUN, "external_id": "bad", "energy_kwh": -3}]})
    assert response.status_code == 202
    batch = ImportBatch.objects.get(pk=response.json()["id"])
    assert batch.status == ImportBatch.Status.PARTIAL
    assert (batch.rows_total, batch.rows_loaded, batch.rows_rejected) == (2, 1, 1)
    run = Run.objects.get(external_id="job-1")
    assert run.project.slug == "a-project" and run.cloud_region.region == "us-east-1" if run.cloud_region else True
    body = client.get("/api/v1/runs?project=a-project").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["external_id"] == "job-1" and row["energy_kwh"] == 12.5 and row["tracker_emissions_kg_co2e"] == 4.2
    assert row["emissions_kg_co2e_location"] is None  # no ledger computed yet
    # The functional units behind per-unit metrics can be audited from the API (issue 24, finding 7).
    assert (row["tokens_processed"], row["inferences_count"], row["efficiency_techniques"]) == (1_000_000, None, [])
    assert client.get(f"/api/v1/runs/{run.pk}").json()["id"] == run.pk


@pytest.mark.django_db
def test_posting_the_same_batch_twice_counts_once(client, alice, org_a, media_root, django_capture_on_commit_callbacks):
    client.force_login(alice)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = _post(client, {"runs": [RUN]})
    batch = ImportBatch.objects.get(pk=response.json()["id"])
    assert (batch.rows_loaded, batch.rows_duplicate) == (0, 1)
    assert Run.objects.get(external_id="job-1").energy_kwh == 12.5


@pytest.mark.django_db
def test_ingest_token_pins_the_project_and_read_token_reads_only_its_project(
    client, org_a, media_root, django_capture_on_commit_callbacks
):
    mine = ProjectFactory(organization=org_a, slug="mine")
    _, ingest = api_token_create(organization=org_a, project=mine, name="i")
    _, read = api_token_create(organization=org_a, project=mine, name="r", scope=ApiToken.Scope.READ)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, {"runs": [RUN]}, ingest).status_code == 202
    assert Run.objects.get(external_id="job-1").project == mine  # the payload's project is ignored
    assert _post(client, {"runs": [RUN]}, read).status_code == 403  # a read token cannot write
    assert [
        r["external_id"] for r in client.get("/api/v1/runs", HTTP_AUTHORIZATION=f"Bearer {read}").json()["results"]
    ] == ["job-1"]
    other = ProjectFactory(organization=org_a, slug="other")
    _, other_read = api_token_create(organization=org_a, project=other, name="o", scope=ApiToken.Scope.READ)
    assert client.get("/api/v1/runs", HTTP_AUTHORIZATION=f"Bearer {other_read}").json()["count"] == 0
    assert client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {read}").status_code == 403
    assert client.get("/api/v1/runs", HTTP_AUTHORIZATION="Bearer gg_nope").status_code in (401, 403)


@pytest.mark.django_db
def test_malformed_json_is_400_and_oversized_bodies_413(client, alice, settings):
    client.force_login(alice)
    response = _post(client, "{not json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]
    assert _post(client, {"run": []}).status_code == 400
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = _post(client, {"runs": [RUN] * 20})
    assert response.status_code == 413 and "exceeds the limit" in response.json()["detail"]


@pytest.mark.django_db
def test_a_batch_retried_after_a_crash_loads_everything_exactly_once(org_a, media_root, monkeypatch):
    """A worker dies after the first chunk: nothing of the batch is kept; the redelivered task loads it once."""
    from ingest import loading as services  # LOAD_CHUNK_ROWS, load_rows
    from ingest.services import import_batch_create, import_batch_process

    runs = [{**RUN, "external_id": f"job-{i}"} for i in range(5)]
    batch = import_batch_create(
        organization=org_a, source="native_json", filename="r.json", content=json.dumps({"runs": runs}).encode()
    )
    monkeypatch.setattr(services, "LOAD_CHUNK_ROWS", 2)
    real_load_chunk = services.load_rows
    calls = []

    def crash_on_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # not an Exception: nothing in the service may swallow it
        return real_load_chunk(*args, **kwargs)

    monkeypatch.setattr(services, "load_rows", crash_on_second_chunk)
    with pytest.raises(SystemExit):
        import_batch_process(batch=batch)
    assert Run.objects.filter(source="native").count() == 0  # the first chunk was rolled back with the batch
    monkeypatch.setattr(services, "load_rows", real_load_chunk)
    batch = import_batch_process(batch=ImportBatch.objects.get(pk=batch.pk))
    assert (batch.status, batch.rows_total, batch.rows_loaded, batch.rows_duplicate) == ("done", 5, 5, 0)
    assert Run.objects.filter(source="native").count() == 5
    assert sum(Run.objects.filter(source="native").values_list("energy_kwh", flat=True)) == pytest.approx(5 * 12.5)


@pytest.mark.django_db
def test_row_errors_download_as_safe_csv(client, alice, org_a, media_root, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, {"runs": [RUN, {**RUN, "external_id": "=HYPERLINK(1)", "energy_kwh": -2}]})
    batch_id = response.json()["id"]
    detail = client.get(f"/api/v1/imports/{batch_id}/").json()
    assert detail["progress"]["progress_pct"] == 100
    download = client.get(f"/api/v1/imports/{batch_id}/row-errors.csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    lines = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "row_number,column,value,reason"
    assert lines[1].startswith("2,energy_kwh,-2,")  # a plain number stays a number: a spreadsheet runs nothing


def test_every_technique_the_guild_pages_know_is_accepted_including_a_region_move():
    """Issue 24, finding 7: the project page understood ``region_move`` but the native import refused it."""
    runs = [
        {**RUN, "external_id": "moved", "efficiency_techniques": ["region_move", "mixed_precision"]},
        {**RUN, "external_id": "typo", "efficiency_techniques": ["region-move"]},
    ]
    moved, typo = native_json.parse(json.dumps({"runs": runs}).encode())
    assert isinstance(moved, ParsedRow) and moved.record.efficiency_techniques == ("region_move", "mixed_precision")
    assert isinstance(typo, RowIssue) and typo.column == "efficiency_techniques" and "region_move" in typo.reason
