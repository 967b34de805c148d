"""Tracker files through the batch path: runs, projects, flags, tracker figures, re-imports as duplicates,
multi-rank merges without double counting, options and the guards of ingest.loaders.

Parser-level figures and file errors are in test_tracker_parsers.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from emissions.models import Project, Run
from ingest.models import ImportBatch
from ingest.parsers import PARSERS, tracker_rows
from ingest.services import import_batch_create, import_batch_process
from tests.factories import SiteFactory
from tests.ingest.tracker_files import FIXTURES, NOW, read_fixture, zipped

OFFLINE = "codecarbon-3.3.2/offline_3runs/emissions.csv"
CT = FIXTURES / "carbontracker-2.4.7"
TRACKER_SOURCES = ["codecarbon_csv", "codecarbon_task_csv", "carbontracker", "eco2ai_csv", "zeus_csv",
                   "hf_model_card", "boamps_json"]  # fmt: skip


pytestmark = pytest.mark.usefixtures("tracker_clock")


def _ranks(folder: str) -> bytes:
    return zipped({path.name: path.read_bytes() for path in sorted((FIXTURES / "edge" / folder).iterdir())})


def _import(org, source: str, content: bytes, filename: str = "upload", **options) -> ImportBatch:
    batch = import_batch_create(organization=org, source=source, filename=filename, content=content, options=options)
    return import_batch_process(batch=batch)


def _counts(batch: ImportBatch) -> tuple[str, int, int, int, int]:
    return batch.status, batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected


def _energy(org, source: str) -> float:
    return Run.objects.for_org(org).filter(source=source).aggregate(total=Sum("energy_kwh"))["total"]


def _errors(batch: ImportBatch) -> dict[int, str]:
    return {error.row_number: error.reason for error in batch.row_errors.all()}


def test_every_tracker_source_is_registered_with_options():
    for source in TRACKER_SOURCES:
        assert PARSERS[source].takes_options, source


def test_codecarbon_332_import_creates_runs_projects_and_flags(org_a, media_root):
    batch = _import(org_a, "codecarbon_csv", read_fixture(OFFLINE))
    assert _counts(batch) == ("done", 3, 3, 0, 0)
    runs = {run.project.slug: run for run in Run.objects.for_org(org_a).select_related("project", "experiment")}
    assert set(runs) == {"llm-pretrain", "llm-finetune", "rag-serving"}
    assert Project.objects.for_org(org_a).filter(slug__in=runs).count() == 3
    assert runs["llm-pretrain"].flags == ["default_experiment_id"]
    assert runs["llm-finetune"].flags == ["default_experiment_id"]
    assert runs["rag-serving"].flags == []
    assert runs["rag-serving"].experiment.external_id == "11111111-2222-3333-4444-555555555555"
    assert runs["llm-pretrain"].tracker_emissions_kg_co2e == 3.489702334951002e-06
    assert runs["llm-pretrain"].source_batch_id == batch.pk
    total = _energy(org_a, "codecarbon_csv")
    assert total == pytest.approx(6.227274460556044e-05 + 9.29821401541255e-05 + 4.5904085708587755e-05)
    again = _import(org_a, "codecarbon_csv", read_fixture(OFFLINE))
    assert _counts(again) == ("done", 3, 0, 3, 0)
    assert _energy(org_a, "codecarbon_csv") == total


def test_codecarbon_284_and_project_option(org_a, media_root):
    batch = _import(org_a, "codecarbon_csv", read_fixture("codecarbon-2.8.4/emissions.csv"), project="a-project")
    assert _counts(batch) == ("done", 2, 2, 0, 0)
    runs = Run.objects.for_org(org_a).order_by("started_at")
    assert {run.project.slug for run in runs} == {"a-project"}
    assert [run.energy_kwh for run in runs] == [0.0001140088553479044, 8.529207440432935e-05]
    assert {run.tracker_version for run in runs} == {"2.8.4"}


def test_timezone_option_is_applied_at_import(org_a, media_root):
    _import(org_a, "codecarbon_csv", read_fixture(OFFLINE), timezone="Europe/Paris")
    run = Run.objects.for_org(org_a).get(external_id="a8de2cb6-0b67-4cb5-9857-77e6abf74732")
    assert run.ended_at == datetime(2026, 11, 23, 12, 47, 35, tzinfo=UTC)
    failed = _import(org_a, "codecarbon_csv", read_fixture(OFFLINE), timezone="Nowhere/Else")
    assert failed.status == "failed" and "unknown timezone" in failed.error


def test_bad_rows_are_rejected_and_good_rows_load(org_a, media_root):
    batch = _import(org_a, "codecarbon_csv", read_fixture("edge/codecarbon_bad_rows.csv"))
    assert _counts(batch) == ("partial", 11, 3, 0, 8)
    assert set(_errors(batch)) == {4, 5, 6, 7, 8, 10, 11, 12}
    derived = Run.objects.for_org(org_a).get(external_id__startswith="derived-")
    assert derived.flags == ["tracker_run_id_missing"]
    truncated = _import(org_a, "codecarbon_csv", read_fixture("edge/codecarbon_truncated.csv"))
    assert truncated.status == "failed" and "truncated" in truncated.error


def test_rank_zip_in_process_mode_sums_each_job(org_a, media_root):
    batch = _import(org_a, "codecarbon_csv", _ranks("ranks_process"), merge_ranks=True)
    assert _counts(batch) == ("done", 4, 2, 2, 0)
    first, second = Run.objects.for_org(org_a).order_by("started_at")
    assert first.external_id.startswith("ranks-")
    assert (first.energy_kwh, first.gpu_energy_kwh, first.gpu_count) == (pytest.approx(1.4), pytest.approx(1.1), 2)
    assert first.tracker_emissions_kg_co2e == pytest.approx(0.07)
    assert (first.gpu_utilization_pct, first.flags) == (80.0, ["multi_rank_gpus_summed", "multi_rank_merged"])
    assert (second.energy_kwh, second.duration_s) == (pytest.approx(2.7), 7201.0)
    again = _import(org_a, "codecarbon_csv", _ranks("ranks_process"), merge_ranks=True)
    assert _counts(again) == ("done", 4, 0, 4, 0)
    assert _energy(org_a, "codecarbon_csv") == pytest.approx(4.1)


def test_rank_zip_without_the_option_is_merged_by_host_and_time(org_a, media_root):
    batch = _import(org_a, "codecarbon_csv", _ranks("ranks_process"))
    assert _counts(batch) == ("done", 4, 2, 2, 0)  # the ranks start and stop together on one host
    assert _energy(org_a, "codecarbon_csv") == pytest.approx(4.1)  # process mode: the rank runs add up too


def test_rank_zip_in_machine_mode_is_not_double_counted(org_a, media_root):
    batch = _import(org_a, "codecarbon_csv", _ranks("ranks_machine"), merge_ranks="true")
    assert _counts(batch) == ("done", 2, 1, 1, 0)
    [run] = Run.objects.for_org(org_a)
    assert (run.energy_kwh, run.gpu_count, run.tracker_emissions_kg_co2e) == (1.55, 2, 0.0775)
    flags = ["multi_rank_gpus_shared", "multi_rank_machine_mode", "multi_rank_merged"]
    assert (run.tracker_pue, run.flags) == (1.2, flags)  # 2 ranks each saw both GPUs: counted once


def test_rank_merge_refuses_mixed_modes_and_misaligned_files(org_a, media_root):
    process = (FIXTURES / "edge/ranks_process/emissions_0.csv").read_bytes()
    machine = (FIXTURES / "edge/ranks_machine/emissions_1.csv").read_bytes()
    batch = _import(org_a, "codecarbon_csv", zipped({"r0.csv": process, "r1.csv": machine}), merge_ranks=True)
    assert _counts(batch) == ("partial", 3, 0, 0, 3)
    assert "mix tracking modes (machine, process)" in _errors(batch)[2]
    assert "run 2 is missing from r1.csv" in _errors(batch)[3]


def test_task_csv_import_and_the_cumulative_row_is_refused_afterwards(org_a, media_root):
    task = read_fixture("codecarbon-3.3.2/task_tracking/emissions_sweep-a_599e122a-0a0c-42ed-8515-20da44c6f6df.csv")
    assert _counts(_import(org_a, "codecarbon_task_csv", task)) == ("done", 2, 2, 0, 0)
    assert _counts(_import(org_a, "codecarbon_task_csv", task)) == ("done", 2, 0, 2, 0)
    cumulative = _import(org_a, "codecarbon_csv", read_fixture("codecarbon-3.3.2/task_tracking/emissions.csv"))
    assert _counts(cumulative) == ("partial", 1, 0, 0, 1)
    assert "already stored split into tasks from codecarbon_task_csv" in _errors(cumulative)[2]


def test_boamps_import_and_its_csv_row_are_one_run(org_a, media_root):
    report = read_fixture("codecarbon-3.3.2/boamps/boamps_report_baf27cdb-0a36-4bf2-85d9-98bb6b0e3b3c.json")
    assert _counts(_import(org_a, "boamps_json", report)) == ("done", 1, 1, 0, 0)
    run = Run.objects.for_org(org_a).get()
    assert (run.energy_kwh, run.project.slug, run.tracker_name) == (6.009593177639112e-05, "llm-finetune", "codecarbon")
    assert _counts(_import(org_a, "boamps_json", report)) == ("done", 1, 0, 1, 0)
    csv_batch = _import(org_a, "codecarbon_csv", read_fixture("codecarbon-3.3.2/boamps/emissions.csv"))
    assert csv_batch.rows_rejected == 0
    run = Run.objects.for_org(org_a).get()  # the CSV row is the same run: merged, not counted again
    assert run.energy_kwh == 6.009593177639112e-05 and run.aliases.get().source == "codecarbon_csv"
    assert _counts(_import(org_a, "codecarbon_csv", read_fixture("codecarbon-3.3.2/boamps/emissions.csv")))[3] == 1


def test_carbontracker_log_dir_zip(org_a, media_root):
    content = zipped({path.name: path.read_bytes() for path in sorted(CT.iterdir())})
    unassigned = _import(org_a, "carbontracker", content)
    assert _counts(unassigned) == ("partial", 2, 0, 0, 2)
    assert "no project" in _errors(unassigned)[11]
    batch = _import(org_a, "carbontracker", content, project="a-project")
    assert _counts(batch) == ("done", 2, 2, 0, 0)
    runs = {run.external_id: run for run in Run.objects.for_org(org_a)}
    assert (runs["27991.807784"].energy_kwh, runs["27991.807784"].tracker_pue) == (0.000237004929, 1.58)
    assert runs["27991.807784"].tracker_emissions_kg_co2e == pytest.approx(0.000105467193187)
    assert runs["28008.916347"].flags == ["interrupted"]
    assert _counts(_import(org_a, "carbontracker", content, project="a-project")) == ("done", 2, 0, 2, 0)
    name = "99999.123456_2026-11-23T120000Z_carbontracker_output.log"
    predicted = (FIXTURES / "edge" / name).read_bytes()
    folder = zipped({name: predicted, **{p.name: p.read_bytes() for p in CT.iterdir()}})
    mixed = _import(org_a, "carbontracker", folder, project="a-project")
    assert _counts(mixed) == ("partial", 3, 0, 2, 1)


def test_an_output_log_after_its_log_directory_never_replaces_the_richer_run(org_a, media_root):
    content = zipped({path.name: path.read_bytes() for path in sorted(CT.iterdir())})
    _import(org_a, "carbontracker", content, project="a-project")
    rich = Run.objects.for_org(org_a).get(external_id="27991.807784")
    name = "27991.807784_2026-11-23T135126Z_carbontracker_output.log"
    alone = _import(org_a, "carbontracker", (CT / name).read_bytes(), filename=name, project="a-project")
    assert _counts(alone) == ("done", 1, 0, 1, 0)  # nothing it has is new
    run = Run.objects.for_org(org_a).get(external_id="27991.807784")
    assert (run.cpu_energy_kwh, run.gpu_energy_kwh, run.flags) == (rich.cpu_energy_kwh, rich.gpu_energy_kwh, [])
    assert run.tracker_version == rich.tracker_version != ""


def test_eco2ai_epochs_load_once_and_reimport_is_duplicate(org_a, media_root):
    batch = _import(org_a, "eco2ai_csv", read_fixture("eco2ai-0.3.12/emission.csv"))
    assert _counts(batch) == ("done", 3, 2, 1, 0)
    training = Run.objects.for_org(org_a).get(external_id="60d26fe9-b4fe-4005-a60d-b48702ccfd3e")
    assert training.energy_kwh == 3.919943843319136e-08 + 3.9656733465847084e-08
    assert (training.project.slug, training.flags) == ("hparam-sweep", ["eco2ai_training_mode"])
    total = _energy(org_a, "eco2ai_csv")
    assert _counts(_import(org_a, "eco2ai_csv", read_fixture("eco2ai-0.3.12/emission.csv"))) == ("done", 3, 0, 3, 0)
    assert _energy(org_a, "eco2ai_csv") == total


def test_eco2ai_bad_rows_reject_their_whole_run(org_a, media_root):
    batch = _import(org_a, "eco2ai_csv", read_fixture("edge/eco2ai_bad_rows.csv"))
    assert _counts(batch) == ("partial", 7, 2, 1, 4)
    errors = _errors(batch)
    assert "power_consumption(kWh) -0.5 is below the minimum 0" in errors[3]
    assert "duration(s) 'ten' is not a number" in errors[4]
    assert "row 6 was rejected" in errors[5] and "duration(s) -1 is not above 0" in errors[6]
    copied = Run.objects.for_org(org_a).get(external_id="e0000000-0000-0000-0000-000000000005")
    assert copied.energy_kwh == 0.2  # the verbatim copy is not added
    good = Run.objects.for_org(org_a).get(external_id="e0000000-0000-0000-0000-000000000001")
    assert (good.gpu_model, good.gpu_count, good.country_iso3) == ("NVIDIA A100", 4, "DEU")


def test_zeus_energy_log_and_timing_only_log(org_a, media_root):
    batch = _import(org_a, "zeus_csv", read_fixture("edge/zeus_energy.csv"), project="a-project", kind="fine_tuning")
    assert _counts(batch) == ("done", 2, 2, 0, 0)
    assert _energy(org_a, "zeus_csv") == pytest.approx(0.61)
    assert set(Run.objects.for_org(org_a).values_list("kind", flat=True)) == {"fine_tuning"}
    failed = _import(org_a, "zeus_csv", read_fixture("zeus-0.16.0/zeus_log.csv"), project="a-project")
    assert failed.status == "failed" and "timing only" in failed.error


def test_hf_model_card_keeps_its_date_on_reimport(org_a, media_root, monkeypatch):
    content = read_fixture("hf_model_cards/full_mapping_README.md")
    assert _counts(_import(org_a, "hf_model_card", content, project="a-project")) == ("done", 1, 1, 0, 0)
    run = Run.objects.for_org(org_a).get()
    assert (run.energy_kwh, run.tracker_emissions_kg_co2e) == (0.0, 6.3104)
    assert run.flags == ["emissions_only_no_energy", "time_unknown"]
    monkeypatch.setattr(tracker_rows, "utc_now", lambda: NOW + timedelta(days=40))
    assert _counts(_import(org_a, "hf_model_card", content, project="a-project")) == ("done", 1, 0, 1, 0)
    assert Run.objects.for_org(org_a).get().started_at == datetime(2026, 11, 23, tzinfo=UTC)


def test_team_and_site_options(org_a, org_b, media_root):
    unknown = _import(org_a, "codecarbon_csv", read_fixture(OFFLINE), team="b-team")
    assert _counts(unknown) == ("partial", 3, 0, 0, 3)
    assert "unknown team 'b-team'" in _errors(unknown)[2]
    SiteFactory(organization=org_b, slug="b-site")
    assert "unknown site 'b-site'" in _errors(_import(org_a, "codecarbon_csv", read_fixture(OFFLINE), site="b-site"))[2]
    site = SiteFactory(organization=org_a, slug="paris-dc")
    batch = _import(org_a, "codecarbon_csv", read_fixture(OFFLINE), team="a-team", site="paris-dc", project="new-work")
    assert _counts(batch) == ("done", 3, 3, 0, 0)
    project = Project.objects.for_org(org_a).get(slug="new-work")
    assert project.team.slug == "a-team"
    assert set(Run.objects.for_org(org_a).values_list("site", "project")) == {(site.pk, project.pk)}
    assert not Run.objects.for_org(org_b).exists()


AUTOTRAIN_CARD = """---
tags:
- autotrain
co2_eq_emissions:
  emissions: {grams}
