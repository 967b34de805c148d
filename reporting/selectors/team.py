"""Reads for the team page (``/teams/<slug>/``): the team's projects, monthly trend, budget burn-down, rank
and biggest runs.

Period figures come from the daily rollup (``DailyEmissionRollup``) like the overview's; runs are ranked from
the per-run rollup (``RunEmissionRollup``, the same days' rule), never by grouping ledger lines per run; the
figures shown beside a run come from the ledger lines of the newest current Calculation that covers it
(``emissions.selectors.run_emissions_by_id``), read for the few runs on screen. Every selector takes
``organization=`` and reads only that organization's rows. Emissions are kgCO2e in the selectors and tCO2e
in the chart frames.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from django.db.models import Count, DateField, Sum
from django.db.models.functions import TruncDay, TruncMonth

from emissions.models import Organization, Project, Run, RunEmissionRollup, Team
from emissions.periods import Period
from emissions.selectors import run_emissions_by_id
from emissions.units import KG_PER_T, SECONDS_PER_HOUR
from reporting.models import CarbonBudget
from reporting.selectors.common import PageData, competition_ranks, rollup_in_view, runs_started_in

BIGGEST_RUNS = 10


def _months_back(end: date, months: int) -> date:
    """First day of the month ``months - 1`` months before ``end``'s month (a trailing window)."""
    index = end.year * 12 + end.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def runs_with_emissions(runs) -> pd.DataFrame:
    """Runs (a queryset) with their operational kgCO2e (newest current calculation) as a frame.

    Columns: ``run_id, external_id, kind, started_at, energy_kwh, gpu_hours, emissions_kg_co2e_location,
    emissions_kg_co2e_market``.
    """
    columns = ["run_id", "external_id", "kind", "started_at", "energy_kwh", "gpu_count", "duration_s"]
    frame = pd.DataFrame.from_records(
        list(runs.values_list("pk", "external_id", "kind", "started_at", "energy_kwh", "gpu_count", "duration_s")),
        columns=columns,
    )
    kg = run_emissions_by_id(run_ids=[int(pk) for pk in frame["run_id"]])
    frame["gpu_hours"] = frame.pop("gpu_count").astype(float) * frame.pop("duration_s").astype(float) / SECONDS_PER_HOUR
    frame["emissions_kg_co2e_location"] = [float(kg.get(pk, (0.0, 0.0))[0] or 0.0) for pk in frame["run_id"]]
    frame["emissions_kg_co2e_market"] = [float(kg.get(pk, (0.0, 0.0))[1] or 0.0) for pk in frame["run_id"]]
    return frame


def team_projects_frame(*, organization: Organization, team: Team, period: Period, view: str) -> pd.DataFrame:
    """The team's projects with runs started in the period and the period's emissions, largest first.

    Columns: ``project, project_slug, runs, energy_kwh, emissions_t_co2e_location, emissions_t_co2e_market``.
    """
    columns = ["project", "project_slug", "runs", "energy_kwh", "emissions_t_co2e_location", "emissions_t_co2e_market"]
    emissions = {
        row["project_id"]: row
        for row in rollup_in_view(organization, period.start, period.end, view)
        .filter(team=team)
        .values("project_id")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }
    projects = list(Project.objects.for_org(organization).filter(team=team))
    runs = {
        row["project_id"]: row
        for row in Run.objects.for_org(organization)
        .without_empty_members()
        .filter(runs_started_in(period), project_id__in=[project.pk for project in projects])  # the index's columns
        .values("project_id")
        .annotate(runs=Count("id"), energy_kwh=Sum("energy_kwh"))
        .order_by()
    }
    records = []
    for project in projects:
        kg = emissions.get(project.pk, {})
        run = runs.get(project.pk, {})
        records.append(
            [
                project.name,
                project.slug,
                run.get("runs", 0),
                float(run.get("energy_kwh") or 0.0),
                float(kg.get("location") or 0.0) / KG_PER_T,
                float(kg.get("market") or 0.0) / KG_PER_T,
            ]
        )
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.sort_values(["emissions_t_co2e_location", "project"], ascending=[False, True], ignore_index=True)


def team_trend_frame(*, organization: Organization, team: Team, end: date, view: str, months: int = 12) -> pd.DataFrame:
    """The team's emissions per month over the ``months`` ending with ``end``'s month (empty months as 0).

    Columns: ``period_start, emissions_t_co2e_location, emissions_t_co2e_market``.
    """
    start = _months_back(end, months)
    sums = {
        row["month"]: row
        for row in rollup_in_view(organization, start, end, view)
        .filter(team=team)
        .annotate(month=TruncMonth("day", output_field=DateField()))
        .values("month")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }
    if not sums:
        return pd.DataFrame(columns=["period_start", "emissions_t_co2e_location", "emissions_t_co2e_market"])
    month_starts = [_months_back(end, months - offset) for offset in range(months)]
    return pd.DataFrame(
        {
            "period_start": month_starts,
            "emissions_t_co2e_location": [
                float(sums.get(m, {}).get("location") or 0.0) / KG_PER_T for m in month_starts
            ],
            "emissions_t_co2e_market": [float(sums.get(m, {}).get("market") or 0.0) / KG_PER_T for m in month_starts],
        }
    )


