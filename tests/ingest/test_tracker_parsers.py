"""Tracker file parsers, pure: the exact figures of the genuine samples, rules and file-level errors.

The batch path (store, duplicates, merges, guards) is in test_tracker_imports.py.
"""

from datetime import UTC, datetime, timedelta

import pytest

from ingest.parsers import (
    boamps_json,
    carbontracker,
    codecarbon_csv,
    codecarbon_task_csv,
    eco2ai_csv,
    hf_model_card,
    tracker_rows,
    zeus_csv,
)
from ingest.records import ParsedRow, ParseError, RowIssue
from tests.ingest.tracker_files import FIXTURES, read_fixture, zipped

CT = "carbontracker-2.4.7/"


pytestmark = pytest.mark.usefixtures("tracker_clock")


def _records(items) -> list:
    return [item.record for item in items if isinstance(item, ParsedRow)]


def _issues(items) -> dict[int, RowIssue]:
    return {item.row_number: item for item in items if isinstance(item, RowIssue)}


def test_codecarbon_332_offline_three_runs_exact_figures():
    runs = _records(codecarbon_csv.parse(read_fixture("codecarbon-3.3.2/offline_3runs/emissions.csv")))
    assert [r.project_name for r in runs] == ["llm-pretrain", "llm-finetune", "rag-serving"]
    assert [r.energy_kwh for r in runs] == [6.227274460556044e-05, 9.29821401541255e-05, 4.5904085708587755e-05]
    assert [r.cpu_energy_kwh for r in runs] == [1.7795101144444438e-05, 2.6286003359678365e-05, 1.2585298025251688e-05]
    assert [r.ram_energy_kwh for r in runs] == [4.447764346111601e-05, 6.669613679444713e-05, 3.3318787683336066e-05]
    assert [r.tracker_emissions_kg_co2e for r in runs] == [
        3.489702334951002e-06, 5.210626152097039e-06, 2.5724190590235496e-06,
    ]  # fmt: skip
    first = runs[0]
    assert first.external_id == "a8de2cb6-0b67-4cb5-9857-77e6abf74732"
    assert first.ended_at == datetime(2026, 11, 23, 13, 47, 35, tzinfo=UTC)
    assert first.started_at == first.ended_at - timedelta(seconds=8.023460759000045)
    assert (first.tracker_pue, first.country_iso3, first.cpu_model, first.cpu_count) == (1.0, "FRA", "AMD EPYC", 2)
    assert (first.gpu_count, first.gpu_utilization_pct, first.tracker_version) == (0, None, "3.3.2")
    assert runs[2].experiment_external_id == "11111111-2222-3333-4444-555555555555"


def test_codecarbon_284_older_header_and_empty_gpu_count():
    runs = _records(codecarbon_csv.parse(read_fixture("codecarbon-2.8.4/emissions.csv")))
    assert [r.energy_kwh for r in runs] == [0.0001140088553479044, 8.529207440432935e-05]
    assert [r.cpu_energy_kwh for r in runs] == [9.445793500694006e-05, 7.072176424583303e-05]
    assert {(r.gpu_energy_kwh, r.gpu_count, r.tracker_version, r.tracker_pue) for r in runs} == {(0.0, 0, "2.8.4", 1.0)}


def test_codecarbon_timezone_option_shifts_naive_timestamps():
    content = read_fixture("codecarbon-3.3.2/offline_3runs/emissions.csv")
    paris = _records(codecarbon_csv.parse(content, options={"timezone": "Europe/Paris"}))
    assert paris[0].ended_at == datetime(2026, 11, 23, 12, 47, 35, tzinfo=UTC)  # CET = UTC+1 in November
    with pytest.raises(ParseError, match="unknown timezone 'Mars/Olympus'"):
        list(codecarbon_csv.parse(content, options={"timezone": "Mars/Olympus"}))


def test_codecarbon_missing_run_id_gets_a_stable_derived_id_and_flag():
    items = list(codecarbon_csv.parse(read_fixture("edge/codecarbon_bad_rows.csv")))
    derived = items[7].record  # row 9: run_id "None"
    assert derived.external_id.startswith("derived-")
    assert derived.flags == ("tracker_run_id_missing",)
    again = list(codecarbon_csv.parse(read_fixture("edge/codecarbon_bad_rows.csv")))[7].record
    assert again.external_id == derived.external_id


