"""The overview's budget burn read from the chart frame (the year-view speed-up) equals the separate query."""

from datetime import date

import pytest
from django.db.models import Sum

from emissions.models import DailyEmissionRollup
from emissions.periods import period_parse
from reporting.guild.budgets import budget_statuses
from reporting.models import CarbonBudget
from reporting.rollups import rollup_refresh
from reporting.selectors.common import VIEW_BASES
from reporting.selectors.overview import (
    OverviewFilters,
    bucket_for,
    budget_burn,
    frame_covers_budgets,
    overview_dashboard,
    overview_rollup_frame,
)
from tests.frontend.dashboard_data import small_ledger_create


@pytest.fixture
def ledger(org_a):
    """Overrides the shared ledger (tests/frontend/conftest.py): the same, plus a Q3 market-based budget of
    A Project created before the rollup refresh."""
    small_ledger_create(org_a)
    CarbonBudget.objects.create(organization=org_a, project=org_a.projects.get(slug="a-project"),
                                period_start=date(2026, 7, 1), period_end=date(2026, 9, 30), budget_kg_co2e=200,
                                basis=CarbonBudget.Basis.MARKET)  # fmt: skip
    rollup_refresh(organization=org_a)
    return org_a


def _both(org, **filters) -> tuple[dict, dict]:
    filters = OverviewFilters(**filters)
    bucket = bucket_for(filters.period)
    frame = overview_rollup_frame(organization=org, filters=filters, bucket=bucket, water_l_per_facility_kwh={})
    return (
        budget_burn(organization=org, filters=filters, frame=frame, bucket=bucket),
        budget_burn(organization=org, filters=filters),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("period", ["2026", "2026-H2", "2026-Q3", "2026-07", "2025"])
@pytest.mark.parametrize("team", [None, "a-team"])
def test_budget_burn_from_the_frame_equals_the_query(ledger, period, team):
    team_id = ledger.teams.get(slug=team).pk if team else None
    for view in ("inventory", "management"):
        from_frame, queried = _both(ledger, period=period_parse(period), team_id=team_id, view=view)
        assert from_frame == pytest.approx(queried)


@pytest.mark.django_db
def test_year_view_budget_burn_hand_computed(ledger):
    dashboard = overview_dashboard(organization=ledger, filters=OverviewFilters(period=period_parse("2026")))
    budget = dashboard.kpis["budget"]
    # A Team 350 of 1,000 kg; Data 120 of 100 kg (over); A Project 150 (market) of 200 kg.
    assert budget["budget_kg_co2e"] == 1300 and budget["used_kg_co2e"] == pytest.approx(620)
    assert budget["over_budget"] == 1


def test_frame_covers_only_whole_buckets_inside_the_period():
    quarter = CarbonBudget(period_start=date(2026, 7, 1), period_end=date(2026, 9, 30))
    odd = CarbonBudget(period_start=date(2026, 7, 15), period_end=date(2026, 9, 30))
    year = period_parse("2026")
    assert frame_covers_budgets([quarter], year, "month") and not frame_covers_budgets([quarter, odd], year, "month")
    assert frame_covers_budgets([odd], year, "day") and not frame_covers_budgets([quarter], year, "week")
    assert not frame_covers_budgets([quarter], period_parse("2026-08"), "day")  # the budget reaches outside the month


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["inventory", "management"])
@pytest.mark.parametrize("scope", [None, 2])
def test_the_overview_counts_the_budgets_the_budgets_page_fails(ledger, view, scope):
    # Exactly used up counts as over on both pages (the Budgets page's fail is used ≥ budget).
    CarbonBudget.objects.create(organization=ledger, team=ledger.teams.get(slug="a-team"),
                                period_start=date(2026, 7, 2), period_end=date(2026, 7, 31),
                                budget_kg_co2e=_team_july_kg(ledger))  # fmt: skip
    period = period_parse("2026-Q3")
    statuses = budget_statuses(organization=ledger, today=date(2026, 12, 5), start=period.start, end=period.end)
    budget = overview_dashboard(
        organization=ledger, filters=OverviewFilters(period=period, view=view, scope=scope)
    ).kpis["budget"]
    assert budget["over_budget"] == sum(s.status == "fail" for s in statuses) == 2
    assert budget["used_kg_co2e"] == pytest.approx(sum(s.used_kg_co2e for s in statuses))
    assert budget["budgets"] == len(statuses)


def _team_july_kg(org) -> float:
    team = org.teams.get(slug="a-team")
    rows = DailyEmissionRollup.objects.for_org(org).filter(
        team=team, day__gte=date(2026, 7, 2), day__lte=date(2026, 7, 31), basis__in=VIEW_BASES["inventory"]
    )
    return rows.aggregate(kg=Sum("emissions_kg_co2e_location"))["kg"]
