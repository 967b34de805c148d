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
from reporting.selectors.scope2_hourly import sites_cfe_heatmap_frame


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


@membership_required
def overview_cfe_heatmap(request):
    """The overview's 24/7 heatmap card, fetched by the overview page once it has loaded (htmx): the hourly
    calculation behind it takes a second or more for a large organization, so the page never waits for it.
    The overview's filters (only the period counts); ``?download=cfe_heatmap`` gives its CSV."""
    organization = request.membership.organization
    form = OverviewFilterForm(
        request.GET,
        organization=organization,
        span=rollup_span(organization=organization),
        today=timezone.now().date(),
    )
    if not form.is_valid():
        return render(request, "frontend/partials/overview_cfe_heatmap.html", {"form": form}, status=400)
    period = form.filters().period
    frame = sites_cfe_heatmap_frame(organization=organization, period=period)
    if request.GET.get("download"):
        return csv_response(frame, f"{organization.slug}-{period.label}-cfe_heatmap.csv")
    query = request.GET.copy()
    query.pop("download", None)
    chart = {
        "name": "cfe_heatmap",
        "width": "half",
        "figure": None if frame.empty else figures.sites_cfe_heatmap_figure(frame),
        "links": [{"name": "Scope 2, hourly, and the sites' figures", "url": f"/scope2-hourly/?period={period.label}"}],
    }
    return render(request, "frontend/partials/overview_cfe_heatmap.html", {"chart": chart, "query": query.urlencode()})
