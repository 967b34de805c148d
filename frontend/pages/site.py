"""The site page (``/sites/<slug>/``): a site's electricity for the period and, where the organization buys
it, its Scope 2 by the inventory's method beside the revision's hourly one, with its 24/7 heatmap."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from emissions.models import Site
from frontend import figures
from frontend.access import membership_required
from frontend.pages.dashboard_common import chart_download, period_filters, query_without_download, with_empty_hints
from frontend.pages.scope2_hourly import EMPTY_HINTS, SCOPE2_HOURLY_CHARTS
from reporting.selectors.site import site_dashboard


@membership_required
def site(request, slug: str):
    """One site of the organization for the filtered period; ``?download=<chart>`` gives a chart's CSV."""
    organization = request.membership.organization
    site = get_object_or_404(Site.objects.for_org(organization).select_related("zone"), slug=slug)
    form, filters = period_filters(request, organization)
    context = {"site": site, "form": form, "filters": filters}
    if filters is not None:
        data = site_dashboard(organization=organization, site=site, period=filters.period)
        download = chart_download(request, data.charts, f"{organization.slug}-{site.slug}-{filters.period.label}")
        if download:
            return download
        charts = figures.page_figures(data.charts, SCOPE2_HOURLY_CHARTS) if data.charts else []
        context |= {
            "facts": data.facts,
            "charts": with_empty_hints(charts, EMPTY_HINTS, from_trackers=False),
            "query": query_without_download(request),
        }
    return render(request, "frontend/site.html", context, status=200 if filters else 400)
