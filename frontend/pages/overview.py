"""The organization overview (``/``): KPI cards and charts from the daily rollup, filtered with htmx."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from emissions.selectors import unlocated_runs_summary
from emissions.tables import frame_csv
from frontend import figures
from frontend.access import membership_required
from frontend.pages.drilldown import chart_links, link_list
from frontend.pages.filters import OverviewFilterForm
from reporting.selectors.common import rollup_span
from reporting.selectors.overview import overview_dashboard


def is_partial(request) -> bool:
    """An htmx request for a fragment (a history restore asks for the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def csv_response(frame, filename: str) -> HttpResponse:
    """A chart's or table's data as a CSV download (emissions/tables.py: the one guarded CSV writer)."""
    response = HttpResponse(frame_csv(frame), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Overview charts that name teams or projects: (name column, key column) of their frames.
DRILLDOWN_CHARTS = {"by_team": ("team", "team_slug"), "top_projects": ("project", "project_slug")}


def overview_charts(dashboard, filters) -> list[dict]:
    """The overview's charts; those naming teams or projects open their pages on a click (the team page for
    the same period and view) and list those pages under the chart (``links``)."""
    period = {"period": filters.period.label, "view": filters.view}
    links, lists = {}, {}
    for chart, (name, key) in DRILLDOWN_CHARTS.items():
        query = period if key == "team_slug" else None
        links[chart] = chart_links(dashboard.charts[chart], key, query)
        lists[chart] = link_list(dashboard.charts[chart], name=name, key=key, query=query)
    charts = figures.overview_figures(dashboard.charts, bucket=dashboard.bucket, view=filters.view, links=links)
    return [{**chart, "links": lists.get(chart["name"], [])} for chart in charts]


@membership_required
def overview(request):
    """KPIs and charts of the organization for the filtered period; ``?download=<chart>`` gives its CSV."""
    organization = request.membership.organization
    span = rollup_span(organization=organization)
    form = OverviewFilterForm(request.GET, organization=organization, span=span, today=timezone.now().date())
    context = {
        "form": form,
        "has_data": span is not None,
        "unlocated": unlocated_runs_summary(organization=organization),
    }
    if form.is_valid():
        filters = form.filters()
        dashboard = overview_dashboard(organization=organization, filters=filters)
        chart = request.GET.get("download")
        if chart:
            if chart not in dashboard.charts:
                raise Http404("No such chart.")
            return csv_response(dashboard.charts[chart], f"{organization.slug}-{filters.period.label}-{chart}.csv")
        query = request.GET.copy()
        query.pop("download", None)
        context |= {
            "filters": filters,
            "kpis": dashboard.kpis,
            "charts": overview_charts(dashboard, filters),
            "view_text": figures.view_text(filters.view),
            "query": query.urlencode(),
        }
    template = "frontend/partials/overview_body.html" if is_partial(request) else "frontend/overview.html"
    response = render(request, template, context, status=200 if form.is_valid() else 400)
    patch_vary_headers(response, ["HX-Request"])
    return response
