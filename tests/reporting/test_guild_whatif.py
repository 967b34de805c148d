"""What-if replays against hand-computed values: region, start hour (hourly data and the daily profile),
GPU model (perf-per-watt table) and refresh cycle; the API."""

import csv
from datetime import UTC, date, datetime

import pytest

from emissions.choices import AssetClass, Basis, FactorKind
from emissions.models import (
    ApiToken,
    CloudRegion,
    FactorDataset,
    GridFactor,
    GridZone,
    HardwareAsset,
    HardwareModel,
    HourlyIntensity,
)
from emissions.periods import period_parse
from emissions.services.tokens import api_token_create
from reporting.guild.advice import whatif_recommendation
from reporting.guild.gpus import GPU_TABLE, gpu_spec_for
from reporting.guild.whatif import DAILY_PROFILE, hour_weights, region_replay_kg, whatif_replay
from tests.factories import GridZoneFactory, RunFactory, SiteFactory
from tests.frontend.dashboard_data import calculation_add, record_add

Q3 = period_parse("2026-Q3")


def test_region_arithmetic():
    # 100 kWh at 400 g/kWh = 40 kg; at 20 g/kWh = 2 kg: 38 kg saved.
    assert 40.0 - region_replay_kg(energy_kwh=100.0, to_intensity_g_per_kwh=20.0) == pytest.approx(38.0)


def test_hour_weights_split_a_run_over_the_hours_it_touches():
    start = datetime(2026, 7, 1, 0, 30, tzinfo=UTC)
    assert hour_weights(start=start, duration_h=1.0) == {
        datetime(2026, 7, 1, 0, tzinfo=UTC): 0.5, datetime(2026, 7, 1, 1, tzinfo=UTC): 0.5,
    }  # fmt: skip


def test_daily_profile_is_normalized_and_lowest_at_night():
    assert sum(DAILY_PROFILE) / 24 == pytest.approx(1.0)
    assert min(range(24), key=DAILY_PROFILE.__getitem__) in (1, 2, 3, 4)


def test_the_gpu_table_names_a_source_for_every_row_and_matches_tracker_names():
    with GPU_TABLE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["source"].strip() for row in rows)
    assert gpu_spec_for("NVIDIA A100-SXM4-40GB").gpu_model == "NVIDIA A100 SXM4"
    assert gpu_spec_for("NVIDIA A100 80GB PCIe").gpu_model == "NVIDIA A100 PCIe 80GB"
    assert gpu_spec_for("NVIDIA A10").gpu_model == "NVIDIA A10"
    assert gpu_spec_for("NVIDIA H100 80GB HBM3").gpu_model == "NVIDIA H100 SXM5"
    assert gpu_spec_for("NVIDIA H100 PCIe").gpu_model == "NVIDIA H100 PCIe"
    assert gpu_spec_for("NVIDIA L40S").gpu_model == "NVIDIA L40S"
    assert gpu_spec_for("nvidia l4").gpu_model == "NVIDIA L4"
    assert gpu_spec_for("AMD Instinct MI300X") is None


