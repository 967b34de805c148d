"""The hardware fleet page: register by site and model, both embodied views, Gantt, roll-forward, idle share."""

import json
import re
from datetime import date

import pytest

from emissions.choices import AssetClass
from emissions.models import HardwareAsset, HardwareModel
from emissions.periods import period_parse
from reporting.rollups import rollup_refresh
from reporting.selectors.hardware import hardware_dashboard, planned_end
from tests.factories import SiteFactory
from tests.frontend.dashboard_data import small_ledger_create

ROLL = {"opening_kg": 1200.0, "additions_kg": 500.0, "amortized_kg": 30.0, "written_off_kg": 20.0,
        "closing_kg": 1650.0}  # fmt: skip


def _model(name: str, gpus: int, kg: float) -> HardwareModel:
    return HardwareModel.objects.create(name=name, asset_class=AssetClass.GPU_SERVER, gpu_count=gpus,
                                        embodied_kg_co2e=kg, embodied_low_kg_co2e=kg, embodied_high_kg_co2e=kg,
                                        default_lifetime_years=5, source="test", licence="test")  # fmt: skip


@pytest.fixture
def fleet(org_a):
    """The hand-computed ledger plus three register lines at the lab (two models, one retired) and a roll-forward."""
    calculations = small_ledger_create(org_a)
    calculations["q3"].roll_forward = ROLL
    calculations["q3"].save()
    rollup_refresh(organization=org_a)
    lab = org_a.sites.get(slug="lab")
    dgx, node = _model("DGX test", 8, 2500.0), _model("Node test", 0, 400.0)
    common = {"organization": org_a, "site": lab, "lifetime_years": 4.0}
    HardwareAsset.objects.create(asset_id="gpu-1", hardware_model=dgx, quantity=2, acquired_on=date(2026, 9, 15),
                                 in_service_on=date(2026, 9, 20), **common)  # fmt: skip
    HardwareAsset.objects.create(asset_id="node-1", hardware_model=node, quantity=3, acquired_on=date(2022, 1, 1),
                                 in_service_on=date(2022, 1, 10), retired_on=date(2026, 8, 31), **common)  # fmt: skip
    HardwareAsset.objects.create(asset_id="gpu-0", hardware_model=dgx, quantity=1, acquired_on=date(2024, 1, 1),
                                 in_service_on=date(2024, 1, 1), embodied_kg_co2e_per_unit=3000.0,
                                 **common)  # fmt: skip
    return org_a


@pytest.mark.django_db
def test_hardware_dashboard_hand_computed(fleet):
    data = hardware_dashboard(organization=fleet, period=period_parse("2026-Q3"))
    facts, charts = data.facts, data.charts
    rows = {row["hardware_model"]: row for row in facts["by_site_model"]}
    assert rows["DGX test"]["units"] == 3 and rows["DGX test"]["gpus"] == 24 and rows["DGX test"]["lines"] == 2
    assert rows["DGX test"]["embodied_t_co2e"] == pytest.approx((2 * 2500 + 3000) / 1000)  # own PCF wins
    assert rows["Node test"]["units_in_service"] == 0  # retired on 08-31
    assert facts["units"] == 6 and facts["units_in_service"] == 3
    assert facts["embodied_t_co2e"] == pytest.approx(9.2)
    assert facts["idle_share_pct"] == pytest.approx(20.0)  # 250 of the lab's 1,250 kWh
    views = charts["embodied_views"].set_index("period_start")
    assert views.loc[date(2026, 9, 1), "inventory_t_co2e"] == pytest.approx(0.5)  # acquired 09-15
    assert views.loc[date(2026, 7, 1), "inventory_t_co2e"] == pytest.approx(0.0)
    assert views["management_t_co2e"].sum() == pytest.approx(0.030)  # amortized 30 kg over the quarter
    assert views.loc[date(2026, 7, 1), "management_t_co2e"] == pytest.approx(0.030 * 31 / 92)
    timeline = charts["refresh_timeline"].set_index("asset")
    assert list(timeline.index) == ["node-1", "gpu-0", "gpu-1"]
    assert timeline.loc["node-1", "end"] == date(2026, 8, 31) and timeline.loc["node-1", "status"] == "retired"
    assert timeline.loc["gpu-1", "end"] == date(2030, 9, 20)  # in service + 4 years
    assert facts["roll_calculation"].period_start == date(2026, 7, 1)
    roll = charts["roll_forward"].set_index("step")["embodied_t_co2e"].to_dict()
    assert roll == pytest.approx({"Opening balance": 1.2, "Additions (Cat 2)": 0.5, "Amortized": -0.03,
                                  "Written off": -0.02, "Closing balance": 1.65})  # fmt: skip
    assert charts["idle_share"].set_index("site").loc["Lab", "idle_energy_kwh"] == pytest.approx(250.0)


def test_planned_end_counts_leap_days():
    asset = HardwareAsset(in_service_on=date(2024, 1, 1), lifetime_years=1.0, retired_on=None)
    assert planned_end(asset) == date(2024, 12, 31)  # 365.25 days, rounded


@pytest.mark.django_db
def test_hardware_page_renders_every_chart_and_the_register(client, alice, fleet):
    client.force_login(alice)
    response = client.get("/hardware/", {"period": "2026-Q3"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-kpi="units">3<' in page and 'data-kpi="idle">20.0 %<' in page
    assert 'data-kpi="embodied">9.200 t CO2e<' in page
    for chart in ("by_site_model", "embodied_views", "refresh_timeline", "roll_forward", "idle_share"):
        assert f'id="chart-{chart}-data"' in page and f"download={chart}" in page
    gantt = json.loads(re.search(r'id="chart-refresh_timeline-data">(.*?)</script>', page, re.S)[1])["figure"]
    assert gantt["layout"]["xaxis"]["type"] == "date"
    assert {trace["name"] for trace in gantt["data"]} == {"in service", "retired"}
    csv_text = client.get("/hardware/", {"period": "2026-Q3", "download": "roll_forward"}).content.decode()
    assert "Closing balance,1.65" in csv_text


@pytest.mark.django_db
def test_empty_fleet_says_how_to_get_data_in(client, alice, org_a):
    client.force_login(alice)
    page = client.get("/hardware/").content.decode()
    assert "upload a fleet register" in page and "data-chart=" not in page


@pytest.mark.django_db
def test_another_organizations_fleet_never_appears(client, charlie, fleet, org_b):
    other_site = SiteFactory(organization=org_b, slug="b-lab", name="B Lab")
    HardwareAsset.objects.create(organization=org_b, site=other_site, asset_id="b-1", quantity=7,
                                 hardware_model=_model("Secret model", 8, 1.0), acquired_on=date(2026, 1, 1),
                                 in_service_on=date(2026, 1, 1), lifetime_years=5)  # fmt: skip
    client.force_login(charlie)
    page = client.get("/hardware/", {"period": "2026-Q3"}).content.decode()
    assert "Secret model" in page and "DGX test" not in page and "<td>Lab</td>" not in page


@pytest.mark.django_db
def test_site_and_model_named_like_a_script_are_text(client, alice, fleet):
    evil = "<script>alert(1)</script>"
    fleet.sites.filter(slug="lab").update(name=evil)
    HardwareModel.objects.filter(name="DGX test").update(name=evil)
    client.force_login(alice)
    page = client.get("/hardware/", {"period": "2026-Q3"}).content.decode()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for chart in ("by_site_model", "refresh_timeline", "idle_share"):
        assert "<" not in re.search(rf'id="chart-{chart}-data">(.*?)</script>', page, re.S)[1]
