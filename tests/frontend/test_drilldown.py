"""Drill-down and one vocabulary on the overview, team, project and run pages, and the Teams and Projects
lists, on the hand-computed ledger (tests/frontend/dashboard_data.py), 2026-Q3.

Q3 inventory view, location-based: A Team 0.350 t (A Project, the run q3-run), Data 0.120 t (ETL, a cloud
bill), 0.575 t with no team; management view: A Team 0.350, Data 0.120 (the amortization has no team).
"""

import json
import re

import pandas as pd
import pytest

from frontend import figures
from tests.factories import ProjectFactory, TeamFactory

Q3 = "2026-Q3"
# A title naming the Scope 2 method of its figures (or the chart that sets the two methods side by side).
STATES_A_METHOD = re.compile(r"Scope 2 location(-based|- and market-based)|Location-based vs market-based")


def _figure(page: str, chart: str) -> dict:
    payload = re.search(rf'<script type="application/json" id="chart-{chart}-data">(.*?)</script>', page, re.S)[1]
    return json.loads(payload)["figure"]


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", page)


@pytest.mark.django_db
def test_overview_team_and_project_bars_carry_their_slug_and_page(client, alice, ledger):
    client.force_login(alice)
    page = client.get("/", {"period": Q3}).content.decode()
    by_team = _figure(page, "by_team")
    assert by_team["layout"]["meta"] == {"drilldown": True}
    names = by_team["data"][0]["y"]
    links = dict(zip(names, by_team["data"][0]["customdata"], strict=True))
    assert links["A Team"] == ["a-team", "/teams/a-team/?period=2026-Q3&view=inventory"]
    assert links["(unallocated)"] == ["", None]  # no team: no page to open
    assert by_team["data"][1]["customdata"] == by_team["data"][0]["customdata"]  # market bars open the same pages
    top = _figure(page, "top_projects")
    assert dict(zip(top["data"][0]["y"], top["data"][0]["customdata"], strict=True))["ETL"] == ["etl", "/projects/etl/"]
    # The same pages as plain links under the charts, for keyboards; and drilldown.js on the page.
    assert 'data-links="by_team">Open: <a href="/teams/a-team/?period=2026-Q3&amp;view=inventory">A Team</a>' in page
    assert '<a href="/projects/a-project/">A Project</a>' in page
    assert "/static/frontend/drilldown.js" in page
    assert "meta" not in _figure(page, "quality_mix")["layout"]  # tiers are no pages


@pytest.mark.django_db
def test_team_chart_bars_open_projects_and_runs(client, alice, ledger):
    client.force_login(alice)
    page = client.get("/teams/a-team/", {"period": Q3}).content.decode()
    run = ledger.runs.get(external_id="q3-run")
    assert _figure(page, "projects")["data"][0]["customdata"] == [["a-project", "/projects/a-project/"]]
    assert _figure(page, "biggest_runs")["data"][0]["customdata"] == [[run.pk, f"/runs/{run.pk}/"]]
    assert f'href="/runs/{run.pk}/">q3-run</a>' in page and 'href="/projects/a-project/">A Project</a>' in page
    assert 'href="/teams/">Teams</a>' in page and "/static/frontend/drilldown.js" in page


def test_figures_without_links_carry_no_customdata():
    frame = pd.DataFrame({"team": ["A"], "emissions_t_co2e_location": [1.0], "emissions_t_co2e_market": [1.0]})
    figure = figures.by_team_figure(frame)
    assert figure.data[0].customdata is None and figure.layout.meta is None