def test_a_negative_component_is_dropped_and_the_others_kept():
    rows = {item.row_number: item for item in codecarbon_csv.parse(read_fixture("edge/codecarbon_bad_rows.csv"))}
    record = rows[3].record  # cpu 0.01, gpu -0.02, ram 0.005, energy_consumed 0.035 (mlco2/codecarbon#309)
    assert (record.cpu_energy_kwh, record.gpu_energy_kwh, record.ram_energy_kwh) == (0.01, 0.0, 0.005)
    assert record.energy_kwh == pytest.approx(0.015)
    assert {"negative_component_dropped", "negative_gpu_energy"} <= set(record.flags)


def test_codecarbon_bad_rows_name_row_column_and_value():
    issues = _issues(codecarbon_csv.parse(read_fixture("edge/codecarbon_bad_rows.csv")))
    expected = {
        4: ("energy_consumed", "'abc' is not a number", "abc"),
        5: ("duration", "0 is not above 0", "0"),
        6: ("timestamp", "more than a day in the future", "2026-12-01T00:00:00"),
        7: ("cpu_energy", "not a finite number", "nan"),
        8: ("energy_consumed", "is not cpu_energy + gpu_energy + ram_energy", "0.5"),
        10: ("pue", "0.9 is below 1", "0.9"),
        11: ("emissions", "not a finite number", "inf"),
        12: ("timestamp", "is not a timestamp", "23/11/2026 10:00"),
    }
    assert set(issues) == set(expected)  # row 3's negative gpu_energy is dropped, its run kept (below)
    for row_number, (column, reason, value) in expected.items():
        assert (issues[row_number].column, issues[row_number].value) == (column, value)
        assert reason in issues[row_number].reason


def test_codecarbon_truncated_empty_and_header_only_files_fail():
    with pytest.raises(ParseError, match="looks truncated"):
        list(codecarbon_csv.parse(read_fixture("edge/codecarbon_truncated.csv")))
    with pytest.raises(ParseError, match="is empty"):
        list(codecarbon_csv.parse(b""))
    with pytest.raises(ParseError, match="header but no rows"):
        list(codecarbon_csv.parse(read_fixture("codecarbon-2.8.4/emissions.csv").splitlines(keepends=True)[0]))
    with pytest.raises(ParseError, match="task CSV"):
        task = read_fixture("codecarbon-3.3.2/task_tracking/emissions_sweep-a_599e122a-0a0c-42ed-8515-20da44c6f6df.csv")
        list(codecarbon_csv.parse(task))


def test_zip_bombs_are_refused(monkeypatch):
    content = zipped(
        {
            "a.csv": read_fixture("codecarbon-2.8.4/emissions.csv"),
            "b.csv": read_fixture("codecarbon-2.8.4/emissions.csv"),
        }
    )
    monkeypatch.setattr(tracker_rows, "MAX_ARCHIVE_BYTES", 2000)
    with pytest.raises(ParseError, match="unpacks to 2,252 bytes; the limit is 2,000"):
        list(codecarbon_csv.parse(content))
    monkeypatch.setattr(tracker_rows, "MAX_ARCHIVE_MEMBERS", 1)
    with pytest.raises(ParseError, match="has 2 members; the limit is 1"):
        list(codecarbon_csv.parse(content))
    with pytest.raises(ParseError, match="not a readable ZIP"):
        list(codecarbon_csv.parse(content[:60]))


def test_codecarbon_task_csv_one_run_per_task():
    content = read_fixture("codecarbon-3.3.2/task_tracking/emissions_sweep-a_599e122a-0a0c-42ed-8515-20da44c6f6df.csv")
    runs = _records(codecarbon_task_csv.parse(content, options={"kind": "evaluation"}))
    run_id = "599e122a-0a0c-42ed-8515-20da44c6f6df"
    assert [r.external_id for r in runs] == [f"{run_id}:data-prep", f"{run_id}:train-epoch"]
    assert [r.energy_kwh for r in runs] == [3.020379498891775e-05, 4.831877497768895e-05]
    assert {(r.kind, r.tracker_pue, r.experiment_external_id, r.project_name) for r in runs} == {
        ("evaluation", None, "", "hparam-sweep")
    }
    # The tasks partition the run's cumulative emissions.csv row.
    assert sum(r.energy_kwh for r in runs) == pytest.approx(7.85225699666067e-05, rel=1e-6)


