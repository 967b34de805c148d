"""The CodeCarbon wire protocol: endpoint behaviour, and the real ``codecarbon`` client end to end."""

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db.models import F

from emissions.models import ApiToken, Experiment, Run, RunSample
from emissions.periods import period_parse
from emissions.services.tokens import api_token_create
from tests.factories import ProjectFactory

SAMPLES = Path(__file__).parent / "fixtures" / "codecarbon"
RUN_BODY = json.loads((SAMPLES / "codecarbon_api_run.json").read_text())
EMISSION_BODY = json.loads((SAMPLES / "codecarbon_api_emission.json").read_text())


@pytest.fixture
def ingest_token(org_a):
    project = ProjectFactory(organization=org_a, slug="llm", name="LLM")
    _token, plaintext = api_token_create(organization=org_a, project=project, name="tracker")
    return plaintext


def _post(client, path: str, body, token: str | None):
    headers = {"HTTP_X_API_TOKEN": token} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def _open_run(client, token: str, **overrides) -> str:
    response = _post(client, "/api/codecarbon/runs", {**RUN_BODY, **overrides}, token)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _two_machine_runs(client, token: str) -> tuple[str, str]:
    """Two runs opened one after the other on one host in machine mode, no GPU: the second joins the first's
    job as a rank member. Their ids."""
    host = {**RUN_BODY, "gpu_count": 0, "tracking_mode": "machine"}
    return _open_run(client, token, **host), _open_run(client, token, **host)


@pytest.mark.django_db
def test_runs_then_emissions_store_the_delta(client, ingest_token):
    run_id = _open_run(client, ingest_token)
    response = _post(client, "/api/codecarbon/emissions", {**EMISSION_BODY, "run_id": run_id}, ingest_token)
    assert response.status_code == 201
    run = Run.objects.get(external_id=run_id)
    assert run.source == "codecarbon_api" and run.project.slug == "llm"
    assert run.energy_kwh == pytest.approx(EMISSION_BODY["energy_consumed"])
    assert run.cpu_energy_kwh == pytest.approx(EMISSION_BODY["cpu_energy"])
    assert run.tracker_emissions_kg_co2e == pytest.approx(EMISSION_BODY["emissions_sum"])
    assert run.experiment.external_id == RUN_BODY["experiment_id"]
    assert RunSample.objects.get(run=run).duration_s == EMISSION_BODY["duration"]


@pytest.mark.django_db
def test_a_sample_stamped_before_the_run_start_is_stored(client, ingest_token):
    run_id = _open_run(client, ingest_token)
    early = {**EMISSION_BODY, "run_id": run_id, "timestamp": "2020-01-01T00:00:00+00:00"}
    assert _post(client, "/api/codecarbon/emissions", early, ingest_token).status_code == 201
    run = Run.objects.get(external_id=run_id)
    assert run.ended_at == run.started_at and run.energy_kwh > 0


@pytest.mark.django_db
def test_double_slash_paths_are_accepted(client, ingest_token):
    run_id = _open_run(client, ingest_token)
    response = _post(client, "/api/codecarbon//emissions", {**EMISSION_BODY, "run_id": run_id}, ingest_token)
    assert response.status_code == 201
    assert _post(client, "/api/codecarbon//runs", RUN_BODY, ingest_token).status_code == 201


@pytest.mark.django_db
def test_a_retried_sample_counts_once(client, ingest_token):
    run_id = _open_run(client, ingest_token)
    body = {**EMISSION_BODY, "run_id": run_id}
    assert _post(client, "/api/codecarbon/emissions", body, ingest_token).json()["stored"] is True
    assert _post(client, "/api/codecarbon/emissions", body, ingest_token).json()["stored"] is False
    run = Run.objects.get(external_id=run_id)
    assert run.samples.count() == 1
    assert run.energy_kwh == pytest.approx(EMISSION_BODY["energy_consumed"])


@pytest.mark.django_db
def test_default_experiment_id_is_accepted_and_flagged(client, ingest_token):
    run_id = _open_run(client, ingest_token, experiment_id="5b0fa12a-3dd7-45bb-9766-cc326314d9f1")
    run = Run.objects.get(external_id=run_id)
    assert "default_experiment_id" in run.flags
    assert Experiment.objects.get(external_id="5b0fa12a-3dd7-45bb-9766-cc326314d9f1").is_default_demo_id


