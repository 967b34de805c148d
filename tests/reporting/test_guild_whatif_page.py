"""The what-if page's choices and chart, and the budget form (issue 19): only places a replay can price, by
name and grouped, no pre-release regions; the tracker's sub-national zone; top runs + others; errors in
words; a budget's period from a list and a message once saved."""

from datetime import UTC, date, datetime

import pytest

from emissions.choices import FactorKind
from emissions.models import CloudRegion, FactorDataset, GridFactor, GridZone
from emissions.periods import period_parse
from frontend.pages.guild import WHATIF_TOP_RUNS, budget_period_choices, whatif_error_words, whatif_figure
from reporting.guild.advice import region_target_choices, zone_choices
from reporting.guild.runs import run_zone_code
from reporting.guild.whatif import RunReplay, WhatIfResult
from tests.factories import RunFactory, SiteFactory


@pytest.fixture
def places(org_a):
    """Canada with Quebec (factors), Ontario (none), and cloud regions: a priced one, one whose zone has no
    factor and no figure of its own (gcp eur4), a stage ring and a provider average."""
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    canada = GridZone.objects.create(code="CA", name="Canada", country_iso3="CAN")
    quebec = GridZone.objects.create(code="CA-QC", name="Quebec", country_iso3="CAN", parent=canada)
    GridZone.objects.create(code="CA-ON", name="Ontario", country_iso3="CAN", parent=canada)
    france = GridZone.objects.create(code="FR", name="France", country_iso3="FRA")
    factor = {"dataset": dataset, "year": 2026, "source": "t", "licence": "t"}
    for zone, value in ((canada, 170.0), (quebec, 2.6), (france, 30.0)):
        GridFactor.objects.create(zone=zone, kind=FactorKind.LOCATION, intensity_g_per_kwh=value, **factor)
    # Ontario has only a residual mix: no location-based factor, so no replay can price it.
    ontario = GridZone.objects.get(code="CA-ON")
    GridFactor.objects.create(zone=ontario, kind=FactorKind.RESIDUAL_MIX, intensity_g_per_kwh=50.0, **factor)
    region = {"dataset": dataset, "pue": 1.1, "licence": "t"}
    montreal = "Montreal, Quebec, Canada"
    CloudRegion.objects.create(
        provider="gcp", region="northamerica-northeast1", location=montreal, zone=quebec, **region
    )
    CloudRegion.objects.create(provider="gcp", region="eur4", location="dual-region", zone=None, **region)
    stage, average = "Virginia, USA (stage)", "fallback: average of CCF AWS regions"
    CloudRegion.objects.create(
        provider="azure", region="eastusstage", location=stage, intensity_g_per_kwh=379.0, **region
    )
    CloudRegion.objects.create(provider="aws", region="Unknown", location=average, intensity_g_per_kwh=392.0, **region)
    SiteFactory(organization=org_a, slug="mtl", name="Montréal colo", zone=quebec)
    return org_a


def test_only_places_a_replay_can_price_by_name_and_grouped(places):
    choices = dict(region_target_choices(organization=places))
    assert choices["Your sites"] == [("site:mtl", "Montréal colo (CA-QC)")]
    assert choices["Google Cloud regions"] == [
        ("cloud:gcp:northamerica-northeast1", "Montreal, Quebec, Canada (northamerica-northeast1)")
    ]
    offered = {value for options in choices.values() for value, _ in options}
    assert not offered & {"cloud:gcp:eur4", "cloud:azure:eastusstage", "cloud:aws:Unknown", "CA-ON"}
    assert choices["Grid zones: Canada"] == [("CA", "Canada (CA)"), ("CA-QC", "Quebec (CA-QC)")]
    assert choices["Grid zones: Other countries and grids"] == [("FR", "France (FR)")]
    assert zone_choices(organization=places)[0] == ("Canada", [("CA", "Canada (CA)"), ("CA-QC", "Quebec (CA-QC)")])


def test_the_trackers_sub_national_zone_wins_over_its_country(places):
    canada = GridZone.objects.get(code="CA")
    run = RunFactory(organization=places, project=places.projects.get(), grid_zone=canada, tracker_region="québec")
    assert run_zone_code(run) == "CA-QC"
    ontario = RunFactory(organization=places, project=places.projects.get(), grid_zone=canada, tracker_region="ON")
    assert run_zone_code(ontario) == "CA"  # Ontario has no factor: Canada's stays
    assert run_zone_code(RunFactory(organization=places, project=places.projects.get(), grid_zone=canada)) == "CA"