def test_carbontracker_log_dir_zip_reads_actual_figures():
    names = sorted(path.name for path in (FIXTURES / CT).iterdir())
    runs = _records(carbontracker.parse(zipped({f"logs/{name}": read_fixture(CT + name) for name in names})))
    full, interrupted = runs
    assert (full.external_id, full.energy_kwh, full.tracker_emissions_kg_co2e) == (
        "27991.807784", 0.000237004929, 0.105467193187 / 1000,
    )  # fmt: skip
    assert (full.duration_s, full.tracker_pue, full.cpu_model, full.cpu_energy_kwh) == (
        9.0,
        1.58,
        "AMD EPYC",
        0.000237004929,
    )
    assert full.started_at == datetime(2026, 11, 23, 13, 51, 26, tzinfo=UTC)
    assert (full.tracker_version, full.flags) == ("2.4.7", ())
    assert (interrupted.external_id, interrupted.energy_kwh, interrupted.duration_s) == (
        "28008.916347",
        0.000085585299,
        6.0,
    )
    assert interrupted.tracker_emissions_kg_co2e == 0.038085458047 / 1000
    assert (interrupted.cpu_model, interrupted.flags) == ("Sim CPU", ("interrupted",))


def test_carbontracker_single_output_log_uses_the_filename_option_for_its_id():
    name = "28008.916347_2026-11-23T135138Z_carbontracker_output.log"
    [named] = _records(carbontracker.parse(read_fixture(CT + name), options={"filename": name}))
    assert (named.external_id, named.tracker_pue, named.flags) == (
        "28008.916347",
        1.58,
        ("output_log_only", "tracker_pue_assumed"),
    )
    [anonymous] = _records(carbontracker.parse(read_fixture(CT + name)))
    assert anonymous.external_id.startswith("derived-") and "tracker_run_id_missing" in anonymous.flags
    with pytest.raises(ParseError, match="standard log"):
        list(carbontracker.parse(read_fixture(CT + "27991.807784_2026-11-23T135126Z_carbontracker.log")))


def test_carbontracker_prediction_without_actual_is_a_row_error():
    name = "99999.123456_2026-11-23T120000Z_carbontracker_output.log"
    [issue] = carbontracker.parse(read_fixture("edge/" + name), options={"filename": name})
    assert (issue.row_number, issue.column) == (3, "Actual consumption")
    assert "'Predicted' block but no 'Actual consumption'" in issue.reason


def test_eco2ai_epoch_rows_are_summed_once_and_plain_run_kept():
    items = list(eco2ai_csv.parse(read_fixture("eco2ai-0.3.12/emission.csv")))
    plain, epoch_1, epoch_2 = (item.record for item in items)
    assert (plain.external_id, plain.energy_kwh, plain.duration_s) == (
        "33edef8c-cc79-46d9-b2b3-e4fc15cb0076", 0.0005565075550313, 10.232521295547484,
    )  # fmt: skip
    assert (plain.tracker_emissions_kg_co2e, plain.cpu_model, plain.cpu_count, plain.gpu_count) == (
        3.758095519126569e-05, "AMD EPYC", 1, 0,
    )  # fmt: skip
    assert (plain.started_at, plain.country_iso3) == (datetime(2026, 11, 23, 13, 52, 28, tzinfo=UTC), "FRA")
    assert epoch_1 is epoch_2  # both rows carry the run's one record: loaded once, then a duplicate
    assert epoch_1.energy_kwh == 3.919943843319136e-08 + 3.9656733465847084e-08
    assert epoch_1.tracker_emissions_kg_co2e == 2.647138077393413e-09 + 2.6780192109486536e-09
    assert epoch_1.duration_s == 4.173130035400391 + 4.171380281448364
    assert epoch_1.flags == ("eco2ai_training_mode",)
    [single] = _records(eco2ai_csv.parse(read_fixture("eco2ai-0.3.12/emission_single_run.csv")))
    assert (single.energy_kwh, single.duration_s) == (0.0005567235549502386, 10.7406587600708)


