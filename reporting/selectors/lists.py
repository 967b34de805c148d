"""Reads for the Teams and Projects list pages (``/teams/``, ``/projects/``): every team (project) of the
organization with its figures for a period, searchable and sortable.

Emissions come from the daily rollup like the overview's and the team page's (the same view bases, so the
three agree); runs are the runs started in the period (UTC days), as on the team page. One grouped query
per figure, whatever the number of teams or projects; sorting and paging happen on the small result.
"""

from __future__ import annotations

import pandas as pd
from django.db.models import Count, Q, Sum

from emissions.models import Organization, Project, Run, Team
from emissions.periods import Period
from emissions.units import KG_PER_T
from reporting.selectors.common import rollup_in_view, runs_started_in

TEAM_LIST_COLUMNS = ["slug", "name", "projects", "runs", "emissions_t_co2e_location", "emissions_t_co2e_market"]
PROJECT_LIST_COLUMNS = [
    "slug",
    "name",
    "team_slug",
    "team",
    "runs",
    "emissions_t_co2e_location",
    "emissions_t_co2e_market",
]
# ?sort= keys of both lists → (column, ascending); ties are broken by name, then slug.
LIST_SORTS = {
    "name": ("name", True),
    "-name": ("name", False),
    "emissions": ("emissions_t_co2e_location", True),
    "-emissions": ("emissions_t_co2e_location", False),
    "runs": ("runs", True),
    "-runs": ("runs", False),
}


def _matching(queryset, query: str):
    """Rows whose name or slug contains ``query`` (case-insensitive); all rows for a blank query."""
    query = query.strip()
    return queryset.filter(Q(name__icontains=query) | Q(slug__icontains=query)) if query else queryset


def _emissions_by(organization: Organization, period: Period, view: str, owner: str) -> dict[int, tuple]:
    """kgCO2e (location, market) per ``owner`` id (``team_id`` or ``project_id``) in the period and view."""
    rows = (
        rollup_in_view(organization, period.start, period.end, view)
        .filter(**{f"{owner}__isnull": False})
        .values(owner)
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    )
    return {row[owner]: (float(row["location"] or 0.0), float(row["market"] or 0.0)) for row in rows}


def _figures(pk: int, runs: dict[int, int], emissions: dict[int, tuple]) -> list:
    """``runs, emissions_t_co2e_location, emissions_t_co2e_market`` of one team or project (0 without data)."""
    location_kg, market_kg = emissions.get(pk, (0.0, 0.0))
    return [runs.get(pk, 0), location_kg / KG_PER_T, market_kg / KG_PER_T]


def _sorted(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    column, ascending = LIST_SORTS.get(sort, LIST_SORTS["name"])
    if frame.empty:
        return frame
    key = frame["name"].str.lower()
    ordered = frame.assign(_name=key).sort_values(
        [column if column != "name" else "_name", "_name", "slug"], ascending=[ascending, True, True], kind="stable"
    )
    return ordered.drop(columns="_name").reset_index(drop=True)


def teams_list_frame(
    *, organization: Organization, period: Period, view: str, query: str = "", sort: str = "name"
) -> pd.DataFrame:
    """The organization's teams matching ``query`` with their projects, runs started in the period and tCO2e
    (location- and market-based) in the period and ``view``, ordered by a ``LIST_SORTS`` key.

    Columns: ``TEAM_LIST_COLUMNS``.
    """
    teams = _matching(Team.objects.for_org(organization), query).annotate(projects_count=Count("projects"))
    emissions = _emissions_by(organization, period, view, "team_id")
    runs = dict(
        Run.objects.for_org(organization)
        .without_empty_members()
        .filter(runs_started_in(period))
        .values("project__team_id")
        .annotate(runs=Count("id"))
        .order_by()
        .values_list("project__team_id", "runs")
    )
    records = [[team.slug, team.name, team.projects_count, *_figures(team.pk, runs, emissions)] for team in teams]
    return _sorted(pd.DataFrame.from_records(records, columns=TEAM_LIST_COLUMNS), sort)


def projects_list_frame(
    *, organization: Organization, period: Period, view: str, query: str = "", sort: str = "name"
) -> pd.DataFrame:
    """The organization's projects matching ``query`` (in their own or their team's name) with their team,
    runs started in the period and tCO2e in the period and ``view``, ordered by a ``LIST_SORTS`` key.

    Columns: ``PROJECT_LIST_COLUMNS``.
    """
    projects = Project.objects.for_org(organization).select_related("team")
    query = query.strip()
    if query:
        projects = projects.filter(Q(name__icontains=query) | Q(slug__icontains=query) | Q(team__name__icontains=query))
    emissions = _emissions_by(organization, period, view, "project_id")
    runs = dict(
        Run.objects.for_org(organization)
        .without_empty_members()
        .filter(runs_started_in(period))
        .values("project_id")
        .annotate(runs=Count("id"))
        .order_by()
        .values_list("project_id", "runs")
    )
    records = [
        [project.slug, project.name, project.team.slug, project.team.name, *_figures(project.pk, runs, emissions)]
        for project in projects
    ]
    return _sorted(pd.DataFrame.from_records(records, columns=PROJECT_LIST_COLUMNS), sort)