def team_budget_burndown(*, organization: Organization, team: Team, period: Period, view: str) -> dict | None:
    """The team's carbon budget overlapping the period (the latest one), and its burn-down.

    Keys: ``budget`` (the CarbonBudget), ``used_kg_co2e``, ``remaining_kg_co2e``, ``burn_pct`` and ``frame``
    with columns ``day, remaining_t_co2e, ideal_remaining_t_co2e`` (remaining after each day, and what a
    steady burn would leave), up to the budget's end or the last day with data. None without a budget.
    """
    budget = (
        CarbonBudget.objects.for_org(organization)
        .filter(team=team, period_start__lte=period.end, period_end__gte=period.start)
        .order_by("-period_start")
        .first()
    )
    if budget is None:
        return None
    column = "emissions_kg_co2e_market" if budget.basis == CarbonBudget.Basis.MARKET else "emissions_kg_co2e_location"
    daily = dict(
        rollup_in_view(organization, budget.period_start, budget.period_end, view)
        .filter(team=team)
        .annotate(date=TruncDay("day", output_field=DateField()))
        .values("date")
        .annotate(kg=Sum(column))
        .order_by()
        .values_list("date", "kg")
    )
    last = max(daily) if daily else budget.period_start
    days = (budget.period_end - budget.period_start).days + 1
    rows, used = [], 0.0
    day = budget.period_start
    while day <= last:
        used += float(daily.get(day) or 0.0)
        elapsed = (day - budget.period_start).days + 1
        ideal = budget.budget_kg_co2e * (1 - elapsed / days)
        rows.append([day, (budget.budget_kg_co2e - used) / KG_PER_T, ideal / KG_PER_T])
        day += timedelta(days=1)
    frame = pd.DataFrame.from_records(rows, columns=["day", "remaining_t_co2e", "ideal_remaining_t_co2e"])
    return {
        "budget": budget,
        "used_kg_co2e": used,
        "remaining_kg_co2e": budget.budget_kg_co2e - used,
        "burn_pct": 100.0 * used / budget.budget_kg_co2e,
        "frame": frame,
    }


def team_rank(*, organization: Organization, team: Team, period: Period, view: str) -> dict:
    """The team's place among the organization's teams by location-based tCO2e in the period and view, in the
    leaderboard's direction: 1 = least, lower is better, equal values share a rank (``competition_ranks``).

    Keys: ``rank`` (None when the team has no emissions), ``teams`` (teams with emissions), and the
    team's ``emissions_t_co2e_location`` and ``emissions_t_co2e_market`` (all its records, with or
    without a project).
    """
    totals = list(
        rollup_in_view(organization, period.start, period.end, view)
        .filter(team__isnull=False)
        .values("team_id")
        .annotate(kg=Sum("emissions_kg_co2e_location"), market_kg=Sum("emissions_kg_co2e_market"))
        .order_by("team_id")
    )
    # Teams with no emissions in the period are unranked, as rows without a value are on the leaderboard.
    ranks = competition_ranks({row["team_id"]: row["kg"] for row in totals if row["kg"]})
    own: dict = next((row for row in totals if row["team_id"] == team.pk), {})
    return {
        "rank": ranks.get(team.pk),
        "teams": len(ranks),
        "emissions_t_co2e_location": (own.get("kg") or 0.0) / KG_PER_T,
        "emissions_t_co2e_market": (own.get("market_kg") or 0.0) / KG_PER_T,
    }


def team_biggest_runs(*, organization: Organization, team: Team, period: Period, limit: int = BIGGEST_RUNS):
    """The team's runs started in the period with the largest operational kgCO2e (location-based), ranked on
    the per-run rollup (a run's pieces added). Columns: those of ``runs_with_emissions``, largest first."""
    projects = list(Project.objects.for_org(organization).filter(team=team).values_list("pk", flat=True))
    largest = (
        RunEmissionRollup.objects.for_org(organization)
        .filter(runs_started_in(period), project_id__in=projects)  # ids, so the (project, started_at) index serves
        .values("run_id")
        .annotate(kg=Sum("emissions_kg_co2e_location"))
        .order_by("-kg", "run_id")
        .values_list("run_id", flat=True)[:limit]
    )
    runs = runs_with_emissions(Run.objects.for_org(organization).filter(pk__in=list(largest)))
    return runs.sort_values(["emissions_kg_co2e_location", "run_id"], ascending=[False, True]).head(limit)


def team_dashboard(*, organization: Organization, team: Team, period: Period, view: str) -> PageData:
    """Everything on the team page: projects, monthly trend, budget burn-down, rank and biggest runs."""
    projects = team_projects_frame(organization=organization, team=team, period=period, view=view)
    biggest = team_biggest_runs(organization=organization, team=team, period=period)
    biggest_runs = pd.DataFrame(
        {
            "run": biggest["external_id"],
            "run_id": biggest["run_id"],
            "emissions_t_co2e_location": biggest["emissions_kg_co2e_location"] / KG_PER_T,
            "emissions_t_co2e_market": biggest["emissions_kg_co2e_market"] / KG_PER_T,
        }
    )
    burndown = team_budget_burndown(organization=organization, team=team, period=period, view=view)
    charts = {
        "trend": team_trend_frame(organization=organization, team=team, end=period.end, view=view),
        "projects": projects[["project", "project_slug", "emissions_t_co2e_location", "emissions_t_co2e_market"]],
        "biggest_runs": biggest_runs,
    }
    if burndown is not None:
        charts["burndown"] = burndown["frame"]
    facts = {
        "projects": projects.to_dict("records"),
        "rank": team_rank(organization=organization, team=team, period=period, view=view),
        "budget": burndown,
        "biggest_runs": biggest.to_dict("records"),
    }
    return PageData(facts=facts, charts=charts)
