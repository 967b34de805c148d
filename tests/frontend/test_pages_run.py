"""The run page: samples timeline, factors used, our figure beside the tracker's, provenance."""

import re
from datetime import UTC, datetime

import pytest

from emissions.models import EmissionRecord, RunSample
from reporting.rollups import rollup_refresh
from reporting.selectors.run import run_dashboard
from tests.factories import RunFactory
from tests.frontend.dashboard_data import small_ledger_create

FACTOR = {"id": 7, "value": 300.0, "unit": "gCO2e/kWh", "kind": "location", "zone": "DE", "period": "2026",
          "dataset": "ember-test 2026.1", "flags": []}  # fmt: skip


@pytest.fixture
def run(org_a):
    """The hand-computed ledger's q3-run with two samples, tracker figures, a batch row and a factor."""
    calculations = small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    run = org_a.runs.get(external_id="q3-run")
    run.tracker_emissions_kg_co2e, run.tracker_intensity_g_per_kwh, run.tracker_name = 250.0, 380.0, "codecarbon"
    run.source_batch_id, run.source_row, run.gpu_model = 41, 3, "NVIDIA A100"
    run.site = org_a.sites.get(slug="lab")
    run.save()
    EmissionRecord.objects.filter(run=run, scope=2).update(factors={"location": FACTOR},
                                                           factor_dataset_version="ember-test 2026.1")  # fmt: skip
    for minute, (gpu_w, kwh) in enumerate([(200.0, 0.5), (400.0, 0.25)]):
        RunSample.objects.create(run=run, recorded_at=datetime(2026, 7, 10, 8, minute, tzinfo=UTC),
                                 dedupe_key=f"s{minute}", duration_s=60, energy_kwh=kwh, gpu_power_w=gpu_w,
                                 cpu_power_w=50.0, ram_power_w=10.0)  # fmt: skip
    run.calculation = calculations["q3"]
    return run


@pytest.mark.django_db
def test_run_dashboard_hand_computed(run):
    data = run_dashboard(organization=run.organization, run=run)
    facts = data.facts
    assert facts["ours_kg_co2e_location"] == pytest.approx(350.0)  # Scope 2 300 + Cat 3 50 kg
    assert facts["ours_kg_co2e_market"] == pytest.approx(150.0)
    assert facts["tracker_kg_co2e"] == 250.0 and facts["difference_kg_co2e"] == pytest.approx(100.0)
    assert facts["calculation"] == run.calculation and facts["gpu_hours"] == pytest.approx(8.0)
    scope2 = next(line for line in facts["lines"] if line["record"].scope == 2)
    assert scope2["factors"] == [{"name": "location", "value": "300", "unit": "gCO2e/kWh", "zone": "DE",
                                  "period": "2026", "dataset": "ember-test 2026.1", "id": 7}]  # fmt: skip
    energy = data.charts["energy"]
    assert list(energy["cumulative_energy_kwh"]) == pytest.approx([0.5, 0.75])
    assert list(data.charts["power"]["gpu_power_w"]) == [200.0, 400.0]
    comparison = data.charts["ours_vs_tracker"].set_index("figure")["emissions_kg_co2e"].to_dict()
    assert comparison == {"GreenGuild, location-based": 350.0, "GreenGuild, market-based": 150.0,
                          "Tracker (codecarbon)": 250.0}  # fmt: skip


@pytest.mark.django_db
def test_run_page_shows_provenance_and_charts(client, alice, run):
    client.force_login(alice)
    response = client.get(f"/runs/{run.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-kpi="ours">350.000<' in page and 'data-kpi="tracker">250.000<' in page
    assert 'data-kpi="difference">100.000<' in page
    assert "import batch" in page and "#41</a> row 3" in page
    assert f"#{run.calculation.pk}, 2026-07-01 to 2026-09-30, methodology test" in page
    assert "location: 300 gCO2e/kWh · DE · 2026 · ember-test 2026.1 · factor #7" in page
    assert "4 × NVIDIA A100" in page and "Lab" in page
    for chart in ("power", "energy", "ours_vs_tracker"):
        assert f'id="chart-{chart}-data"' in page
    csv_text = client.get(f"/runs/{run.pk}/", {"download": "energy"}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "recorded_at,energy_kwh,cumulative_energy_kwh"


@pytest.mark.django_db
def test_a_run_without_samples_or_ledger_says_how_to_get_data_in(client, alice, org_a):
    bare = RunFactory(organization=org_a, project=org_a.projects.get(), external_id="bare")
    client.force_login(alice)
    page = client.get(f"/runs/{bare.pk}/").content.decode()
    assert "No samples for this run" in page and "api_call_interval" in page and "/api/codecarbon/" in page
    assert "not computed yet" in page and "data-chart=" not in page


@pytest.mark.django_db
def test_another_organizations_run_is_404(client, charlie, run):
    client.force_login(charlie)
    assert client.get(f"/runs/{run.pk}/").status_code == 404
    assert client.get("/runs/999999/").status_code == 404


@pytest.mark.django_db
def test_names_like_a_script_are_text_on_the_run_page(client, alice, run):
    evil = "<script>alert(1)</script>"
    run.organization.teams.filter(slug="a-team").update(name=evil)
    run.tracker_name = evil
    run.save()
    client.force_login(alice)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    payload = re.search(r'id="chart-ours_vs_tracker-data">(.*?)</script>', page, re.S)[1]
    assert "<" not in payload
