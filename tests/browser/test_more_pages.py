"""The team, project, run, hardware, cloud and settings pages in a real browser (no console errors allowed)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from emissions.choices import AssetClass
from emissions.models import CloudUsage, HardwareAsset, HardwareModel, ProviderCarbon, RunSample
from emissions.services.cloud_basis import cloud_tag_set_store

pytestmark = pytest.mark.browser


def more_demo_data(organization) -> dict:
    """Samples for the demo run, a small fleet and an August cloud bill, so every chart has data."""
    run = organization.runs.get(external_id="q3-run")
    for minute, watts in enumerate([180.0, 320.0, 300.0, 120.0]):
        RunSample.objects.create(run=run, recorded_at=datetime(2026, 7, 10, 8, minute * 30, tzinfo=UTC) if minute < 2
                                 else datetime(2026, 7, 10, 9, (minute - 2) * 30, tzinfo=UTC),
                                 dedupe_key=f"s{minute}", duration_s=1800, energy_kwh=watts * 4 * 0.5 / 1000,
                                 gpu_power_w=watts * 4, cpu_power_w=60.0, ram_power_w=12.0)  # fmt: skip
    model = HardwareModel.objects.create(name="GPU server", asset_class=AssetClass.GPU_SERVER, gpu_count=8,
                                         embodied_kg_co2e=2500, embodied_low_kg_co2e=2000, embodied_high_kg_co2e=3000,
                                         default_lifetime_years=5, source="test", licence="test")  # fmt: skip
    lab = organization.sites.get(slug="lab")
    HardwareAsset.objects.create(organization=organization, asset_id="gpu-1", hardware_model=model, quantity=2,
                                 site=lab, acquired_on=date(2026, 9, 15), in_service_on=date(2026, 9, 20),
                                 lifetime_years=5)  # fmt: skip
    HardwareAsset.objects.create(organization=organization, asset_id="gpu-0", hardware_model=model, quantity=1,
                                 site=lab, acquired_on=date(2022, 1, 1), in_service_on=date(2022, 1, 10),
                                 retired_on=date(2026, 8, 31), lifetime_years=5)  # fmt: skip
    line = {"organization": organization, "provider": "aws", "billing_period": date(2026, 8, 1), "account_id": "111",
            "usage_start": datetime(2026, 8, 1, tzinfo=UTC), "usage_end": datetime(2026, 8, 31, tzinfo=UTC),
            "region": "us-east-1", "currency": "USD"}  # fmt: skip
    CloudUsage.objects.create(line_item_key="ec2", service="AmazonEC2", cost=Decimal(300), embodied_kg_co2e=2.0,
                              tags_digest=cloud_tag_set_store(organization, {"team": "data"}),
                              allocation_basis="resource_tag", **line)  # fmt: skip
    CloudUsage.objects.create(line_item_key="s3", service="AmazonS3", cost=Decimal(100), embodied_kg_co2e=1.0,
                              allocation_basis="unallocated", **line)  # fmt: skip
    ProviderCarbon.objects.create(organization=organization, provider="aws", account_id="111", region="us-east-1",
                                  billing_period=date(2026, 8, 1), service="AmazonEC2", source_row_key="r1",
                                  total_location_kg_co2e=3.0, total_market_kg_co2e=2.5)  # fmt: skip
    return {"run": run}


def pages(extra: dict) -> dict[str, list[str]]:
    """Each new page and the charts it draws with the demo data."""
    return {
        "/teams/a-team/": ["trend", "burndown", "projects", "biggest_runs"],
        "/projects/a-project/": ["kind_split", "kind_energy"],
        f"/runs/{extra['run'].pk}/": ["power", "energy", "ours_vs_tracker"],
        "/hardware/": ["by_site_model", "embodied_views", "refresh_timeline", "idle_share"],
        "/cloud/": ["spend_emissions", "estimate_vs_reported", "allocation"],
        "/settings/": [],
    }


def test_every_new_page_opens_and_draws_its_charts(logged_in, demo_org):
    page = logged_in
    for url, charts in pages(more_demo_data(demo_org)).items():
        page.goto(url)
        for chart in charts:
            page.wait_for_selector(f"#chart-{chart} .main-svg")
        assert page.locator("[data-chart]").count() == page.locator("[data-chart][data-rendered]").count(), url
        assert page.locator("h1").count() == 1, url


def test_the_nav_reaches_the_fleet_cloud_and_settings(logged_in):
    page = logged_in
    for name, heading in (("Hardware", "Hardware fleet"), ("Cloud", "Cloud"), ("Settings", "Settings")):
        page.click(f"nav >> text={name}")
        page.wait_for_selector(f"h1:has-text('{heading}')")
    page.click("#teams >> text=A Team")
    page.wait_for_url("**/teams/a-team/")
    page.click("#team-projects >> text=A Project")
    page.wait_for_url("**/projects/a-project/")
    page.click("#project-runs >> text=q3-run")
    page.wait_for_selector("h1:has-text('Run q3-run')")


def test_team_period_filter_redraws_the_charts_and_the_url(logged_in):
    page = logged_in
    page.goto("/teams/a-team/")
    page.wait_for_selector("#chart-burndown .main-svg")
    assert page.locator('[data-kpi="location"]').inner_text() == "350.0 kg CO2e"
    page.select_option("select[name=period]", "2026-Q2")
    page.wait_for_url("**/teams/a-team/?*period=2026-Q2*")
    page.wait_for_function("document.querySelector('[data-kpi=location]').textContent === '700.0 kg CO2e'")
    page.wait_for_selector("#chart-trend .main-svg")
    assert page.locator("#chart-burndown").count() == 0  # no budget in Q2: the empty state says how to add one
    assert page.locator("text=No carbon budget for this team").count() == 1


def test_a_script_in_a_project_name_stays_text_in_the_team_chart(logged_in, demo_org):
    demo_org.projects.filter(slug="a-project").update(name="<script>alert(1)</script>")
    page = logged_in
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/teams/a-team/")
    page.wait_for_selector("#chart-projects .main-svg")
    assert "<script>alert(1)</script>" in page.locator("#chart-projects .ytick text").all_text_contents()
    assert "<script>alert(1)</script>" in page.locator("#team-projects").inner_text()
    assert dialogs == []
