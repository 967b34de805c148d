"""What the team, project, run, hardware and cloud pages share: the period filter, CSV downloads, chart cards."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from frontend import figures
from frontend.pages.filters import OverviewFilterForm
from frontend.pages.overview import csv_response
from reporting.selectors.common import rollup_span
from reporting.selectors.overview import OverviewFilters


def period_filters(request, organization) -> tuple[OverviewFilterForm, OverviewFilters | None]:
    """The overview's ``?period=…&view=…`` filters (same defaults), or None when they do not validate."""
    span = rollup_span(organization=organization)
    form = OverviewFilterForm(request.GET, organization=organization, span=span, today=timezone.now().date())
    return form, form.filters() if form.is_valid() else None


def chart_download(request, frames: dict, filename_stem: str) -> HttpResponse | None:
    """The CSV of ``?download=<chart>`` (404 for an unknown chart), or None when none is asked for."""
    chart = request.GET.get("download")
    if not chart:
        return None
    if chart not in frames:
        raise Http404("No such chart.")
    return csv_response(frames[chart], f"{filename_stem}-{chart}.csv")


def query_without_download(request) -> str:
    """The page's query string, for the download links (so the CSV matches the filters on screen)."""
    query = request.GET.copy()
    query.pop("download", None)
    return query.urlencode()


def with_empty_hints(charts: list[dict], hints: dict[str, str], *, from_trackers: bool = True) -> list[dict]:
    """Each chart's own words for its empty state (how to get that data in); ``from_trackers`` adds the
    CodeCarbon endpoint and token for charts fed by tracker runs (not for fleet registers or bills)."""
    return [{**chart, "empty": hints.get(chart["name"], ""), "from_trackers": from_trackers} for chart in charts]


def period_page(request, *, name: str, dashboard, chart_specs: dict, empty_hints: dict) -> HttpResponse:
    """A page of the organization over the filtered period: ``dashboard(organization=, period=)`` gives
    its facts and chart frames, drawn by ``chart_specs``; ``?download=<chart>`` gives a chart's CSV.
    Renders ``frontend/<name>.html`` (400 when the filters do not validate)."""
    organization = request.membership.organization
    form, filters = period_filters(request, organization)
    context = {"form": form, "filters": filters}
    if filters is not None:
        data = dashboard(organization=organization, period=filters.period)
        download = chart_download(request, data.charts, f"{organization.slug}-{name}-{filters.period.label}")
        if download:
            return download
        charts = with_empty_hints(figures.page_figures(data.charts, chart_specs), empty_hints, from_trackers=False)
        context |= {"facts": data.facts, "charts": charts, "query": query_without_download(request)}
    return render(request, f"frontend/{name}.html", context, status=200 if filters else 400)