@pytest.fixture
def replay_org(org_a):
    """Zones HI (400 g/kWh, hourly data on 2026-07-01: 00–01 h 400, 06–07 h 100) and LO (20 g/kWh).

    Runs of a-project at site ``hi``: ``big`` 100 kWh / 40 kg from 00:00 for 2 h on A100s, with a 30 kg
    amortized share (the site's GPUs live 4 years); ``odd`` 10 kWh / 4 kg at 18:00 for 1 h on an unknown GPU.
    """
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    hi, lo = GridZoneFactory(code="HI", name="High"), GridZoneFactory(code="LO", name="Low")
    for zone, value in ((hi, 400.0), (lo, 20.0)):
        GridFactor.objects.create(dataset=dataset, zone=zone, kind=FactorKind.LOCATION, year=2026,
                                  intensity_g_per_kwh=value, source="t", licence="t")  # fmt: skip
    for hour, value in ((0, 400.0), (1, 400.0), (6, 100.0), (7, 100.0)):
        HourlyIntensity.objects.create(dataset=dataset, zone=hi, hour_start=datetime(2026, 7, 1, hour, tzinfo=UTC),
                                       intensity_g_per_kwh=value)  # fmt: skip
    site = SiteFactory(organization=org_a, slug="hi", zone=hi)
    gpu = HardwareModel.objects.create(
        name="GPU T", asset_class=AssetClass.GPU, gpu_count=1, embodied_kg_co2e=164, embodied_low_kg_co2e=150,
        embodied_high_kg_co2e=575, default_lifetime_years=5, source="t", licence="t",
    )  # fmt: skip
    HardwareAsset.objects.create(
        organization=org_a, asset_id="gpus", hardware_model=gpu, quantity=8, site=site, acquired_on=date(2025, 1, 1),
        in_service_on=date(2025, 1, 1), lifetime_years=4, embodied_kg_co2e_per_unit=200.0,
    )  # fmt: skip
    project = org_a.projects.get(slug="a-project")
    big = RunFactory(organization=org_a, project=project, site=site, external_id="big",
                     started_at=datetime(2026, 7, 1, 0, tzinfo=UTC), ended_at=datetime(2026, 7, 1, 2, tzinfo=UTC),
                     duration_s=7200, gpu_model="NVIDIA A100-SXM4-40GB")  # fmt: skip
    odd = RunFactory(organization=org_a, project=project, site=site, external_id="odd",
                     started_at=datetime(2026, 7, 2, 18, tzinfo=UTC), ended_at=datetime(2026, 7, 2, 19, tzinfo=UTC),
                     duration_s=3600, gpu_model="AMD Instinct MI300X")  # fmt: skip
    old = calculation_add(org_a, (Q3.start, Q3.end))
    record_add(old, start=date(2026, 7, 1), location=999.0, energy_kwh=999.0, run=big, project=project)
    current = calculation_add(org_a, (Q3.start, Q3.end))
    old.superseded_by = current
    old.save(update_fields=["superseded_by"])
    owner = {"project": project, "team": project.team, "site": site}
    record_add(current, start=date(2026, 7, 1), location=40.0, energy_kwh=100.0, run=big, **owner)
    record_add(current, start=date(2026, 7, 1), location=5.0, scope=3, scope3_category=3, run=big, **owner)
    record_add(current, start=date(2026, 7, 1), location=30.0, scope=3, scope3_category=2,
               basis=Basis.EMBODIED_AMORTIZED, run=big, **owner)  # fmt: skip
    record_add(current, start=date(2026, 7, 2), location=4.0, energy_kwh=10.0, run=odd, **owner)
    return project


def _replay(project, scenario, **options):
    result = whatif_replay(organization=project.organization, project=project, period=Q3, scenario=scenario,
                           options=options)  # fmt: skip
    return result, {run.external_id: run for run in result.runs}


def test_region_move_saves_38_kg_on_100_kwh_from_400_to_20_g(replay_org):
    result, runs = _replay(replay_org, "region", zone="lo")
    assert (runs["big"].baseline_kg_co2e, runs["big"].replay_kg_co2e) == (40.0, 2.0)
    assert runs["big"].saved_kg_co2e == pytest.approx(38.0)  # the superseded calculation is ignored
    assert runs["odd"].replay_kg_co2e == pytest.approx(0.2)  # 10 kWh × 20 g
    assert result.saved_kg_co2e == pytest.approx(38.0 + 3.8)
    assert result.saved_pct == pytest.approx(100 * 41.8 / 44.0)
    assert any("location-based factor" in line for line in result.assumptions)


def test_region_move_to_a_site_or_cloud_region_applies_its_pue(replay_org):
    SiteFactory(organization=replay_org.organization, slug="lo-dc", name="Low DC", zone=GridZone.objects.get(code="LO"),
                pue=1.1)  # fmt: skip
    dataset = FactorDataset.objects.get(name="t")
    CloudRegion.objects.create(dataset=dataset, provider="aws", region="eu-north-1", pue=1.2, intensity_g_per_kwh=10.0,
                               licence="t")  # fmt: skip
    _, runs = _replay(replay_org, "region", zone="site:lo-dc")
    # 100 facility kWh at PUE 1.25 = 80 kWh IT → × 1.1 = 88 kWh × 20 g = 1.76 kg.
    assert runs["big"].replay_kg_co2e == pytest.approx(1.76)
    assert "PUE 1.25 → 1.1" in runs["big"].note
    # The cloud region has no grid zone: its published 10 g/kWh, 80 kWh × 1.2 = 96 kWh → 0.96 kg.
    _, runs = _replay(replay_org, "region", zone="cloud:aws:eu-north-1")
    assert runs["big"].replay_kg_co2e == pytest.approx(0.96)
    with pytest.raises(ValueError, match="no site"):
        _replay(replay_org, "region", zone="site:nowhere")


