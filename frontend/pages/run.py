"""The run page (``/runs/<id>/``): power and energy timeline, hardware, location, factors, provenance."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from emissions.models import Run
from frontend import figures
from frontend.access import membership_required
from frontend.pages.dashboard_common import chart_download, query_without_download, with_empty_hints
from reporting.selectors.run import run_dashboard

RUN_CHARTS = {
    "power": (
        "wide",
        lambda f: figures.lines_figure(
            f,
            x="recorded_at",
            unit="W",
            title="Average power per sample interval (W)",
            lines={"gpu_power_w": "GPU", "cpu_power_w": "CPU", "ram_power_w": "RAM"},
        ),
    ),
    "energy": (
        "half",
        lambda f: figures.lines_figure(
            f,
            x="recorded_at",
            unit="kWh",
            title="Cumulative IT energy from the samples (kWh)",
            lines={"cumulative_energy_kwh": "IT energy"},
        ),
    ),
    "ours_vs_tracker": (
        "half",
        lambda f: figures.ranked_bar_figure(
            f,
            category="figure",
            bars={"emissions_kg_co2e": "Emissions"},
            unit="kgCO2e",
            title="Our figure beside the tracker's own (kgCO2e operational, either view, Scope 2 location-based)",
        ),
    ),
}
EMPTY_HINTS = {
    "power": "No samples for this run: CodeCarbon sends them during a run when its api output points at "
    "this server (api_call_interval in .codecarbon.config); uploaded CSVs carry totals only.",
    "energy": "No samples for this run.",
    "ours_vs_tracker": "No computed emissions for this run yet: figures follow new data within a minute.",
}


@membership_required
def run(request, run_id: int):
    """One run of the organization with the provenance of every number; ``?download=<chart>`` gives a CSV."""
    organization = request.membership.organization
    run = get_object_or_404(
        Run.objects.for_org(organization).select_related(
            "project__team", "site__zone", "cloud_region__zone", "hardware_model", "experiment"
        ),
        pk=run_id,
    )
    data = run_dashboard(organization=organization, run=run)
    download = chart_download(request, data.charts, f"{organization.slug}-run-{run.pk}")
    if download:
        return download
    charts = with_empty_hints(figures.page_figures(data.charts, RUN_CHARTS), EMPTY_HINTS)
    context = {"run": run, "facts": data.facts, "charts": charts, "query": query_without_download(request)}
    return render(request, "frontend/run.html", context)
