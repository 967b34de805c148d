"""A project's model passport (``/projects/<slug>/passport.json``) and the energy section of its model
documentation form (``/projects/<slug>/passport.md``); ``?period=`` and ``?lineage=`` narrow the runs.

Thin adapter: one reporting.guild selector, serialized as JSON or rendered as Markdown (docs/model-passport.md).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from emissions.models import Project
from emissions.periods import period_parse
from frontend.access import membership_required
from reporting.guild.passport import model_passport
from reporting.guild.passport_markdown import passport_markdown


@membership_required
def project_passport(request, slug: str, file_format: str):
    """The passport of the project's model for ``?period=`` (default: all its runs) and ``?lineage=``."""
    project = get_object_or_404(Project.objects.for_org(request.membership.organization), slug=slug)
    try:
        period = period_parse(request.GET["period"]) if request.GET.get("period") else None
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    passport = model_passport(project=project, period=period, lineage=request.GET.get("lineage") or None)
    if file_format == "md":
        response = HttpResponse(passport_markdown(passport), content_type="text/markdown; charset=utf-8")
    else:
        response = JsonResponse(passport, json_dumps_params={"indent": 2})
    suffix = f"-{period.label}" if period is not None else ""
    response["Content-Disposition"] = f'inline; filename="{project.slug}{suffix}-model-passport.{file_format}"'
    return response