@pytest.mark.django_db
def test_tokens_are_checked(client, org_a, ingest_token):
    assert _post(client, "/api/codecarbon/runs", RUN_BODY, None).status_code == 401
    response = _post(client, "/api/codecarbon/runs", RUN_BODY, "gg_wrong")
    assert response.status_code == 403 and "invalid" in response.json()["detail"]
    project = ProjectFactory(organization=org_a)
    _, read_only = api_token_create(organization=org_a, project=project, name="ci", scope=ApiToken.Scope.READ)
    assert _post(client, "/api/codecarbon/runs", RUN_BODY, read_only).status_code == 403
    ApiToken.objects.filter(scope="ingest").update(revoked_at="2026-01-01T00:00:00Z")
    assert _post(client, "/api/codecarbon/runs", RUN_BODY, ingest_token).status_code == 403


@pytest.mark.django_db
def test_a_token_cannot_write_to_another_projects_run(client, org_a, ingest_token):
    run_id = _open_run(client, ingest_token)
    _, other = api_token_create(organization=org_a, project=ProjectFactory(organization=org_a), name="other")
    response = _post(client, "/api/codecarbon/emissions", {**EMISSION_BODY, "run_id": run_id}, other)
    assert response.status_code == 409 and f"run {run_id} belongs to another project" in response.json()["detail"]
    assert Run.objects.get(external_id=run_id).energy_kwh == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ({**EMISSION_BODY, "energy_consumed": -1}, "energy_consumed"),
        ({**EMISSION_BODY, "energy_consumed": "lots"}, "energy_consumed"),
        ({**EMISSION_BODY, "duration": None}, "duration"),
        ({**EMISSION_BODY, "timestamp": "9999-01-01T00:00:00+00:00"}, "timestamp"),
    ],
)
def test_bad_payloads_are_400_with_the_field(client, ingest_token, body, field):
    run_id = _open_run(client, ingest_token)
    if isinstance(body, dict):
        body = {**body, "run_id": run_id}
    response = _post(client, "/api/codecarbon/emissions", body, ingest_token)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert Run.objects.get(external_id=run_id).energy_kwh == 0


@pytest.mark.django_db
def test_http_output_replaces_the_cumulative_record(client, ingest_token):
    body = json.loads((SAMPLES / "http_output.json").read_text())
    url = f"/api/codecarbon/http-output/{ingest_token}"
    assert _post(client, url, body, None).status_code == 201
    later = {**body, "energy_consumed": body["energy_consumed"] * 2, "duration": body["duration"] * 2}
    assert _post(client, url, later, None).status_code == 201
    run = Run.objects.get(source="codecarbon_http")
    assert run.energy_kwh == pytest.approx(body["energy_consumed"] * 2)  # replaced, not added
    assert run.user_name == "root" and run.country_iso3 == "DEU"
    assert _post(client, "/api/codecarbon/http-output/gg_wrong", body, None).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_real_codecarbon_client_reports_to_greenguild(live_server, org_a, ingest_token, monkeypatch, tmp_path):
    """An unmodified codecarbon 3.3.2 EmissionsTracker, pointed at a live GreenGuild, around a CPU loop."""
    # Offline guarantee: any request that is not for the local server goes to a dead proxy and fails at once.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.chdir(tmp_path)  # codecarbon reads ./.codecarbon.config and may write files here
    from codecarbon import EmissionsTracker

    tracker = EmissionsTracker(
        api_endpoint=f"{live_server.url}/api/codecarbon",
        api_key=ingest_token,
        experiment_id="11111111-2222-3333-4444-555555555555",
        output_methods=["api"],
        api_call_interval=1,
        measure_power_secs=1,
        log_level="error",
    )
    tracker.start()
    deadline = time.monotonic() + 4.5
    total = 0
    while time.monotonic() < deadline:
        total += sum(i * i for i in range(10_000))
    tracker.stop()

    run = Run.objects.get(source="codecarbon_api")
    samples = list(run.samples.all())
    assert len(samples) >= 2
    assert run.energy_kwh > 0
    assert run.energy_kwh == pytest.approx(sum(s.energy_kwh for s in samples))
    assert run.experiment.external_id == "11111111-2222-3333-4444-555555555555"
    assert run.tracker_version == "3.3.2"
    # The read API shows it to a read token of the same project.
    from emissions.models import Project

    _, read = api_token_create(
        organization=org_a, project=Project.objects.get(slug="llm"), name="ci", scope=ApiToken.Scope.READ
    )
    import requests

    response = requests.get(
        f"{live_server.url}/api/v1/runs/?project=llm", headers={"Authorization": f"Bearer {read}"}, timeout=5
    )
    assert response.status_code == 200, response.text
    rows = response.json()["results"]
    assert [row["external_id"] for row in rows] == [run.external_id]
    assert rows[0]["energy_kwh"] == pytest.approx(run.energy_kwh)


