"""The cloud page (``/cloud/``): spend vs emissions, estimate vs provider-reported, unallocated share, tags."""

from __future__ import annotations

from frontend import figures
from frontend.access import membership_required
from frontend.pages.dashboard_common import period_page
from reporting.selectors.cloud import cloud_dashboard

CLOUD_CHARTS = {
    "spend_emissions": (
        "wide",
        lambda f: figures.scatter_figure(
            f.assign(line=f["service"] + " · " + f["region"]),
            x="spend",
            y="estimated_t_co2e",
            text="line",
            series="provider",
            x_unit="spend (bill currency)",
            y_unit="tCO2e",
            title="Spend vs estimated emissions per provider, service and region (tCO2e)",
        ),
    ),
    "estimate_vs_reported": (
        "half",
        lambda f: figures.grouped_bar_figure(
            f.assign(month=f["provider"] + " " + f["billing_period"].map(lambda d: d.strftime("%Y-%m"))),
            x="month",
            bars={"estimated_t_co2e": "Our estimate", "reported_t_co2e_location": "Provider-reported (location)"},
            unit="tCO2e",
            title="Billing estimate vs provider-reported emissions (tCO2e)",
        ),
    ),
    "allocation": (
        "half",
        lambda f: figures.share_figure(
            f,
            category="allocation_basis",
            value="spend",
            unit="(bill currency)",
            title="Spend by allocation basis (share of spend)",
        ),
    ),
}
EMPTY_HINTS = {
    "spend_emissions": "No cloud bills in this period (cloud tracker runs count above): upload an AWS CUR, GCP "
    "billing export or Azure cost export on Imports.",
    "estimate_vs_reported": "No cloud bills or provider carbon exports in this period: upload them on Imports.",
    "allocation": "No cloud bills in this period (cloud tracker runs count above): upload one on Imports.",
}


@membership_required
def cloud(request):
    """The organization's cloud use for the filtered period; ``?download=<chart>`` gives its CSV."""
    return period_page(
        request, name="cloud", dashboard=cloud_dashboard, chart_specs=CLOUD_CHARTS, empty_hints=EMPTY_HINTS
    )
