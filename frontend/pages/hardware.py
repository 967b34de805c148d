"""The hardware fleet page (``/hardware/``): assets, embodied in both views, refresh timeline, roll-forward, idle."""

from __future__ import annotations

from frontend import figures
from frontend.access import membership_required
from frontend.pages.dashboard_common import period_page
from reporting.selectors.hardware import hardware_dashboard

HARDWARE_CHARTS = {
    "by_site_model": (
        "half",
        lambda f: figures.stacked_bar_figure(
            f,
            x="site",
            y="units",
            series="hardware_model",
            unit="units",
            x_title="site",
            title="Fleet by site and hardware model (units)",
        ),
    ),
    "embodied_views": (
        "half",
        lambda f: figures.grouped_bar_figure(
            f.assign(month=f["period_start"].map(lambda d: d.strftime("%Y-%m"))),
            x="month",
            unit="tCO2e",
            bars={
                "inventory_t_co2e": "Inventory (Cat 2 at acquisition)",
                "management_t_co2e": "Management (amortized)",
            },
            title="Embodied per month: inventory vs amortized (tCO2e)",
        ),
    ),
    "refresh_timeline": (
        "wide",
        lambda f: figures.timeline_figure(
            f.assign(detail=f["hardware_model"] + " × " + f["units"].astype(str) + " at " + f["site"]),
            task="asset",
            start="start",
            end="end",
            series="status",
            hover="detail",
            title="Refresh timeline: in service to retirement or planned end of life (dates)",
        ),
    ),
    "roll_forward": (
        "half",
        lambda f: figures.waterfall_figure(
            f,
            step="step",
            value="embodied_t_co2e",
            unit="tCO2e",
            title="Unamortized embodied balance roll-forward (tCO2e)",
        ),
    ),
    "idle_share": (
        "half",
        lambda f: figures.ranked_bar_figure(
            f,
            category="site",
            bars={"idle_share_pct": "Idle share"},
            unit="%",
            title="Idle share of site electricity (% of kWh no run used)",
        ),
    ),
}
EMPTY_HINTS = {
    "by_site_model": "No hardware in the register: upload a fleet register (CSV) on Imports.",
    "refresh_timeline": "No hardware in the register: upload a fleet register (CSV) on Imports.",
    "embodied_views": "No embodied emissions in this period: hardware acquired or in service appears once the "
    "ledger has been computed.",
    "roll_forward": "No calculation of this period has a roll-forward yet (the ledger job writes it).",
    "idle_share": "No site electricity in this period: upload meter readings on Imports.",
}


@membership_required
def hardware(request):
    """The organization's fleet for the filtered period; ``?download=<chart>`` gives its CSV."""
    return period_page(
        request, name="hardware", dashboard=hardware_dashboard, chart_specs=HARDWARE_CHARTS, empty_hints=EMPTY_HINTS
    )
