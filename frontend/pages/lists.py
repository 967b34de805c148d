"""The Teams and Projects list pages (``/teams/``, ``/projects/``): search, sort and pages, with each row's
figures for the period and view of the overview's filters."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import urlencode

from frontend.access import membership_required
from frontend.pages.dashboard_common import period_filters
from reporting.selectors.lists import LIST_SORTS, projects_list_frame, teams_list_frame

ROWS_PER_PAGE = 25
SORTABLE = ("name", "runs", "emissions")
SORT_LABELS = {
    "name": "name, A to Z",
    "-name": "name, Z to A",
    "runs": "runs started, fewest first",
    "-runs": "runs started, most first",
    "emissions": "tCO2e location-based, least first",
    "-emissions": "tCO2e location-based, most first",
}


def _sort_links(sort: str) -> dict[str, dict]:
    """Per sortable column: the ``?sort=`` its header links to (a second click reverses it) and its arrow."""
    links = {}
    for key in SORTABLE:
        arrow = "▲" if sort == key else "▼" if sort == f"-{key}" else ""
        links[key] = {"next": f"-{key}" if sort == key else key, "arrow": arrow}
    return links


def _list_page(request, *, template: str, selector):
    """``?q=`` search, ``?sort=`` (a ``LIST_SORTS`` key), ``?page=``; ``?period=`` and ``?view=`` as on the
    overview (400 when they do not validate)."""
    organization = request.membership.organization
    form, filters = period_filters(request, organization)
    query = request.GET.get("q", "")[:100]
    sort = request.GET.get("sort") if request.GET.get("sort") in LIST_SORTS else "name"
    context = {"form": form, "filters": filters, "q": query, "sort": sort}
    if filters is not None:
        frame = selector(organization=organization, period=filters.period, view=filters.view, query=query, sort=sort)
        page = Paginator(frame.to_dict("records"), ROWS_PER_PAGE).get_page(request.GET.get("page"))
        keep = {"q": query, "period": filters.period.label, "view": filters.view}
        context |= {
            "page": page,
            "keep": urlencode({key: value for key, value in keep.items() if value}),
            "sort_links": _sort_links(sort),
            "sort_label": SORT_LABELS[sort],
        }
    return render(request, template, context, status=200 if filters else 400)


@membership_required
def teams(request):
    """Every team of the organization with its projects, runs and tCO2e in the period."""
    return _list_page(request, template="frontend/teams.html", selector=teams_list_frame)


@membership_required
def projects(request):
    """Every project of the organization with its team, runs and tCO2e in the period."""
    return _list_page(request, template="frontend/projects.html", selector=projects_list_frame)
