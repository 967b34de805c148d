"""Guild pages in a real browser for the demo organization: leaderboard, a budget burn-down, a what-if replay."""

import pytest

from emissions.choices import FactorKind
from emissions.models import FactorDataset, GridFactor, GridZone

pytestmark = pytest.mark.browser


def test_leaderboard_renders_and_switches_metric(logged_in):
    page = logged_in
    page.click("nav >> text=Leaderboard")
    page.wait_for_url("**/leaderboard/")
    page.goto("/leaderboard/?period=2026-Q3")
    page.wait_for_selector("#chart-leaderboard .main-svg")
    ranks = page.locator("#leaderboard tbody tr td.rank").all_text_contents()
    assert ranks == ["1", "2"]
    assert page.locator("#leaderboard tr.mostly-estimated").count() == 1  # Data: billing estimate
    page.select_option("select[name=metric]", "per_gpu_hour")
    page.click("button:has-text('Show')")
    page.wait_for_url("**metric=per_gpu_hour*")
    page.wait_for_selector("#chart-leaderboard .main-svg")
    assert page.locator("#leaderboard tbody tr").first.locator("td").nth(1).inner_text() == "A Team"


def test_budget_burndown_renders(logged_in, demo_org):
    page = logged_in
    page.goto("/budgets/?period=2026-Q3")
    budget = demo_org.budgets.get(team__slug="data")
    page.wait_for_selector(f"#burndown-{budget.pk} .main-svg")
    assert page.locator(".chart-card.budget").count() == 2
    assert page.locator(f'[data-budget="{budget.pk}"] .status-badge').inner_text().lower() == "fail"


def test_what_if_replay_renders(logged_in):
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    for code, value in (("DE", 300.0), ("FR", 30.0)):
        zone, _ = GridZone.objects.get_or_create(code=code, defaults={"name": code})
        GridFactor.objects.create(dataset=dataset, zone=zone, kind=FactorKind.LOCATION, year=2026,
                                  intensity_g_per_kwh=value, source="t", licence="t")  # fmt: skip
    page = logged_in
    page.click("nav >> text=What-if")
    page.wait_for_url("**/what-if/")
    page.select_option("select[name=project]", "a-project")
    page.select_option("select[name=period]", "2026-Q3")
    page.select_option("select[name=scenario]", "region")
    page.select_option("select[name=zone]", "FR")
    page.click("button:has-text('Replay')")
    page.wait_for_selector("#chart-whatif .main-svg")
    assert page.locator('[data-kpi="saved"]').inner_text() == "270.0 kg CO2e"  # 1,000 kWh: 300 kg → 30 kg
    assert page.locator("#advice").inner_text().startswith("Next training run: Run in")


def test_project_page_shows_the_carbon_label(logged_in):
    page = logged_in
    page.goto("/projects/a-project/")
    label = page.locator("#carbon-label svg.carbon-label")
    label.wait_for()
    assert page.locator('#carbon-label [data-label="training"]').text_content().endswith("kgCO2e")
    assert page.locator("#efficiency").count() == 1
    with page.expect_download() as download:
        page.click("#carbon-label >> text=Download SVG")
    assert download.value.suggested_filename == "a-project-2026-Q3-carbon-label.svg"
