"""One tracked run, once: the real CodeCarbon clients with ``csv,api`` output, and 4 ranks on one host.

The clients are the unmodified codecarbon 2.8.4 and 3.3.2 (tests/ingest/codecarbon_clients.py). 2.8.4
writes the API's run id into its CSV; 3.3.2 writes ``run_id=None`` there (mlco2/codecarbon#1303), so its
CSV row is recognised by experiment and time. Either way the CSV imported after the live run is merged
into it, and the richer energy (the CSV's: the API never gets a final delta under 1 s) is kept.
"""

import csv
import io
import zipfile
from pathlib import Path

import pytest

from emissions.models import Run, RunAlias
from emissions.services.tokens import api_token_create
from ingest.services import import_batch_create, import_batch_process
from tests.factories import ProjectFactory
from tests.ingest.codecarbon_clients import read_csv_rows, require_version, run_tracker, tracker_result

EXPERIMENT = "11111111-2222-3333-4444-555555555555"
CAPTURED = Path(__file__).parent / "fixtures" / "trackers" / "captured"


def _token(version: str, organization) -> str:
    """An ingest token of the project ``llm``, once the client of ``version`` is known to be installed."""
    require_version(version)
    project = ProjectFactory(organization=organization, slug="llm", name="llm")
    return api_token_create(organization=organization, project=project, name="tracker")[1]


def _the_run(organization) -> Run:
    """The one run that counts; any other is an empty run left by a ``POST /runs`` the client retried or
    sent twice at once.

    The client gives up on an answer after 2 s, so a slow moment of a loaded machine can make it open its
    run twice (test_a_run_whose_first_post_runs_answer_came_too_late_still_counts); 3.x also opens it from
    two threads at once when its first upload meets its start or stop
    (test_codecarbon_api.py::test_one_clients_run_opened_twice_is_joined_into_the_run_it_goes_on_writing_to).
    """
    runs = list(Run.objects.for_org(organization))
    [run] = [run for run in runs if run.rank_of_id is None]
    assert all(other.rank_of_id == run.pk and not other.samples.exists() for other in runs if other.pk != run.pk)
    assert all(other.energy_kwh == 0 for other in runs if other.pk != run.pk)
    return run


def _import(organization, source: str, content: bytes, filename: str, **options):
    batch = import_batch_create(
        organization=organization, source=source, filename=filename, content=content, options=options
    )
    return import_batch_process(batch=batch)


@pytest.mark.parametrize("version", ["2.8.4", "3.3.2"])
@pytest.mark.django_db(transaction=True)
def test_csv_and_api_output_of_one_tracked_run_is_one_run(version, live_server, org_a, tmp_path, media_root):
    token = _token(version, org_a)
    completed = run_tracker(
        version,
        workdir=tmp_path,
        api_endpoint=f"{live_server.url}/api/codecarbon",
        api_key=token,
        experiment_id=EXPERIMENT,
        project_name="llm",
        seconds=5,
        env={"TZ": "Europe/Paris"},  # the CSV's timestamps are naive local time; the API's carry an offset
    )
    result = tracker_result(completed)
    live = _the_run(org_a)
    assert live.source == "codecarbon_api" and live.samples.count() >= 1
    [row] = read_csv_rows(tmp_path / "emissions.csv")
    if version == "2.8.4":
        assert row["run_id"] == live.external_id == result["api_run_id"]
    else:
        assert row["run_id"] == "None"  # the CSV cannot name the API run: matched by experiment and time
    batch = _import(org_a, "codecarbon_csv", (tmp_path / "emissions.csv").read_bytes(), "emissions.csv",
                    timezone="Europe/Paris")  # fmt: skip
    assert (batch.rows_total, batch.rows_rejected) == (1, 0)
    run = _the_run(org_a)
    assert run.pk == live.pk and "merged_sources" in run.flags
    csv_kwh = float(row["energy_consumed"])
    samples_kwh = sum(sample.energy_kwh for sample in run.samples.all())
    assert run.energy_kwh == pytest.approx(max(csv_kwh, samples_kwh), rel=1e-12)
    assert run.country_iso3 == row["country_iso_code"]  # what the CSV adds to the live run
    assert RunAlias.objects.get(run=run).source == "codecarbon_csv"
    again = _import(org_a, "codecarbon_csv", (tmp_path / "emissions.csv").read_bytes(), "emissions.csv",
                    timezone="Europe/Paris")  # fmt: skip
    assert (again.rows_loaded, again.rows_duplicate) == (0, 1)
    assert _the_run(org_a).pk == live.pk


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.glob("emissions_rank*.csv")):
            archive.writestr(path.name, path.read_bytes())
    return buffer.getvalue()