@pytest.mark.django_db
def test_revocation_takes_effect_once_the_token_cache_expires(client, ingest_token, monkeypatch):
    from ingest import codecarbon

    assert _post(client, "/api/codecarbon/runs", RUN_BODY, ingest_token).status_code == 201
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    monkeypatch.setattr(codecarbon, "TOKEN_CACHE_S", 0.0)
    assert _post(client, "/api/codecarbon/runs", RUN_BODY, ingest_token).status_code == 403


@pytest.mark.django_db
def test_http_output_of_a_run_already_imported_from_its_csv_is_merged_into_it(client, org_a, ingest_token, media_root):
    from ingest.services import import_batch_create, import_batch_process

    body = json.loads((SAMPLES / "http_output.json").read_text())
    header = ",".join(key for key in body if key != "user")
    row = ",".join("" if body[key] is None else str(body[key]) for key in body if key != "user")
    content = f"{header}\n{row}\n".encode()
    batch = import_batch_create(
        organization=org_a, source="codecarbon_csv", filename="emissions.csv", content=content,
        options={"project": "llm"},  # the token's project
    )  # fmt: skip
    assert import_batch_process(batch=batch).rows_loaded == 1
    response = _post(client, f"/api/codecarbon/http-output/{ingest_token}", body, None)
    assert response.status_code == 201
    run = Run.objects.get()  # one run, whatever the number of copies
    assert run.source == "codecarbon_csv" and run.energy_kwh == body["energy_consumed"]
    assert run.user_name == body["user"] and "merged_sources" in run.flags  # what the copy added
    assert [(a.source, a.external_id) for a in run.aliases.all()] == [("codecarbon_http", body["run_id"])]
    # The copy again: nothing changes.
    assert _post(client, f"/api/codecarbon/http-output/{ingest_token}", body, None).json()["stored"] is False


@pytest.mark.django_db
@pytest.mark.django_db
def test_a_project_token_cannot_change_a_run_of_another_project(client, org_a, ingest_token, media_root):
    from ingest.services import import_batch_create, import_batch_process

    body = json.loads((SAMPLES / "http_output.json").read_text())
    header = ",".join(key for key in body if key != "user")
    row = ",".join("" if body[key] is None else str(body[key]) for key in body if key != "user")
    batch = import_batch_create(
        organization=org_a, source="codecarbon_csv", filename="emissions.csv", content=f"{header}\n{row}\n".encode()
    )  # fmt: skip  (project from the file)
    import_batch_process(batch=batch)
    stored = Run.objects.get()
    response = _post(client, f"/api/codecarbon/http-output/{ingest_token}", {**body, "energy_consumed": 99.0}, None)
    assert response.status_code == 409
    assert f"run {body['run_id']} belongs to another project" in response.json()["detail"]
    assert Run.objects.get() == stored and Run.objects.get().energy_kwh == stored.energy_kwh  # unchanged, not moved


def test_invalid_tokens_are_rate_limited_per_address_and_a_valid_token_still_passes(client, ingest_token):
    from emissions.throttling import DEFAULT_TOKEN_FAILURES_PER_MINUTE

    valid_run = _open_run(client, ingest_token)  # a tracker already talking, whose token is cached
    for _ in range(DEFAULT_TOKEN_FAILURES_PER_MINUTE):
        assert _post(client, "/api/codecarbon/runs", RUN_BODY, "gg_wrong").status_code == 403
    limited = _post(client, "/api/codecarbon/runs", RUN_BODY, "gg_wrong")
    assert limited.status_code == 429 and 0 < int(limited["Retry-After"]) <= 60
    other = client.post(
        "/api/codecarbon/runs", json.dumps(RUN_BODY), content_type="application/json",
        HTTP_X_API_TOKEN="gg_mistyped", REMOTE_ADDR="10.0.0.9",
    )  # fmt: skip
    assert other.status_code == 403  # another address is not limited (tests/emissions/test_throttling.py: more)
    sample = _post(client, "/api/codecarbon/emissions", {**EMISSION_BODY, "run_id": valid_run}, ingest_token)
    assert sample.status_code == 201  # the tracker whose token is valid keeps posting
    assert client.get("/api/v1/runs", HTTP_AUTHORIZATION="Bearer gg_wrong").status_code == 429  # the REST API too


