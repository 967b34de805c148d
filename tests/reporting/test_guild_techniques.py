"""Measured savings of efficiency techniques, like for like, on hand-set runs of org A's a-project.

Every figure is computed by hand in the comments. The rule (reporting/guild/techniques.py): per group (same
kind and GPU model), baseline rate = Σ baseline quantity ÷ Σ baseline units; expected = rate × the tagged
runs' units; saving = 1 − Σ tagged ÷ Σ expected over the groups. Runs are 2026-07-01 unless said.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from emissions.choices import RunKind
from emissions.models import FactorDataset, HourlyIntensity
from emissions.periods import period_parse
from reporting.guild.techniques import TOO_FEW_FOR_INTERVAL, technique_savings
from tests.factories import GridZoneFactory, RunFactory, SiteFactory
from tests.frontend.dashboard_data import calculation_add, record_add

Q3 = period_parse("2026-Q3")
JULY_1 = datetime(2026, 7, 1, tzinfo=UTC)


def _run(
    project,
    *,
    kwh,
    techniques=(),
    kind=RunKind.TRAINING,
    gpu="A100",
    gpus=4,
    hours=2.0,
    start=JULY_1,
    tokens=None,
    inferences=None,
    **extra,
):
    """A run of ``kwh`` IT energy on ``gpus`` × ``hours`` GPU-hours (8 by default)."""
    return RunFactory(
        organization=project.organization,
        project=project,
        kind=kind,
        gpu_model=gpu,
        gpu_count=gpus,
        energy_kwh=kwh,
        efficiency_techniques=list(techniques),
        started_at=start,
        ended_at=start + timedelta(hours=hours),
        duration_s=hours * 3600,
        tokens_processed=tokens,
        inferences_count=inferences,
        **extra,
    )


@pytest.fixture
def project(org_a):
    return org_a.projects.get(slug="a-project")


def _row(project, technique):
    rows = {row["technique"]: row for row in technique_savings(project=project, period=Q3)}
    return rows[technique]


def test_token_and_gpu_hour_groups_are_each_compared_in_their_own_unit(project):
    # A100 training, every run declares tokens → kWh per 1M tokens.
    #   baseline 10 kWh / 1M and 30 kWh / 2M: rate 40 ÷ 3 = 13.333 kWh per 1M tokens (a ratio of sums, not
    #   the mean of ratios 12.5); tagged 8 kWh / 1M → expected 13.333 kWh.
    _run(project, kwh=10.0, tokens=1_000_000)
    _run(project, kwh=30.0, tokens=2_000_000)
    _run(project, kwh=8.0, tokens=1_000_000, techniques=["mixed_precision"])
    # H100 training, no tokens → kWh per GPU-hour. Baseline 100 kWh / 8 GPU-h twice: 12.5 kWh per GPU-hour;
    # tagged 150 kWh on 8 GPUs × 2 h = 16 GPU-h → expected 200 kWh.
    _run(project, kwh=100.0, gpu="H100")
    _run(project, kwh=100.0, gpu="H100")
    _run(project, kwh=150.0, gpu="H100", gpus=8, techniques=["mixed_precision"])
    row = _row(project, "mixed_precision")
    # Saving = 1 − (8 + 150) ÷ (40/3 + 200) = 1 − 474/640 = 25.9375 %. The old code compared the H100 group per
    # run (150 vs a mean of 100) and added it to the token group (8 vs 12.5): 1 − 158/112.5 = −40.4 %.
    assert row["saving_pct"] == pytest.approx(25.9375)
    assert (row["tagged_quantity"], row["expected_quantity"]) == (pytest.approx(158.0), pytest.approx(640 / 3))
    assert (row["quantity"], row["measure"]) == ("kWh", "kWh per 1M tokens; kWh per GPU-hour")
    assert (row["tagged_runs"], row["compared_runs"], row["not_compared_runs"], row["baseline_runs"]) == (2, 2, 0, 4)
    a100, h100 = row["groups"]
    assert (a100["gpu_model"], a100["baseline_per_unit"], a100["tagged_per_unit"]) == (
        "A100",
        pytest.approx(40 / 3),
        8.0,
    )
    assert (h100["gpu_model"], h100["baseline_per_unit"], h100["tagged_per_unit"]) == ("H100", 12.5, 9.375)
    # Each group has one tagged run: no interval, and the row says so.
    assert (row["saving_low_pct"], row["saving_high_pct"], row["interval_note"]) == (None, None, TOO_FEW_FOR_INTERVAL)


def test_work_done_per_run_counts_twice_the_inferences_for_half_again_the_energy_is_a_saving(project):
    # Inference runs declaring inferences → kWh per 1k inferences. Baseline 10 kWh / 10k twice: 1 kWh per 1k.
    # Tagged: 15 kWh / 20k twice: 0.75 kWh per 1k → expected 1 × 40 = 40 kWh, used 30: a 25 % saving. Per run
    # (the old code) it was 15 vs 10 kWh: −50 %.
    for _ in range(2):
        _run(project, kwh=10.0, kind=RunKind.INFERENCE, inferences=10_000)
        _run(project, kwh=15.0, kind=RunKind.INFERENCE, inferences=20_000, techniques=["quantization"])
    row = _row(project, "quantization")
    assert row["saving_pct"] == pytest.approx(25.0) and row["measure"] == "kWh per 1k inferences"
    # Every tagged run is at 0.75 and every baseline run at 1 kWh per 1k: every resample gives 25 %.
    assert (row["saving_low_pct"], row["saving_high_pct"]) == (pytest.approx(25.0), pytest.approx(25.0))
    assert row["interval_note"] == ""


@pytest.fixture
def hourly_site(org_a):
    """Zone HR with hourly intensity on 2026-07-01: 02 h 100, 03 h 200, 17 h and 18 h 400 g/kWh."""
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    zone = GridZoneFactory(code="HR", name="Hourly")
    for hour, value in ((2, 100.0), (3, 200.0), (17, 400.0), (18, 400.0)):
        HourlyIntensity.objects.create(
            dataset=dataset, zone=zone, hour_start=JULY_1 + timedelta(hours=hour), intensity_g_per_kwh=value
        )
    return SiteFactory(organization=org_a, slug="hr", zone=zone)


def test_carbon_aware_scheduling_is_measured_in_grams_over_the_runs_own_hours(project, hourly_site):
    # Every run: 10 kWh IT over 4 GPUs × 1 h = 4 GPU-h, so kWh per GPU-hour is the same (a kWh measure says 0 %).
    # Baseline at 17:00 and 17:30 (400 g/kWh): 4,000 g each → 8,000 g ÷ 8 GPU-h = 1,000 g per GPU-hour.
    # Tagged at 02:00 (100 g/kWh): 1,000 g; at 02:30 (half at 100, half at 200: 150 g/kWh): 1,500 g.
    # Expected 1,000 × 8 = 8,000 g; used 2,500 g → saving 1 − 2,500/8,000 = 68.75 %.
    one_hour = {"kwh": 10.0, "hours": 1.0, "site": hourly_site}
    for minutes in (17 * 60, 17 * 60 + 30):
        _run(project, start=JULY_1 + timedelta(minutes=minutes), **one_hour)
    for minutes in (2 * 60, 2 * 60 + 30):
        _run(project, start=JULY_1 + timedelta(minutes=minutes), techniques=["carbon_aware_scheduling"], **one_hour)
    row = _row(project, "carbon_aware_scheduling")
    assert row["saving_pct"] == pytest.approx(68.75)
    assert (row["tagged_quantity"], row["expected_quantity"]) == (pytest.approx(2500.0), pytest.approx(8000.0))
    assert (row["quantity"], row["measure"], row["intensity_source"]) == (
        "gCO2e",
        "gCO2e per GPU-hour",
        "hourly intensity",
    )
    # The resamples of the tagged runs range from both at 02:00 (1 − 2,000/8,000 = 75 %) to both at 02:30
    # (1 − 3,000/8,000 = 62.5 %); the baseline runs are identical.
    assert 62.5 <= row["saving_low_pct"] < 68.75 < row["saving_high_pct"] <= 75.0


def test_a_region_move_without_hourly_data_uses_the_intensity_the_ledger_applied(project, org_a):
    # Ledger: the baseline runs' electricity 12 kWh (facility) at 3.6 kg = 300 g/kWh; the moved runs' 12 kWh
    # at 0.36 kg = 30 g/kWh. IT 10 kWh each on 8 GPU-h: baseline 3,000 g, moved 300 g → saving 90 %.
    calculation = calculation_add(org_a, (Q3.start, Q3.end))
    for kg, techniques in ((3.6, []), (3.6, []), (0.36, ["region_move"]), (0.36, ["region_move"])):
        run = _run(project, kwh=10.0, techniques=techniques)
        record_add(calculation, start=date(2026, 7, 1), location=kg, energy_kwh=12.0, run=run, project=project)
    _run(project, kwh=10.0, techniques=["region_move"])  # in no calculation yet: not compared
    row = _row(project, "region_move")
    assert row["saving_pct"] == pytest.approx(90.0) and row["intensity_source"] == "ledger"
    assert (row["tagged_runs"], row["compared_runs"], row["not_compared_runs"], row["baseline_runs"]) == (3, 2, 1, 2)
    assert (row["saving_low_pct"], row["saving_high_pct"]) == (pytest.approx(90.0), pytest.approx(90.0))


def test_sample_sizes_and_a_seeded_interval(project):
    # Three tagged and three baseline A100 training runs, 8 GPU-h each: baseline 10, 12, 14 kWh (rate
    # 36/24 = 1.5 kWh per GPU-hour), tagged 6, 8, 13 kWh → expected 36, used 27: saving 25 %.
    for kwh in (10.0, 12.0, 14.0):
        _run(project, kwh=kwh)
    for kwh in (6.0, 8.0, 13.0):
        _run(project, kwh=kwh, techniques=["pruning"])
    row = _row(project, "pruning")
    assert row["saving_pct"] == pytest.approx(25.0)
    assert (row["tagged_runs"], row["compared_runs"], row["baseline_runs"]) == (3, 3, 3)
    # Seeded bootstrap (2,000 resamples, seed 24), pinned: the 2.5th and 97.5th percentiles of the resampled
    # savings, e.g. 50 % = tagged 6, 6, 6 against the baseline as it is (1 − 18/36); the same on every call.
    assert (row["saving_low_pct"], row["saving_high_pct"]) == (pytest.approx(-25 / 3), pytest.approx(50.0))
    assert _row(project, "pruning")["saving_low_pct"] == row["saving_low_pct"]


def test_runs_without_a_work_unit_are_not_compared(project):
    # A100: the tagged run declares no tokens, so the group falls back to GPU-hours for all its runs:
    # baseline 10 kWh / 8 GPU-h (1.25), tagged 5 kWh / 8 GPU-h → 50 %.
    _run(project, kwh=10.0, tokens=1_000_000)
    _run(project, kwh=5.0, techniques=["distillation"])
    # CPU-only evaluation runs: no tokens, no GPU-hours → no work unit, the group is not compared.
    _run(project, kwh=1.0, kind=RunKind.EVALUATION, gpu="", gpus=0)
    _run(project, kwh=0.5, kind=RunKind.EVALUATION, gpu="", gpus=0, techniques=["distillation"])
    # A tagged H100 run with no untagged H100 run: no baseline.
    _run(project, kwh=50.0, gpu="H100", techniques=["distillation"])
    row = _row(project, "distillation")
    assert row["saving_pct"] == pytest.approx(50.0) and row["measure"] == "kWh per GPU-hour"
    assert (row["tagged_runs"], row["compared_runs"], row["not_compared_runs"], row["baseline_runs"]) == (3, 1, 2, 1)
    only = technique_savings(project=project, period=Q3)
    assert [r["technique"] for r in only] == ["distillation"]


def test_a_technique_with_no_comparable_group_has_no_saving(project):
    _run(project, kwh=5.0, techniques=["early_stopping"])
    [row] = technique_savings(project=project, period=Q3)
    assert (row["saving_pct"], row["saving_low_pct"], row["interval_note"], row["measure"]) == (None, None, "", "—")
    assert technique_savings(project=project, period=period_parse("2025")) == []


def test_the_project_page_shows_saving_interval_sample_sizes_and_measure(client, alice, project):
    for kwh in (10.0, 12.0, 14.0):
        _run(project, kwh=kwh)
    for kwh in (6.0, 8.0, 13.0):
        _run(project, kwh=kwh, techniques=["pruning"])
    client.force_login(alice)
    html = client.get("/projects/a-project/").content.decode()
    panel = html[html.index('id="efficiency"') :]
    assert '<tr data-technique="pruning">' in panel
    assert "25.0 %" in panel and "-8.3 to 50.0 %" in panel and "3 / 3" in panel and "kWh per GPU-hour" in panel
    assert "same project, kind and GPU model, per unit of work" in panel


def test_carbon_techniques_need_hourly_data_or_a_ledger_figure(project):
    # No hourly data and no calculation holds these runs: their grams are unknown, so nothing is compared
    # (a kWh comparison would show 50 % for a technique that does not lower kWh).
    _run(project, kwh=10.0)
    _run(project, kwh=5.0, techniques=["carbon_aware_scheduling"])
    row = _row(project, "carbon_aware_scheduling")
    assert (row["compared_runs"], row["not_compared_runs"], row["saving_pct"]) == (0, 1, None)


@pytest.mark.django_db
def test_a_project_whose_runs_name_no_technique_reads_no_runs(project, django_assert_num_queries):
    for n in range(3):
        _run(project, kwh=10.0 + n)
    with django_assert_num_queries(1):  # one look-up in the index of runs with techniques, no run loaded
        assert technique_savings(project=project) == []