def test_eco2ai_device_names():
    assert eco2ai_csv._device("AMD EPYC/1 device(s), TDP:500.0", eco2ai_csv._CPU) == ("AMD EPYC", 1)
    assert eco2ai_csv._device("NVIDIA A100 4 device(s)", eco2ai_csv._GPU) == ("NVIDIA A100", 4)
    assert eco2ai_csv._device(" 0 device(s)", eco2ai_csv._GPU) == ("", 0)


def test_zeus_energy_columns_in_joules():
    first, second = _records(zeus_csv.parse(read_fixture("edge/zeus_energy.csv")))
    assert first.external_id == "epoch-1@1795442017.748217"
    assert first.gpu_energy_kwh == pytest.approx(0.35) and first.cpu_energy_kwh == pytest.approx(0.05)
    assert (first.energy_kwh, first.gpu_count, first.duration_s) == (pytest.approx(0.4), 2, 4.000069618225098)
    assert first.started_at == datetime.fromtimestamp(1795442017.748217, UTC)
    assert second.energy_kwh == pytest.approx(0.21)


def test_zeus_timing_only_log_fails_the_batch():
    with pytest.raises(ParseError, match="this Zeus log holds timing only"):
        list(zeus_csv.parse(read_fixture("zeus-0.16.0/zeus_log.csv")))


def test_hf_model_cards_grams_to_kg_without_energy():
    [full] = _records(hf_model_card.parse(read_fixture("hf_model_cards/full_mapping_README.md")))
    assert (full.external_id, full.tracker_emissions_kg_co2e, full.energy_kwh) == (
        "acme/llm-finetune-demo",
        6.3104,
        0.0,
    )
    assert (full.kind, full.gpu_model, full.gpu_count, full.country_iso3) == (
        "fine_tuning",
        "NVIDIA H100 80GB",
        8,
        "SWE",
    )
    assert full.flags == ("emissions_only_no_energy", "time_unknown")
    assert full.started_at == datetime(2026, 11, 23, tzinfo=UTC)
    [bare] = _records(hf_model_card.parse(read_fixture("hf_model_cards/bare_number_README.md")))
    assert (bare.external_id, bare.tracker_emissions_kg_co2e) == ("acme/autotrain-ticket-router", 3.8721 / 1000)
    [issue] = hf_model_card.parse(b"---\nco2_eq_emissions:\n  emissions: -5\n---\n# acme/x\n")
    assert (issue.row_number, issue.column, issue.value) == (2, "co2_eq_emissions.emissions", "-5")
    with pytest.raises(ParseError, match="no closing"):
        list(hf_model_card.parse(b"---\nco2_eq_emissions: 3.1\n"))


def test_boamps_report_sums_measures():
    [run] = _records(
        boamps_json.parse(
            read_fixture("codecarbon-3.3.2/boamps/boamps_report_baf27cdb-0a36-4bf2-85d9-98bb6b0e3b3c.json")
        )
    )
    assert (run.external_id, run.energy_kwh, run.duration_s) == (
        "baf27cdb-0a36-4bf2-85d9-98bb6b0e3b3c", 6.009593177639112e-05, 10.013990255999488,
    )  # fmt: skip
    assert run.ended_at == datetime(2026, 11, 23, 13, 50, 4, tzinfo=UTC)
    assert (run.project_name, run.cpu_model, run.country_iso3, run.tracker_name) == (
        "llm-finetune", "AMD EPYC", "FRA", "codecarbon",
    )  # fmt: skip
    [issue] = boamps_json.parse(
        b'{"measures": [{"powerConsumption": -1, "measurementDuration": 5,'
        b' "measurementDateTime": "2026-11-23 10:00:00"}]}'
    )
    assert (issue.column, issue.value) == ("measures[0].powerConsumption", "-1")
    with pytest.raises(ParseError, match="not valid JSON"):
        list(boamps_json.parse(b'{"measures": [{"powerConsumption": 1'))