@pytest.mark.django_db
def test_a_second_rank_on_the_same_host_adds_only_its_own_gpu(client, ingest_token):
    """Two ranks of one job, one GPU each, machine mode: the second adds its GPU energy, not the machine."""
    rank = {**RUN_BODY, "gpu_count": 1, "gpu_model": "1 x NVIDIA A100", "tracking_mode": "machine"}
    first = _post(client, "/api/codecarbon/runs", rank, ingest_token).json()["id"]
    second = _post(client, "/api/codecarbon/runs", rank, ingest_token).json()["id"]
    delta = {**EMISSION_BODY, "cpu_energy": 0.2, "gpu_energy": 0.5, "ram_energy": 0.1, "energy_consumed": 0.8}
    for run_id in (first, second):
        assert _post(client, "/api/codecarbon/emissions", {**delta, "run_id": run_id}, ingest_token).status_code == 201
    leader, member = Run.objects.get(external_id=first), Run.objects.get(external_id=second)
    assert member.rank_of == leader and "rank_member_gpu_only" in member.flags
    assert (leader.energy_kwh, member.energy_kwh, member.cpu_energy_kwh, member.gpu_energy_kwh) == (0.8, 0.5, 0, 0.5)
    assert member.samples.get().cpu_energy_kwh == 0.2  # the sample itself is kept whole
    # Every rank seeing both GPUs of the node: the second adds nothing.
    shared = {**rank, "gpu_count": 2, "gpu_model": "2 x NVIDIA A100", "experiment_id": "another-job"}
    _post(client, "/api/codecarbon/runs", shared, ingest_token)
    third = _post(client, "/api/codecarbon/runs", shared, ingest_token).json()["id"]
    assert "rank_member_not_counted" in Run.objects.get(external_id=third).flags


@pytest.mark.django_db
def test_a_member_whose_first_rank_never_reports_becomes_the_first_and_counts_the_machine(client, ingest_token):
    """A client that retried ``POST /runs`` after a timeout left an empty first rank: its samples still count."""
    empty, retried = _two_machine_runs(client, ingest_token)
    assert Run.objects.get(external_id=retried).rank_of == Run.objects.get(external_id=empty)
    deltas = [0.8, 0.3]
    for n, energy in enumerate(deltas):
        body = {**EMISSION_BODY, "run_id": retried, "duration": 2 + n, "cpu_energy": energy / 2,
                "gpu_energy": 0.0, "ram_energy": energy / 2, "energy_consumed": energy}  # fmt: skip
        assert _post(client, "/api/codecarbon/emissions", body, ingest_token).status_code == 201
    counted, left = Run.objects.get(external_id=retried), Run.objects.get(external_id=empty)
    assert counted.rank_of is None and "rank_first_reassigned" in counted.flags
    assert "multi_rank_member" not in counted.flags
    assert counted.energy_kwh == pytest.approx(sum(deltas))
    assert left.rank_of == counted and "rank_member_not_counted" in left.flags and left.energy_kwh == 0
    # Should the old first rank report after all, it is a member now: the machine is not counted twice.
    late = {**EMISSION_BODY, "run_id": empty, "cpu_energy": 0.4, "gpu_energy": 0.0, "ram_energy": 0.1,
            "energy_consumed": 0.5}  # fmt: skip
    assert _post(client, "/api/codecarbon/emissions", late, ingest_token).status_code == 201
    assert Run.objects.get(external_id=empty).energy_kwh == 0
    assert Run.objects.get(external_id=retried).energy_kwh == pytest.approx(sum(deltas))


@pytest.mark.django_db
def test_a_first_rank_that_reported_keeps_its_place(client, ingest_token):
    first, member = _two_machine_runs(client, ingest_token)
    for run_id in (first, member):
        response = _post(client, "/api/codecarbon/emissions", {**EMISSION_BODY, "run_id": run_id}, ingest_token)
        assert response.status_code == 201
    assert Run.objects.get(external_id=member).rank_of == Run.objects.get(external_id=first)
    assert Run.objects.get(external_id=member).energy_kwh == 0
    assert Run.objects.get(external_id=first).energy_kwh == pytest.approx(EMISSION_BODY["energy_consumed"])


