"""The hourly Scope 2 page (``/scope2-hourly/``): the revision's hourly-matched figure beside the inventory's."""

from __future__ import annotations

from frontend import figures
from frontend.access import membership_required
from frontend.pages.dashboard_common import period_page
from reporting.selectors.scope2_hourly import scope2_hourly_dashboard

SCOPE2_HOURLY_CHARTS = {
    "methods": (
        "half",
        lambda f: figures.ranked_bar_figure(
            f,
            category="figure",
            bars={"emissions_t_co2e": "Scope 2"},
            unit="tCO2e",
            title="Scope 2 by method: the inventory's and the revision's hourly figures (tCO2e)",
        ),
    ),
    "cfe_heatmap": (
        "half",
        lambda f: figures.heatmap_figure(
            f,
            x="hour_utc",
            y="month",
            z="cfe_pct",
            unit="%",
            title="24/7 carbon-free share of load by hour of day and month (%)",
        ),
    ),
}
EMPTY_HINTS = {
    "methods": "No site that buys its electricity has meter data in this period: import site electricity "
    "(hourly or by period) on Imports.",
    "cfe_heatmap": "No hourly load in this period: import hourly site electricity, or monthly readings that a "
    "load profile spreads.",
}


@membership_required
def scope2_hourly(request):
    """The organization's sites for the filtered period, both Scope 2 methods; ``?download=<chart>`` gives a CSV."""
    return period_page(
        request,
        name="scope2_hourly",
        dashboard=scope2_hourly_dashboard,
        chart_specs=SCOPE2_HOURLY_CHARTS,
        empty_hints=EMPTY_HINTS,
    )
