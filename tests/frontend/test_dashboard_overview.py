"""The overview page: hand-computed KPIs, charts, filters over htmx, CSV downloads and tenant scoping."""

import csv
import io
import json
import re
from datetime import date

import pandas as pd
import pytest
from django.template import Context, Template

from emissions.periods import period_parse
from frontend import figures
from frontend.pages.filters import default_period, period_choices
from reporting.rollups import rollup_refresh
from reporting.selectors.common import previous_period
from reporting.selectors.overview import OverviewFilters, overview_dashboard
from tests.factories import TeamFactory
from tests.frontend.dashboard_data import Q3, calculation_add, record_add

Q3_LABEL = "2026-Q3"


def _dashboard(org, **filters):
    return overview_dashboard(organization=org, filters=OverviewFilters(period=period_parse(Q3_LABEL), **filters))


@pytest.mark.django_db
def test_kpis_hand_computed(ledger):
    kpis = _dashboard(ledger).kpis
    assert kpis["emissions_t_co2e_location"] == pytest.approx(1.045)  # 300 + 50 + 75 + 120 + 500 kg
    assert kpis["emissions_t_co2e_market"] == pytest.approx(0.795)  # 100 + 50 + 25 + 120 + 500 kg
    assert kpis["change_pct_location"] == pytest.approx(100 * (1045 - 700) / 700)
    assert kpis["change_pct_market"] == pytest.approx(100 * (795 - 300) / 300)
    assert kpis["energy_mwh"] == pytest.approx(1.65)  # 1,000 + 250 + 400 kWh
    assert kpis["water_l"] == pytest.approx(1250 / 1.25 * 1.8)  # lab's facility kWh → IT kWh × WUE
    assert kpis["idle_share_pct"] == pytest.approx(20.0)  # 250 of the lab's 1,250 kWh
    assert kpis["gpu_hours"] == pytest.approx(8.0) and kpis["gpu_utilization_pct"] == pytest.approx(50.0)
    # Of the operational 545 kg (the 500 kg of capital goods apart, as on the leaderboard).
    assert kpis["measured_share_pct"] == pytest.approx(100 * 425 / 545)
    assert kpis["estimated_share_pct"] == pytest.approx(100 * 120 / 545)
    budget = kpis["budget"]  # A Team 350 of 1,000 kg; Data 120 of 100 kg (over)
    assert budget["budget_kg_co2e"] == 1100 and budget["used_kg_co2e"] == pytest.approx(470)
    assert budget["burn_pct"] == pytest.approx(100 * 470 / 1100) and budget["over_budget"] == 1


@pytest.mark.django_db
def test_filters_team_scope_and_management_view(ledger):
    team = ledger.teams.get(slug="a-team")
    assert _dashboard(ledger, team_id=team.pk).kpis["emissions_t_co2e_location"] == pytest.approx(0.350)
    assert _dashboard(ledger, scope=2).kpis["emissions_t_co2e_location"] == pytest.approx(0.375)
    management = _dashboard(ledger, view="management").kpis
    assert management["emissions_t_co2e_location"] == pytest.approx(0.575)  # amortized 30 kg, not the 500 kg


@pytest.mark.django_db
def test_chart_frames(ledger):
    charts = _dashboard(ledger).charts
    over_time = charts["emissions_over_time"]
    assert over_time["emissions_t_co2e_location"].sum() == pytest.approx(1.045)
    assert set(over_time["scope_category"]) == {"Scope 2", "Scope 3 Cat 1", "Scope 3 Cat 2", "Scope 3 Cat 3"}
    by_team = charts["by_team"].set_index("team")["emissions_t_co2e_location"].to_dict()
    assert by_team == pytest.approx({"(unallocated)": 0.575, "A Team": 0.350, "Data": 0.120})
    assert list(charts["top_projects"]["project"]) == ["A Project", "ETL"]
    quality = charts["quality_mix"].set_index("quality")["share_pct"].to_dict()
    assert quality == pytest.approx({"Metered": 100 * 425 / 1045, "Billing-based estimate": 100 * 120 / 1045,
                                     "Default value": 100 * 500 / 1045})  # fmt: skip


def test_previous_period_and_period_choices():
    assert previous_period(period_parse("2026-Q1")).start == date(2025, 10, 1)
    assert previous_period(period_parse("2026")).end == date(2025, 12, 31)
    assert previous_period(period_parse("2026-03")).start == date(2026, 2, 1)
    span = (date(2025, 11, 3), date(2026, 8, 30))
    assert [value for value, _ in period_choices(span, date(2026, 11, 23))] == [
        "2026-Q4",
        "2026-Q3",
        "2026-Q2",
        "2026-Q1",
        "2025-Q4",
        "2026",
        "2025",
    ]  # fmt: skip  (the current quarter is selectable although the data stops in Q3)
    assert [value for value, _ in period_choices(None, date(2026, 11, 23))] == ["2026-Q4", "2026"]
    assert default_period(span, date(2026, 11, 23)) == "2026-Q3"  # nothing yet this quarter
    assert default_period(span, date(2026, 8, 1)) == "2026-Q3"
    assert default_period(None, date(2026, 11, 23)) == "2026-Q4"


@pytest.mark.django_db
def test_overview_page_renders_kpis_and_every_chart(client, alice, ledger):
    client.force_login(alice)
    response = client.get("/", {"period": Q3_LABEL})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-kpi="location">1.045 t CO2e<' in page and 'data-kpi="market">795.0 kg CO2e<' in page
    for name in figures.OVERVIEW_CHARTS:
        assert f'id="chart-{name}-data"' in page
        assert f"download={name}" in page
    assert "frontend/vendor/plotly/plotly.min.js" in page and "frontend/vendor/htmx/htmx.min.js" in page
    assert "cdn" not in page.lower()