def _rank_rows(folder: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(folder.glob("emissions_rank*.csv")):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    return rows


@pytest.mark.parametrize("version", ["2.8.4", "3.3.2"])
@pytest.mark.django_db
def test_four_ranks_in_machine_mode_count_the_node_once(version, org_a, media_root):
    """Four real trackers at once on one host: each measured the whole machine (captured/README.md)."""
    folder = CAPTURED / version / "ranks4_machine"
    rows = _rank_rows(folder)
    assert len(rows) == 4 and len({row["run_id"] for row in rows}) == 4
    batch = _import(org_a, "codecarbon_csv", _zip(folder), "ranks.zip", timezone="Europe/Paris")
    assert (batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (1, 3, 0)
    [run] = Run.objects.for_org(org_a)
    # Computed from the files: the machine's CPU and RAM once (the largest rank), not four times.
    cpu_once = max(float(row["cpu_energy"]) for row in rows)
    ram_once = max(float(row["ram_energy"]) for row in rows)
    assert run.cpu_energy_kwh == pytest.approx(cpu_once) and run.ram_energy_kwh == pytest.approx(ram_once)
    assert run.energy_kwh == pytest.approx(cpu_once + ram_once)
    assert run.energy_kwh < 0.3 * sum(float(row["energy_consumed"]) for row in rows)
    assert {"multi_rank_merged", "multi_rank_machine_mode"} <= set(run.flags)


@pytest.mark.parametrize("version", ["2.8.4", "3.3.2"])
@pytest.mark.django_db
def test_four_ranks_in_process_mode_add_up(version, org_a, media_root):
    folder = CAPTURED / version / "ranks4_process"
    rows = _rank_rows(folder)
    _import(org_a, "codecarbon_csv", _zip(folder), "ranks.zip", timezone="Europe/Paris")
    [run] = Run.objects.for_org(org_a)
    assert run.energy_kwh == pytest.approx(sum(float(row["energy_consumed"]) for row in rows))
    assert "multi_rank_machine_mode" not in run.flags


@pytest.mark.django_db
def test_gpus_of_separate_ranks_are_summed_and_shared_gpus_counted_once(org_a, media_root):
    """Rows of 4 ranks of one host: one GPU each (summed), then every rank seeing all 4 GPUs (once)."""
    header = "timestamp,project_name,run_id,experiment_id,duration,cpu_energy,gpu_energy,ram_energy,energy_consumed,"
    header += "os,cpu_model,cpu_count,gpu_count,ram_total_size,tracking_mode\n"

    def ranks(gpu_count: int) -> bytes:
        lines = [
            f"2026-03-01T11:00:0{rank},p,run-{gpu_count}-{rank},exp,3600,0.5,1.0,0.25,1.75,Linux,EPYC,64,{gpu_count},512,machine"
            for rank in range(4)
        ]
        return (header + "\n".join(lines) + "\n").encode()

    _import(org_a, "codecarbon_csv", ranks(1), "own.csv")
    [own] = Run.objects.for_org(org_a)
    assert (own.cpu_energy_kwh, own.gpu_energy_kwh, own.ram_energy_kwh, own.gpu_count) == (0.5, 4.0, 0.25, 4)
    Run.objects.all().delete()
    _import(org_a, "codecarbon_csv", ranks(4), "shared.csv")
    [shared] = Run.objects.for_org(org_a)
    assert (shared.gpu_energy_kwh, shared.energy_kwh, shared.gpu_count) == (1.0, 1.75, 4)
    assert "multi_rank_gpus_shared" in shared.flags


@pytest.mark.parametrize("version", ["2.8.4", "3.3.2"])
@pytest.mark.django_db(transaction=True)
def test_api_http_and_csv_output_of_one_run_is_still_one_run(version, live_server, org_a, tmp_path, media_root):
    """All three outputs on: the live API, CodeCarbon's HTTP output (``emissions_endpoint``) and the CSV."""
    token = _token(version, org_a)
    tracker_result(
        run_tracker(
            version,
            workdir=tmp_path,
            api_endpoint=f"{live_server.url}/api/codecarbon",
            api_key=token,
            experiment_id=EXPERIMENT,
            project_name="llm",
            seconds=4,
            extra={"emissions_endpoint": f"{live_server.url}/api/codecarbon/http-output/{token}"},
        )
    )
    run = _the_run(org_a)  # the HTTP record, sent at stop(), joined the live run
    assert run.source == "codecarbon_api" and {a.source for a in run.aliases.all()} == {"codecarbon_http"}
    assert run.user_name  # only the HTTP output carries the user
    _import(org_a, "codecarbon_csv", (tmp_path / "emissions.csv").read_bytes(), "emissions.csv")
    run = _the_run(org_a)
    assert {a.source for a in run.aliases.all()} == {"codecarbon_http", "codecarbon_csv"}
    [row] = read_csv_rows(tmp_path / "emissions.csv")
    assert run.energy_kwh >= float(row["energy_consumed"]) * (1 - 1e-12)  # the richest total, the CSV's at least


@pytest.mark.parametrize("version", ["2.8.4", "3.3.2"])
@pytest.mark.django_db(transaction=True)
def test_four_live_ranks_on_one_node_count_it_once_then_their_csv_joins_them(
    version, live_server, org_a, tmp_path, media_root
):
    """Four real trackers at once (machine mode, csv+api): four live runs, the node's CPU and RAM once."""
    from tests.ingest.codecarbon_clients import run_ranks

    token = _token(version, org_a)
    results = run_ranks(
        version, 4, workdir=tmp_path, api_endpoint=f"{live_server.url}/api/codecarbon", api_key=token,
        experiment_id=EXPERIMENT, project_name="llm", seconds=4,
    )  # fmt: skip
    for completed in results:
        tracker_result(completed)
    runs = list(Run.objects.for_org(org_a).order_by("started_at"))
    assert len(runs) == 4
    [first] = [run for run in runs if run.rank_of_id is None]
    members = [run for run in runs if run.rank_of_id == first.pk]
    assert len(members) == 3 and all("rank_member_not_counted" in m.flags for m in members)  # no GPU here
    assert sum(run.energy_kwh for run in runs) == pytest.approx(first.energy_kwh)  # the node once
    assert any(m.samples.exists() for m in members)  # their samples are kept for the timelines
    rows = _rank_rows(tmp_path)
    assert first.energy_kwh < 0.5 * sum(float(row["energy_consumed"]) for row in rows)
    _import(org_a, "codecarbon_csv", _zip(tmp_path), "ranks.zip")
    runs = list(Run.objects.for_org(org_a))
    assert len(runs) == 4  # the CSV job joined the first rank
    job_kwh = max(float(r["cpu_energy"]) for r in rows) + max(float(r["ram_energy"]) for r in rows)
    assert sum(run.energy_kwh for run in runs) == pytest.approx(max(job_kwh, first.energy_kwh))


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_first_post_runs_answer_came_too_late_still_counts(live_server, org_a, tmp_path, media_root,
                                                                      monkeypatch):  # fmt: skip
    """The real 3.3.2 client gives up on ``POST /runs`` after 2 s and opens its run again at its next upload.

    The server stores the first run and answers after 2.5 s: two live runs, the first without a sample. The
    second, whose samples the client sends, becomes the job's first rank and counts the whole run.
    """
    import time

    from django.db import transaction

    from ingest import codecarbon as endpoints

    answered = []
    assign = endpoints.live_run_rank_assign

    def slow_first_answer(*, run):
        if not answered:
            answered.append(run.external_id)
            # Stored (committed), then the answer comes after the client's timeout (requests, timeout=2).
            transaction.on_commit(lambda: time.sleep(2.5))
        return assign(run=run)

    monkeypatch.setattr(endpoints, "live_run_rank_assign", slow_first_answer)
    token = _token("3.3.2", org_a)
    endpoint = f"{live_server.url}/api/codecarbon"
    completed = run_tracker(
        "3.3.2", workdir=tmp_path, api_endpoint=endpoint, api_key=token, experiment_id=EXPERIMENT,
        project_name="llm", seconds=6,
    )  # fmt: skip
    result = tracker_result(completed)
    runs = {run.external_id: run for run in Run.objects.for_org(org_a)}
    assert answered[0] in runs and result["api_run_id"] != answered[0]  # the client knows only a later run
    # Its retries may wait behind the slow first answer and time out too: every run but one is left empty.
    [counted] = [run for run in runs.values() if run.rank_of_id is None]
    assert counted.external_id == result["api_run_id"] and "rank_first_reassigned" in counted.flags
    empty = [run for run in runs.values() if run.pk != counted.pk]
    assert empty and all(run.rank_of == counted and not run.samples.exists() for run in empty)
    assert all(run.energy_kwh == 0 for run in empty)
    samples_kwh = sum(sample.energy_kwh for sample in counted.samples.all())
    assert samples_kwh > 0 and counted.energy_kwh == pytest.approx(samples_kwh, rel=1e-12)
    # Its emissions.csv, imported later, joins the run that counts (by experiment and time: 3.3.2 writes no id).
    batch = _import(org_a, "codecarbon_csv", (tmp_path / "emissions.csv").read_bytes(), "emissions.csv")
    assert (batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (0, 1, 0)
    [row] = read_csv_rows(tmp_path / "emissions.csv")
    counted.refresh_from_db()
    assert counted.energy_kwh == pytest.approx(max(float(row["energy_consumed"]), samples_kwh), rel=1e-12)
    assert sum(run.energy_kwh for run in Run.objects.for_org(org_a)) == counted.energy_kwh  # the run, once
