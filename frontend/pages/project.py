"""The project page (``/projects/<slug>/``): its runs (sortable, paginated) and the training vs inference split."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from emissions.models import Project
from frontend import figures
from frontend.access import membership_required
from frontend.pages.dashboard_common import chart_download, query_without_download, with_empty_hints
from reporting.selectors.project import (
    RUN_SORTS,
    project_kind_split_frame,
    project_run_span,
    project_runs,
    run_emissions_of,
    training_inference_totals,
)

RUNS_PER_PAGE = 25
PROJECT_CHARTS = {
    "kind_split": (
        "half",
        lambda f: figures.share_figure(
            f,
            category="kind",
            value="emissions_t_co2e_location",
            unit="tCO2e",
            title="Emissions by run kind, all runs (tCO2e operational, either view, Scope 2 location-based)",
        ),
    ),
    "kind_energy": (
        "half",
        lambda f: figures.grouped_bar_figure(
            f, x="kind", bars={"energy_kwh": "IT energy"}, unit="kWh", title="IT energy by run kind, all runs (kWh)"
        ),
    ),
}
EMPTY_HINTS = {"kind_split": "No runs with computed emissions in this project yet."}
# Columns of the runs table: (label, ?sort= key or None).
RUN_COLUMNS = [
    ("Run", None),
    ("Kind", "kind"),
    ("Started (UTC)", "started"),
    ("Duration (s)", "duration"),
    ("IT energy (kWh)", "energy"),
]


@membership_required
def project(request, slug: str):
    """One project: its runs sorted by ``?sort=`` and paginated by ``?page=``; ``?download=<chart>`` gives a CSV."""
    organization = request.membership.organization
    project = get_object_or_404(Project.objects.for_org(organization).select_related("team"), slug=slug)
    split = project_kind_split_frame(organization=organization, project=project)
    frames = {"kind_split": split, "kind_energy": split[["kind", "runs", "energy_kwh", "gpu_hours"]]}
    download = chart_download(request, frames, f"{organization.slug}-{project.slug}")
    if download:
        return download
    sort = request.GET.get("sort") if request.GET.get("sort") in RUN_SORTS else "-started"
    paginator = Paginator(project_runs(organization=organization, project=project, sort=sort), RUNS_PER_PAGE)
    # The kind split counted the same runs (all of the project's): no second count over them.
    paginator.count = int(split["runs"].sum())
    page = paginator.get_page(request.GET.get("page"))
    emissions = run_emissions_of(list(page.object_list))
    context = {
        "project": project,
        "page": page,
        "rows": [(run, *emissions.get(run.pk, (None, None))) for run in page.object_list],
        "sort": sort,
        "columns": [(name, key, ("-" + key if sort == key else key) if key else None) for name, key in RUN_COLUMNS],
        "split": split.to_dict("records"),
        "totals": training_inference_totals(split),
        "span": project_run_span(organization=organization, project=project),
        "charts": with_empty_hints(figures.page_figures(frames, PROJECT_CHARTS), EMPTY_HINTS),
        "query": query_without_download(request),
    }
    return render(request, "frontend/project.html", context)