@pytest.mark.django_db
def test_every_figure_states_its_view_and_scope_2_method(client, alice, ledger):
    client.force_login(alice)
    for view in ("inventory", "management"):
        page = client.get("/", {"period": Q3, "view": view}).content.decode()
        for chart in ("emissions_over_time", "location_vs_market", "by_team", "top_projects", "quality_mix"):
            title = _figure(page, chart)["layout"]["title"]["text"]
            assert f"{view} view" in title, (chart, title)
            assert STATES_A_METHOD.search(title), (chart, title)
        assert f">Scope 2 location-based ({view} view)" in page
        assert f">Scope 2 market-based ({view} view)" in page
    team = _text(client.get("/teams/a-team/", {"period": Q3, "view": "management"}).content.decode())
    for chart in ("trend", "projects", "burndown"):
        assert "management view" in _figure(team, chart)["layout"]["title"]["text"], chart
    assert "operational, the same in either view" in _figure(team, "biggest_runs")["layout"]["title"]["text"]
    assert "this period, Scope 2 location-based (management view)" in team


@pytest.mark.django_db
def test_team_rank_runs_the_leaderboards_way_and_says_so(client, alice, ledger):
    client.force_login(alice)
    page = _text(client.get("/teams/a-team/", {"period": Q3}).content.decode())
    assert 'data-kpi="rank">#2 of 2<' in page  # A Team 0.350 t, Data 0.120 t: Data emits least
    assert "1 = least, lower is better, as on the" in page
    assert 'data-kpi="rank">#1 of 2<' in client.get("/teams/data/", {"period": Q3}).content.decode()


@pytest.mark.django_db
def test_project_totals_and_label_state_their_spans(client, alice, ledger):
    client.force_login(alice)
    page = _text(client.get("/projects/a-project/").content.decode())
    started = sorted(run.started_at.date().isoformat() for run in ledger.runs.filter(project__slug="a-project"))
    first, last = started[0], started[-1]
    assert f"training and fine-tuning, all runs {first} to {last} (operational, Scope 2 location-based)" in page
    assert "the same in the inventory and management views" in page
    assert 'id="label-span"' in page or "No calculation for" in page


@pytest.mark.django_db
def test_teams_list_searches_sorts_and_states_its_figures(client, alice, ledger):
    client.force_login(alice)
    page = _text(client.get("/teams/", {"period": Q3}).content.decode())
    assert "tCO2e in the <strong>inventory view</strong>, Scope 2 <strong>location-based</strong>" in page
    rows = re.findall(r'<tr data-team="([^"]+)">', page)
    assert rows == ["a-team", "data"]  # by name
    page = client.get("/teams/", {"period": Q3, "sort": "emissions"}).content.decode()
    assert re.findall(r'<tr data-team="([^"]+)">', page) == ["data", "a-team"]  # least first
    assert "0.120" in page and "0.350" in page
    page = client.get("/teams/", {"period": Q3, "q": "dat"}).content.decode()
    assert re.findall(r'<tr data-team="([^"]+)">', page) == ["data"]
    assert 'href="/teams/data/?period=2026-Q3&amp;view=inventory"' in page
    assert client.get("/teams/", {"period": "last week"}).status_code == 400


@pytest.mark.django_db
def test_projects_list_pages_and_stays_in_the_organization(client, alice, charlie, ledger, org_b):
    team = TeamFactory(organization=ledger, slug="many", name="Many")
    for number in range(30):
        ProjectFactory(organization=ledger, team=team, slug=f"p{number:02d}", name=f"P {number:02d}")
    client.force_login(alice)
    first = client.get("/projects/", {"period": Q3, "sort": "-runs"}).content.decode()
    assert "Page 1 of 2" in first and "b-project" not in first
    assert re.findall(r'<tr data-project="([^"]+)">', first)[0] == "a-project"  # the one with a run started in Q3
    second = client.get("/projects/", {"period": Q3, "sort": "-runs", "page": 2}).content.decode()
    assert "Page 2 of 2" in second and len(re.findall(r"<tr data-project=", second)) == 32 - 25
    found = client.get("/projects/", {"q": "many"}).content.decode()
    assert re.findall(r'<tr data-project="([^"]+)">', found)[:1] == ["p00"]  # a team's name finds its projects
    client.force_login(charlie)
    page = client.get("/projects/").content.decode()
    assert re.findall(r'<tr data-project="([^"]+)">', page) == ["b-project"]
