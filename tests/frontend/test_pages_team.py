"""The team page on the hand-computed ledger (tests/frontend/dashboard_data.py), 2026-Q3, inventory view."""

import csv
import io
import json
import re
from datetime import date

import pytest

from emissions.periods import period_parse
from reporting.rollups import rollup_refresh
from reporting.selectors.team import team_budget_burndown, team_dashboard
from tests.factories import UserFactory
from tests.frontend.dashboard_data import calculation_add, q3_records_add

Q3 = "2026-Q3"


def _team(org, slug="a-team"):
    return org.teams.get(slug=slug)


@pytest.mark.django_db
def test_team_dashboard_hand_computed(ledger):
    data = team_dashboard(organization=ledger, team=_team(ledger), period=period_parse(Q3), view="inventory")
    facts, charts = data.facts, data.charts
    # A Team in Q3: the run's Scope 2 line 300 / 100 kg and its Cat 3 line 50 / 50 kg. It emits more than
    # Data (0.120 t), so it ranks 2nd: 1 = least, lower is better, the leaderboard's direction.
    assert facts["rank"] == {"rank": 2, "teams": 2, "emissions_t_co2e_location": pytest.approx(0.350),
                             "emissions_t_co2e_market": pytest.approx(0.150)}  # fmt: skip
    [project] = facts["projects"]
    assert project["project"] == "A Project" and project["runs"] == 1 and project["energy_kwh"] == 10.0
    assert project["emissions_t_co2e_location"] == pytest.approx(0.350)
    assert [r["external_id"] for r in facts["biggest_runs"]] == ["q3-run"]
    assert facts["biggest_runs"][0]["emissions_kg_co2e_location"] == pytest.approx(350.0)
    trend = charts["trend"].set_index("period_start")
    assert len(trend) == 12 and trend.index[0] == date(2025, 10, 1) and trend.index[-1] == date(2026, 9, 1)
    assert trend.loc[date(2026, 5, 1), "emissions_t_co2e_location"] == pytest.approx(0.700)  # Q2's line
    assert trend.loc[date(2026, 7, 1), "emissions_t_co2e_market"] == pytest.approx(0.150)
    assert trend["emissions_t_co2e_location"].sum() == pytest.approx(1.050)
    data_team = team_dashboard(
        organization=ledger, team=_team(ledger, "data"), period=period_parse(Q3), view="inventory"
    )
    assert data_team.facts["rank"]["rank"] == 1


@pytest.mark.django_db
def test_budget_burndown_hand_computed(ledger):
    burn = team_budget_burndown(organization=ledger, team=_team(ledger), period=period_parse(Q3), view="inventory")
    assert burn["budget"].budget_kg_co2e == 1000 and burn["used_kg_co2e"] == pytest.approx(350)
    assert burn["burn_pct"] == pytest.approx(35.0)
    frame = burn["frame"].set_index("day")
    assert frame.index[0] == date(2026, 7, 1) and frame.index[-1] == date(2026, 7, 10)  # last day with data
    assert frame.loc[date(2026, 7, 9), "remaining_t_co2e"] == pytest.approx(1.0)
    assert frame.loc[date(2026, 7, 10), "remaining_t_co2e"] == pytest.approx(0.650)
    assert frame.loc[date(2026, 7, 10), "ideal_remaining_t_co2e"] == pytest.approx(1.0 * (1 - 10 / 92))
    data = team_budget_burndown(
        organization=ledger, team=_team(ledger, "data"), period=period_parse(Q3), view="inventory"
    )
    assert data["burn_pct"] == pytest.approx(120.0)  # 120 kg cloud bill against a 100 kg budget
    assert team_budget_burndown(organization=ledger, team=_team(ledger), period=period_parse("2026-Q2"),
                                view="inventory") is None  # fmt: skip


@pytest.mark.django_db
def test_team_page_shows_the_hand_computed_values(client, alice, ledger):
    client.force_login(alice)
    response = client.get("/teams/a-team/", {"period": Q3})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-kpi="location">350.0 kg CO2e<' in page and 'data-kpi="market">150.0 kg CO2e<' in page
    assert 'data-kpi="rank">#2 of 2<' in page and 'data-kpi="budget">35.0 %<' in page
    assert "1 = least, lower is better" in page
    for chart in ("trend", "burndown", "projects", "biggest_runs"):
        assert f'id="chart-{chart}-data"' in page and f"download={chart}" in page
    assert 'href="/projects/a-project/"' in page and "q3-run" in page
    assert "frontend/vendor/plotly/plotly.min.js" in page and "cdn" not in page.lower()


@pytest.mark.django_db
def test_team_chart_downloads_as_csv(client, alice, ledger):
    client.force_login(alice)
    response = client.get("/teams/a-team/", {"period": Q3, "download": "projects"})
    assert 'filename="org-a-a-team-2026-Q3-projects.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["project"] for row in rows] == ["A Project"]
    assert float(rows[0]["emissions_t_co2e_location"]) == pytest.approx(0.350)
    assert client.get("/teams/a-team/", {"period": Q3, "download": "nope"}).status_code == 404


@pytest.mark.django_db
def test_team_without_budget_or_data_says_how_to_get_data_in(client, alice, ledger):
    client.force_login(alice)
    page = client.get("/teams/a-team/", {"period": "2026-Q1"}).content.decode()
    assert "No carbon budget for this team" in page and "/api/codecarbon/" in page


@pytest.mark.django_db
def test_another_organizations_team_is_404(client, alice, charlie, ledger, org_b):
    client.force_login(alice)
    assert client.get("/teams/b-team/").status_code == 404
    assert client.get("/teams/a-team/", {"period": "last week"}).status_code == 400
    client.force_login(charlie)
    assert client.get("/teams/a-team/").status_code == 404
    assert client.get("/teams/b-team/").status_code == 200


NEW_PAGES = ["/teams/a-team/", "/projects/a-project/", "/runs/{run}/", "/hardware/", "/cloud/", "/settings/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", NEW_PAGES)
def test_pages_need_a_login_and_a_membership(client, ledger, url):
    url = url.format(run=ledger.runs.get(external_id="q3-run").pk)
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(UserFactory(username="nobody"))
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_team_and_project_named_like_a_script_are_text(client, alice, ledger):
    evil = "<script>alert(1)</script>"
    ledger.teams.filter(slug="a-team").update(name=evil)
    ledger.projects.filter(slug="a-project").update(name=evil)
    client.force_login(alice)
    page = client.get("/teams/a-team/", {"period": Q3}).content.decode()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    payload = re.search(r'id="chart-projects-data">(.*?)</script>', page, re.S)[1]
    assert "<" not in payload
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in json.loads(payload)["figure"]["data"][0]["y"]


@pytest.mark.django_db
def test_a_run_in_a_quarter_and_its_year_counts_once(ledger):
    """A newer year calculation holds the Q3 lines again (doubled here to tell them apart): read once, from it."""
    year = calculation_add(ledger, (date(2026, 1, 1), date(2026, 12, 31)))
    q3_records_add(year, scale=2.0)
    rollup_refresh(organization=ledger)
    data = team_dashboard(organization=ledger, team=_team(ledger), period=period_parse(Q3), view="inventory")
    assert [r["emissions_kg_co2e_location"] for r in data.facts["biggest_runs"]] == [pytest.approx(700.0)]
    assert data.facts["rank"]["emissions_t_co2e_location"] == pytest.approx(0.700)