@pytest.mark.django_db
def test_a_first_rank_whose_energy_came_from_a_merged_record_keeps_its_place(client, ingest_token):
    """No sample, but the job's CSV merged into it: it has reported, a member's late sample changes nothing."""
    first, member = _two_machine_runs(client, ingest_token)
    Run.objects.filter(external_id=first).update(energy_kwh=2.5, cpu_energy_kwh=2.0, ram_energy_kwh=0.5)
    response = _post(client, "/api/codecarbon/emissions", {**EMISSION_BODY, "run_id": member}, ingest_token)
    assert response.status_code == 201
    assert Run.objects.get(external_id=member).rank_of == Run.objects.get(external_id=first)
    assert Run.objects.get(external_id=member).energy_kwh == 0


def _delta(run_id: str, end_s: float, duration_s: int, energy_kwh: float) -> dict:
    """A machine-mode delta of ``run_id`` ending ``end_s`` seconds after 12:49:30, CPU and RAM halves."""
    end = datetime(2026, 11, 23, 12, 49, 30, tzinfo=UTC) + timedelta(seconds=end_s)
    return {**EMISSION_BODY, "run_id": run_id, "timestamp": end.isoformat(), "duration": duration_s,
            "cpu_energy": energy_kwh / 2, "gpu_energy": 0.0, "ram_energy": energy_kwh / 2,
            "energy_consumed": energy_kwh}  # fmt: skip


@pytest.mark.django_db
def test_one_clients_run_opened_twice_is_joined_into_the_run_it_goes_on_writing_to(client, ingest_token):
    """CodeCarbon 3.x opens its run from two threads at once (start or stop meeting its first upload): two
    ids answered, its first delta sent to one, the rest to the other. Their deltas follow each other in time
    (to a fraction of a second: durations are whole seconds), so they are one run, and every delta counts."""
    early, later = _two_machine_runs(client, ingest_token)
    assert Run.objects.get(external_id=later).rank_of == Run.objects.get(external_id=early)
    deltas = [(early, 1.0, 1, 0.3), (later, 2.95, 2, 0.5), (later, 5.0, 2, 0.4)]
    for run_id, end_s, duration_s, energy in deltas:
        body = _delta(run_id, end_s, duration_s, energy)
        assert _post(client, "/api/codecarbon/emissions", body, ingest_token).status_code == 201
    joined, left = Run.objects.get(external_id=later), Run.objects.get(external_id=early)
    assert joined.rank_of is None and "rank_split_joined" in joined.flags and "multi_rank_member" not in joined.flags
    assert joined.energy_kwh == pytest.approx(1.2) and joined.cpu_energy_kwh == pytest.approx(0.6)
    assert joined.samples.count() == 3
    assert joined.tracker_emissions_kg_co2e == pytest.approx(3 * EMISSION_BODY["emissions_sum"])
    assert left.rank_of == joined and left.energy_kwh == 0 and not left.samples.exists()