@pytest.mark.django_db
def test_filter_change_over_htmx_returns_the_fragment(client, alice, ledger):
    client.force_login(alice)
    response = client.get("/", {"period": Q3_LABEL, "team": "a-team", "scope": "2"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200 and page.startswith('<div id="overview-body"')
    assert "<html" not in page and 'data-kpi="location">300.0 kg CO2e<' in page
    assert "HX-Request" in response["Vary"]
    restore = client.get("/", {"period": Q3_LABEL}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


@pytest.mark.django_db
def test_each_chart_downloads_as_csv(client, alice, ledger):
    client.force_login(alice)
    response = client.get("/", {"period": Q3_LABEL, "download": "by_team"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="org-a-2026-Q3-by_team.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row["team"] for row in rows} == {"(unallocated)", "A Team", "Data"}
    assert client.get("/", {"download": "nope", "period": Q3_LABEL}).status_code == 404


@pytest.mark.django_db
def test_bad_filters_are_refused_with_the_reason(client, alice, ledger):
    client.force_login(alice)
    response = client.get("/", {"period": "last week"})
    assert response.status_code == 400 and "is not a period" in response.content.decode()
    assert client.get("/", {"team": "b-team"}).status_code == 400  # another organization's team


@pytest.mark.django_db
def test_empty_state_shows_the_codecarbon_endpoint_and_tokens_page(client, alice, org_a):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "http://testserver/api/codecarbon/" in page and 'href="/settings/tokens/"' in page
    assert "chart-" not in page


@pytest.mark.django_db
def test_a_chart_without_data_under_the_filters_says_how_to_get_data(client, alice, ledger):
    client.force_login(alice)
    page = client.get("/", {"period": "2026-Q1"}).content.decode()
    assert "No data for these filters" in page and "/api/codecarbon/" in page


@pytest.mark.django_db
def test_another_organizations_data_never_appears(client, alice, charlie, ledger, org_b):
    secret = TeamFactory(organization=org_b, slug="secret", name="Secret Team")
    other = calculation_add(org_b, Q3)
    record_add(other, start=date(2026, 7, 10), location=987_654, team=secret)
    rollup_refresh(organization=org_b)
    assert _dashboard(ledger).kpis["emissions_t_co2e_location"] == pytest.approx(1.045)
    client.force_login(alice)
    page = client.get("/", {"period": Q3_LABEL}).content.decode()
    assert "Secret Team" not in page and "987.7" not in page and "987,6" not in page
    csv_text = client.get("/", {"period": Q3_LABEL, "download": "by_team"}).content.decode()
    assert "Secret" not in csv_text
    client.force_login(charlie)
    page = client.get("/", {"period": Q3_LABEL}).content.decode()
    assert "Secret Team" in page and "A Team" not in page and 'data-kpi="location">987.654 t CO2e<' in page


@pytest.mark.django_db
def test_team_named_like_a_script_is_text_in_page_and_chart(client, alice, ledger):
    evil = "<script>alert(1)</script>"
    ledger.teams.filter(slug="data").update(name=evil)
    client.force_login(alice)
    page = client.get("/", {"period": Q3_LABEL}).content.decode()
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the team select
    payload = re.search(r'<script type="application/json" id="chart-by_team-data">(.*?)</script>', page, re.S)[1]
    assert "<" not in payload
    names = json.loads(payload)["figure"]["data"][0]["y"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in names  # plotly shows entities as literal text


def test_figures_have_units_in_titles_and_hovers():
    frame = pd.DataFrame(
        {"team": ["A", "B"], "emissions_t_co2e_location": [2.0, 1.0], "emissions_t_co2e_market": [1.0, 1.0]}
    )
    fig = figures.by_team_figure(frame)
    assert "tCO2e" in fig.layout.title.text
    assert all("tCO2e" in trace.hovertemplate for trace in fig.data)
    assert [trace.name for trace in fig.data] == ["Location-based", "Market-based"]
    over_time = pd.DataFrame(
        {
            "period_start": [date(2026, 7, 1)] * 2,
            "scope_category": ["Scope 2", "Scope 1"],
            "emissions_t_co2e_location": [1.0, 2.0],
            "emissions_t_co2e_market": [1.0, 2.0],
        }
    )
    fig = figures.emissions_over_time_figure(over_time, bucket="week", view_label="inventory view")
    assert fig.layout.barmode == "stack" and [t.name for t in fig.data] == ["Scope 1", "Scope 2"]
    assert "per week" in fig.layout.title.text and "tCO2e" in fig.layout.title.text
    assert (
        figures.CHART_CONFIG["displaylogo"] is False and figures.CHART_CONFIG["toImageButtonOptions"]["format"] == "png"
    )


def test_plotly_figure_tag_escapes_the_json():
    fig = figures.share_figure(pd.DataFrame({"q": ["</script><b>&"], "v": [1.0]}), category="q", value="v",
                               title="</script>", unit="tCO2e")  # fmt: skip
    html = Template('{% load charts %}{% plotly_figure fig "chart-x" %}').render(Context({"fig": fig}))
    assert html.count("</script>") == 1  # only the closing tag of the JSON block
    payload = html.split('id="chart-x-data">')[1].removesuffix("</script>")
    decoded = json.loads(payload)
    assert decoded["figure"]["layout"]["title"]["text"] == "</script>"
    assert decoded["config"]["toImageButtonOptions"]["filename"] == "chart-x"
    assert 'data-chart="chart-x-data"' in html and 'aria-label="&lt;/script&gt;"' in html