def test_hour_shift_uses_hourly_intensity_where_present_else_the_daily_profile(replay_org):
    result, runs = _replay(replay_org, "hour", shift_h="6")
    assert runs["big"].replay_kg_co2e == pytest.approx(10.0)  # 40 kg × 100 / 400
    assert runs["big"].note == "hourly intensity of the zone"
    # 18:00 → 00:00 on the next day: no hourly data for those hours, the profile's ratio applies.
    assert runs["odd"].replay_kg_co2e == pytest.approx(4.0 * DAILY_PROFILE[0] / DAILY_PROFILE[18])
    assert runs["odd"].note == "daily profile (no hourly data)"
    assert any("stylized daily profile" in line for line in result.assumptions)


def test_gpu_swap_scales_energy_by_perf_per_watt(replay_org):
    result, runs = _replay(replay_org, "gpu", gpu="NVIDIA H100 SXM5")
    # A100 SXM4: 312 TFLOPS / 400 W = 0.78; H100 SXM5: 989 / 700 = 1.41286 → 40 × 0.78 / 1.41286 = 22.083 kg.
    assert runs["big"].replay_kg_co2e == pytest.approx(22.0829, abs=1e-3)
    assert runs["odd"].replay_kg_co2e == 4.0 and "not in the table" in runs["odd"].note
    assert any("gpu_perf_per_watt.csv" in line for line in result.assumptions)


def test_refresh_cycle_rescales_the_amortized_share(replay_org):
    result, runs = _replay(replay_org, "refresh", lifetime_years="6")
    assert (runs["big"].baseline_kg_co2e, runs["big"].replay_kg_co2e) == (30.0, pytest.approx(20.0))  # 30 × 4/6
    assert runs["odd"].baseline_kg_co2e == 0.0 and runs["odd"].note == "no amortized embodied share"
    assert result.saved_kg_co2e == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("scenario", "options", "message"),
    [
        ("teleport", {}, "unknown scenario"),
        ("region", {}, "needs zone"),
        ("region", {"zone": "ZZ"}, "no location-based factor"),
        ("hour", {"shift_h": "0"}, "non-zero"),
        ("gpu", {"gpu": "abacus"}, "needs gpu"),
        ("refresh", {"lifetime_years": "100"}, "between"),
    ],
)
def test_bad_replays_say_why(replay_org, scenario, options, message):
    with pytest.raises(ValueError, match=message):
        _replay(replay_org, scenario, **options)


def test_recommendation_names_the_cleanest_window(replay_org):
    advice = whatif_recommendation(organization=replay_org.organization, project=replay_org, period=Q3)
    # Candidates are the organization's zones (HI only here). Its 4 hourly values are far from 7 per hour of day
    # (tests/reporting/test_guild_advice.py): the annual factor × the daily profile, at UTC (no time zone on file).
    assert advice["zone"] == "HI"
    assert advice["text"].startswith("Run in HI between")
    assert advice["source"].startswith("annual factor × daily profile")


def test_the_api_replays_for_a_read_token(client, replay_org):
    _, token = api_token_create(organization=replay_org.organization, project=replay_org, name="ci",
                                scope=ApiToken.Scope.READ)  # fmt: skip
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = client.get("/api/v1/what-if?project=a-project&period=2026-Q3&scenario=region&zone=LO", **headers).json()
    assert (body["baseline_kg_co2e"], body["replay_kg_co2e"], body["saved_kg_co2e"]) == (44.0, 2.2, 41.8)
    assert [run["external_id"] for run in body["runs"]] == ["big", "odd"]
    assert body["recommendation"]["zone"] == "HI" and body["assumptions"]
    bad = client.get("/api/v1/what-if?project=a-project&period=2026-Q3&scenario=x", **headers)
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/what-if?project=a-project&period=2026-Q3&scenario=hour&shift_h=nan",
        "/api/v1/what-if?project=a-project&period=2026-Q3&scenario=refresh&lifetime_years=inf",
        "/api/v1/what-if?project=a-project&period=2026-Q3&scenario=gpu&gpu=(((",
        "/api/v1/what-if?project=a-project&period=2026-Q3&scenario=region&zone=cloud:",
        "/api/v1/what-if?project=a-project&scenario=region&zone=LO",
        "/api/v1/what-if?project=%00&period=2026-Q3",
        "/api/v1/leaderboard?period=2026-Q3&metric=&entity=",
        "/api/v1/what-if?project=a-project&period=2026-Q3&scenario=region&zone=site:%00",
        "/api/v1/budget-check?project=%00",
        "/what-if/?project=%00",
        "/leaderboard/?period=%00",
        "/budgets/?period=%00",
    ],
)
def test_odd_queries_get_4xx_not_5xx(client, alice, replay_org, query):
    client.force_login(alice)
    assert 400 <= client.get(query).status_code < 500