@pytest.mark.django_db
def test_the_id_a_split_run_left_empty_is_not_listed_or_counted_as_a_run(client, ingest_token, alice):
    """Lists, counts and the model passport show one run; the run page names the other id."""
    from emissions.models import Project
    from emissions.selectors import runs_not_in_ledger
    from reporting.guild.passport import passport_runs
    from reporting.selectors.lists import projects_list_frame

    early, later = _two_machine_runs(client, ingest_token)
    for run_id, end_s, duration_s, energy in [(early, 1.0, 1, 0.3), (later, 2.95, 2, 0.5)]:
        body = _delta(run_id, end_s, duration_s, energy)
        assert _post(client, "/api/codecarbon/emissions", body, ingest_token).status_code == 201
    joined, empty = Run.objects.get(external_id=later), Run.objects.get(external_id=early)
    assert empty.rank_of == joined and not empty.samples.exists()  # the split was joined
    project = Project.objects.get(slug="llm")
    assert list(passport_runs(project=project)) == [joined]
    assert runs_not_in_ledger(organization=project.organization, runs=Run.objects.all())["runs"] == 1
    period = period_parse(joined.started_at.strftime("%Y-%m"))
    frame = projects_list_frame(organization=project.organization, period=period, view="inventory")
    assert frame.set_index("slug").loc["llm", "runs"] == 1
    client.force_login(alice)
    page = client.get("/projects/llm/").content.decode()
    assert later in page and early not in page
    page = client.get(f"/runs/{joined.pk}/").content.decode()
    assert 'id="run-also-opened-as">' + early in page
    assert f'<a href="/runs/{joined.pk}/">{later}</a>' in client.get(f"/runs/{empty.pk}/").content.decode()
    # The REST API lists the run once, and says which run counts the empty id.
    listed = client.get("/api/v1/runs/").json()
    listed = listed.get("results", listed) if isinstance(listed, dict) else listed
    assert [(run["external_id"], run["rank_of"]) for run in listed] == [(later, None)]
    assert client.get(f"/api/v1/runs/{empty.pk}/").json()["rank_of"] == joined.pk
    # The empty id counts again as soon as it holds a sample of its own (a real rank reporting late).
    assert _post(client, "/api/codecarbon/emissions", _delta(early, 1.0, 1, 0.3), ingest_token).status_code == 201
    assert sorted(run.external_id for run in passport_runs(project=project)) == sorted([early, later])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "second_delta, opened_apart_s",
    [((1.0, 1), 0), ((1.4, 1), 0), ((3.0, 2), 2)],
    ids=["same-seconds", "mostly-the-same-seconds", "opened-2-s-apart"],
)
def test_two_ranks_are_not_joined(client, ingest_token, second_delta, opened_apart_s):
    """Ranks measure the same seconds; a client's split opens both runs within a second."""
    first, member = _two_machine_runs(client, ingest_token)
    Run.objects.filter(external_id=first).update(created_at=F("created_at") - timedelta(seconds=opened_apart_s))
    assert _post(client, "/api/codecarbon/emissions", _delta(first, 1.0, 1, 0.3), ingest_token).status_code == 201
    body = _delta(member, *second_delta, 0.5)
    assert _post(client, "/api/codecarbon/emissions", body, ingest_token).status_code == 201
    assert Run.objects.get(external_id=member).rank_of == Run.objects.get(external_id=first)
    assert Run.objects.get(external_id=member).energy_kwh == 0  # the first rank counts the machine
    assert Run.objects.get(external_id=first).energy_kwh == pytest.approx(0.3)


@pytest.mark.django_db
@pytest.mark.parametrize("opened_apart_s, locked", [(2, False), (0, True)], ids=["rank", "maybe-one-client"])
def test_a_rank_whose_first_rank_reported_is_settled_without_a_lock(client, ingest_token, opened_apart_s, locked):
    """A real rank's first sample asks once whether it might take its first rank's place, without a lock,
    unless both runs were opened within a second (a split run is told apart under the job's lock)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from emissions.services.run_ranks import live_run_first_rank_claim
    from ingest.codecarbon import sample_record_from_codecarbon_emission

    first, member_id = _two_machine_runs(client, ingest_token)
    member = Run.objects.get(external_id=member_id)
    Run.objects.filter(external_id=first).update(created_at=F("created_at") - timedelta(seconds=opened_apart_s))
    assert _post(client, "/api/codecarbon/emissions", _delta(first, 1.0, 1, 0.3), ingest_token).status_code == 201
    same_seconds = sample_record_from_codecarbon_emission(_delta(member.external_id, 1.0, 1, 0.5))
    with CaptureQueriesContext(connection) as captured:
        assert live_run_first_rank_claim(run=member, sample=same_seconds) is False
    selects = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("SELECT")]
    assert (len(selects) > 1) == locked  # one lock-free question, or the locked reads
    assert any("FOR UPDATE" in sql for sql in selects) == (locked and connection.features.has_select_for_update)


@pytest.mark.django_db
def test_a_sample_is_counted_for_the_rank_the_run_has_now_not_the_one_a_cache_remembers(client, ingest_token):
    """Another server process made the run a member after this one cached it as first: it counts nothing."""
    from emissions.records import RunSampleRecord
    from emissions.services.runs import run_sample_append
    from ingest.codecarbon import sample_record_from_codecarbon_emission

    first, member = (Run.objects.get(external_id=run_id) for run_id in _two_machine_runs(client, ingest_token))
    stale = Run(pk=member.pk, started_at=member.started_at, organization_id=member.organization_id)
    stale.rank_of_id = None  # what a process that looked before the member joined would remember
    sample: RunSampleRecord = sample_record_from_codecarbon_emission({**EMISSION_BODY, "run_id": member.external_id})
    assert run_sample_append(run=stale, sample=sample, counted="all") == "none"
    assert stale.rank_of_id == first.pk
    member.refresh_from_db()
    assert member.energy_kwh == 0 and member.samples.count() == 1
