"""The team page (``/teams/<slug>/``): projects, monthly trend, budget burn-down, rank and biggest runs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from emissions.models import Team
from frontend import figures
from frontend.pages.dashboard_common import chart_download, period_filters, query_without_download, with_empty_hints
from frontend.views import membership_required
from reporting.dashboard_pages import team_dashboard

BOTH_BASES = {"emissions_t_co2e_location": "Location-based", "emissions_t_co2e_market": "Market-based"}
BOTH_COLORS = {"emissions_t_co2e_location": figures.LOCATION_COLOR, "emissions_t_co2e_market": figures.MARKET_COLOR}

TEAM_CHARTS = {
    "trend": ("wide", lambda f: figures.lines_figure(
        f, x="period_start", lines=BOTH_BASES, colors=BOTH_COLORS, unit="tCO2e",
        title="Team emissions per month, last 12 months (tCO2e)")),
    "burndown": ("half", lambda f: figures.lines_figure(
        f, x="day", lines={"remaining_t_co2e": "Remaining budget", "ideal_remaining_t_co2e": "Steady burn"},
        colors={"remaining_t_co2e": figures.LOCATION_COLOR, "ideal_remaining_t_co2e": "#999999"}, unit="tCO2e",
        title="Carbon budget burn-down (tCO2e remaining)")),
    "projects": ("half", lambda f: figures.ranked_bar_figure(
        f, category="project", bars=BOTH_BASES, colors=BOTH_COLORS, unit="tCO2e",
        title="Emissions by project this period (tCO2e)")),
    "biggest_runs": ("wide", lambda f: figures.ranked_bar_figure(
        f, category="run", bars=BOTH_BASES, colors=BOTH_COLORS, unit="tCO2e",
        title="Biggest runs started this period (tCO2e, operational)")),
}  # fmt: skip
EMPTY_HINTS = {
    "burndown": "No carbon budget for this team in this period. An admin adds one in the Django admin "
    "(Reporting → Carbon budgets); budgets are listed under Settings.",
    "biggest_runs": "No runs of this team started in this period.",
}


@membership_required
def team(request, slug: str):
    """One team of the organization for the filtered period; ``?download=<chart>`` gives its CSV."""
    organization = request.membership.organization
    team = get_object_or_404(Team.objects.for_org(organization), slug=slug)
    form, filters = period_filters(request, organization)
    context = {"team": team, "form": form, "filters": filters}
    if filters is not None:
        data = team_dashboard(organization=organization, team=team, period=filters.period, view=filters.view)
        download = chart_download(request, data.charts, f"{organization.slug}-{team.slug}-{filters.period.label}")
        if download:
            return download
        charts = figures.page_figures(data.charts, TEAM_CHARTS)
        context |= {"facts": data.facts, "charts": with_empty_hints(charts, EMPTY_HINTS),
                    "query": query_without_download(request)}  # fmt: skip
    return render(request, "frontend/team.html", context, status=200 if filters else 400)