---

# Model Trained Using AutoTrain

- Problem type: Binary Classification
"""


def test_autotrain_cards_need_their_repository_id_and_never_overwrite_each_other(org_a, media_root):
    first = AUTOTRAIN_CARD.format(grams=12.5).encode()
    refused = _import(org_a, "hf_model_card", first, project="a-project")
    assert refused.status == "failed" and "model_id option" in refused.error and "AutoTrain" in refused.error
    for model_id, grams in (("someone/sentiment-a", 12.5), ("someone/sentiment-b", 40.0)):
        card = AUTOTRAIN_CARD.format(grams=grams).encode()
        assert _import(org_a, "hf_model_card", card, project="a-project", model_id=model_id).rows_loaded == 1
    runs = dict(Run.objects.for_org(org_a).values_list("external_id", "tracker_emissions_kg_co2e"))
    assert runs == {"someone/sentiment-a": 0.0125, "someone/sentiment-b": 0.04}


def test_a_card_of_another_model_under_the_same_name_is_refused_an_update_replaces(org_a, media_root):
    card = read_fixture("hf_model_cards/full_mapping_README.md").decode()
    _import(org_a, "hf_model_card", card.encode(), project="a-project")
    updated = card.replace("emissions: 6310.4", "emissions: 6400.0")  # the same model, a corrected figure
    assert _counts(_import(org_a, "hf_model_card", updated.encode(), project="a-project"))[2] == 1
    other = updated.replace("8 x NVIDIA H100 80GB", "1 x NVIDIA T4")  # another model's card, same heading
    batch = _import(org_a, "hf_model_card", other.encode(), project="a-project")
    [reason] = _errors(batch).values()
    assert batch.rows_rejected == 1 and "hardware_used differ" in reason and "--model-id" in reason
    assert Run.objects.for_org(org_a).get().tracker_emissions_kg_co2e == 6.4