def _replay(index: int, kg: float) -> RunReplay:
    started = datetime(2026, 7, 1, tzinfo=UTC).replace(hour=index % 24, day=1 + index // 24)
    run = {"run_id": index, "external_id": f"{index:08d}-uuid", "started_at": started, "energy_kwh": 1.0}
    return RunReplay(**run, baseline_kg_co2e=kg, replay_kg_co2e=kg / 10)


def test_the_per_run_chart_shows_the_largest_runs_by_project_and_start_and_sums_the_rest():
    result = WhatIfResult(scenario="region", description="Runs moved to grid zone FR")
    result.runs = [_replay(index, kg=float(index + 1)) for index in range(40)]
    figure = whatif_figure(result, project_name="Atlas <chat>")
    names = list(figure.data[0].y)
    assert len(names) == WHATIF_TOP_RUNS + 1 and names[0] == "Atlas &lt;chat&gt; · 2026-07-02 15:00"
    assert names[-1] == "Others: 25 smaller runs"
    assert figure.data[0].x[-1] == pytest.approx(sum(range(1, 26)))  # the 25 smallest, summed
    assert not any("uuid" in name for name in names)
    assert figure.layout.height >= 140 + 34 * len(names)


def test_errors_are_written_in_words():
    assert whatif_error_words("the hour scenario needs shift_h=<hours, -23..23>") == (
        "The hour scenario needs a shift in hours (−23 to 23)"
    )
    assert "lifetime_years" not in whatif_error_words("lifetime_years must be between 0.5 and 15")


@pytest.mark.django_db
def test_the_what_if_form_asks_for_what_a_scenario_needs_in_words(client, alice, places):
    client.force_login(alice)
    page = client.get("/what-if/?project=a-project&period=2026-Q3&scenario=gpu")
    html = page.content.decode()
    assert page.status_code == 400 and "GPU: Choose the GPU model to replay the runs on." in html
    assert 'data-select-search="id_zone"' in html and '<optgroup label="Grid zones: Canada">' in html


def test_budget_periods_to_choose_from():
    assert budget_period_choices(date(2026, 12, 5)) == [
        ("2026-Q4", "This quarter (2026-Q4)"),
        ("2027-Q1", "Next quarter (2027-Q1)"),
        ("2026-12", "This month (December 2026)"),
        ("2027-01", "Next month (January 2027)"),
        ("2026", "This year (2026)"),
        ("2027", "Next year (2027)"),
    ]


@pytest.mark.django_db
def test_a_saved_budget_is_said_and_the_form_has_no_dangling_description(client, alice, org_a):
    client.force_login(alice)
    html = client.get("/budgets/").content.decode()
    assert '<select name="period" id="id_period">' in html and "This quarter (" in html
    assert "aria-describedby" not in html.split('id="budget-set"')[1]
    team = org_a.teams.get()
    alice.memberships.update(team=team)  # a guild member sets its own team's budgets
    form = {"owner": f"team:{team.slug}", "period": "2026-Q4", "budget_kg_co2e": "1500", "basis": "location"}
    html = client.post("/budgets/", form, follow=True).content.decode()
    assert f"Budget saved: Team {team.name}, 2026-Q4, 1.500 t CO2e (Location-based)." in html
    assert period_parse("2026-Q4").start == team.budgets.get().period_start


@pytest.mark.django_db
@pytest.mark.parametrize("metric", ["absolute", "improvement", "per_1m_tokens", "budget_adherence"])
def test_the_leaderboard_never_shows_nan_and_states_its_rank_direction(client, alice, org_a, metric):
    from reporting.rollups import rollup_refresh
    from tests.frontend.dashboard_data import small_ledger_create

    small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    client.force_login(alice)
    html = client.get(f"/leaderboard/?period=2026-Q3&metric={metric}").content.decode()
    table = html.split('id="leaderboard"')[1].split("</table>")[0]
    assert "nan" not in table.lower() and "&lt;NA&gt;" not in table and "-0.0" not in table
    assert "rank 1 is the lowest, lower is better" in html
    assert table.count("tCO2e") == 0  # amounts carry their own unit, scaled (kg CO2e, t CO2e)
