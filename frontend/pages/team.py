"""The team page (``/teams/<slug>/``): projects, monthly trend, budget burn-down, rank and biggest runs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from emissions.models import Team
from frontend import figures
from frontend.access import membership_required
from frontend.pages.dashboard_common import chart_download, period_filters, query_without_download, with_empty_hints
from frontend.pages.drilldown import chart_links
from reporting.selectors.team import team_dashboard

BOTH_BASES = {"emissions_t_co2e_location": "Location-based", "emissions_t_co2e_market": "Market-based"}
BOTH_COLORS = {"emissions_t_co2e_location": figures.LOCATION_COLOR, "emissions_t_co2e_market": figures.MARKET_COLOR}


def team_charts(*, view: str, budget_method: str) -> dict:
    """The team page's chart builders (name → (width, frame → Figure)): titles state the view and the Scope 2
    method; the bars of projects and runs open their pages."""
    shown, both = figures.view_text(view), figures.BOTH_METHODS

    def trend(frame):
        title = f"Team emissions per month, last 12 months (tCO2e, {shown}, {both})"
        return figures.lines_figure(
            frame, x="period_start", lines=BOTH_BASES, colors=BOTH_COLORS, unit="tCO2e", title=title
        )

    def burndown(frame):
        return figures.lines_figure(
            frame,
            x="day",
            lines={"remaining_t_co2e": "Remaining budget", "ideal_remaining_t_co2e": "Steady burn"},
            colors={"remaining_t_co2e": figures.LOCATION_COLOR, "ideal_remaining_t_co2e": "#999999"},
            unit="tCO2e",
            title=f"Carbon budget burn-down (tCO2e remaining, {shown}, Scope 2 {budget_method})",
        )

    def projects(frame):
        title = f"Emissions by project this period (tCO2e, {shown}, {both})"
        links = chart_links(frame, "project_slug")
        return figures.ranked_bar_figure(
            frame, category="project", bars=BOTH_BASES, colors=BOTH_COLORS, unit="tCO2e", title=title, links=links
        )

    def biggest_runs(frame):
        title = f"Biggest runs started this period (tCO2e operational, the same in either view, {both})"
        links = chart_links(frame, "run_id")
        return figures.ranked_bar_figure(
            frame, category="run", bars=BOTH_BASES, colors=BOTH_COLORS, unit="tCO2e", title=title, links=links
        )

    return {
        "trend": ("wide", trend),
        "burndown": ("half", burndown),
        "projects": ("half", projects),
        "biggest_runs": ("wide", biggest_runs),
    }


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
        budget = data.facts["budget"]
        budget_method = budget["budget"].get_basis_display().lower() if budget else "location-based"
        charts = figures.page_figures(data.charts, team_charts(view=filters.view, budget_method=budget_method))
        context |= {
            "facts": data.facts,
            "charts": with_empty_hints(charts, EMPTY_HINTS),
            "query": query_without_download(request),
            "view_text": figures.view_text(filters.view),
        }
    return render(request, "frontend/team.html", context, status=200 if filters else 400)
