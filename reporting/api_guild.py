"""Guild API: the CI budget gate, leaderboards and what-if replays (thin adapters over reporting.guild).

All three accept a session (any member) or a project-scoped **read** token; a token only sees its
own project (the CI gate answers for it; the leaderboard is organization-wide and not offered to tokens).
"""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from emissions.api import IsOrgMember
from emissions.models import ApiToken, Project
from emissions.periods import period_parse
from emissions.tables import frame_csv
from reporting.guild.advice import whatif_recommendation
from reporting.guild.budgets import budget_check
from reporting.guild.leaderboard import ENTITIES, METRICS, leaderboard
from reporting.guild.whatif import WhatIfError, whatif_replay

SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _project(request, slug: str) -> Project | None:
    """The caller's project by slug; a token may only name its own project."""
    if not SLUG.fullmatch(slug):  # also keeps NUL bytes away from PostgreSQL
        return None
    if isinstance(request.auth, ApiToken) and request.auth.project.slug != slug:
        return None
    return Project.objects.for_org(request.membership.organization).filter(slug=slug).select_related("team").first()


class BudgetCheckApi(APIView):
    """GET ``?project=SLUG``: ``{status: pass|warn|fail, used_kg, budget_kg, forecast_kg, period}``, HTTP 200.

    Of the budgets covering today (the project's own and its team's: a year, a quarter and a month may
    overlap) the tightest answers: the worst status, then the largest share used; the answer names it
    (``period``, ``budget_owner``) and counts the others (``budgets_covering_today``). No budget answers
    ``pass`` with null figures. ``fail``: used ≥ budget; ``warn``: used ≥ 80 % or forecast > budget.
    """

    permission_classes = [IsOrgMember]
    token_scopes_read = (ApiToken.Scope.READ,)

    @extend_schema(parameters=[OpenApiParameter("project", str, required=True)], responses={200: dict})
    def get(self, request):
        slug = request.query_params.get("project", "")
        project = _project(request, slug) if slug else None
        if project is None:
            return Response({"detail": f"no project {slug!r} visible to this caller"}, status=404)
        return Response(budget_check(project=project, today=timezone.now().date()))


class LeaderboardApi(APIView):
    """GET ``?period=2026-Q3&metric=absolute&entity=team`` (``&download=csv`` for CSV): ranked rows.

    Metrics: absolute, per_gpu_hour, per_1k_inferences, per_1m_tokens, improvement, budget_adherence.
    """

    permission_classes = [IsOrgMember]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, required=True),
            OpenApiParameter("metric", str, enum=list(METRICS)),
            OpenApiParameter("entity", str, enum=list(ENTITIES)),
        ],
        responses={200: dict},
    )
    def get(self, request):
        params = request.query_params
        try:
            period = period_parse(params.get("period", ""))
            frame = leaderboard(
                organization=request.membership.organization,
                period=period,
                metric=params.get("metric", "absolute"),
                entity=params.get("entity", "team"),
                today=timezone.now().date(),
            )
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=400)
        if params.get("download") == "csv":
            response = HttpResponse(frame_csv(frame), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="leaderboard-{period.label}.csv"'
            return response
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return Response({"period": period.label, "metric": params.get("metric", "absolute"), "rows": rows})


class WhatIfApi(APIView):
    """GET ``?project=SLUG&period=2026-Q3&scenario=region&zone=FR[&from_zone=US-VA]`` (or ``scenario=hour&shift_h=-6``,
    ``scenario=gpu&gpu=NVIDIA H100 SXM5 80GB``, ``scenario=refresh&lifetime_years=6``): per-run and
    total kgCO2e before/after, with the assumptions, and a region/hour ``recommendation``."""

    permission_classes = [IsOrgMember]
    token_scopes_read = (ApiToken.Scope.READ,)

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str, required=True),
            OpenApiParameter("period", str, required=True),
            OpenApiParameter("scenario", str, enum=["region", "hour", "gpu", "refresh"]),
        ],
        responses={200: dict},
    )
    def get(self, request):
        params = request.query_params
        if any("\x00" in value for value in params.values()):
            return Response({"detail": "NUL characters are not allowed"}, status=400)
        project = _project(request, params.get("project", ""))
        if project is None:
            return Response({"detail": "no such project visible to this caller"}, status=404)
        try:
            result = whatif_replay(
                organization=request.membership.organization,
                project=project,
                period=period_parse(params.get("period", "")),
                scenario=params.get("scenario", ""),
                options={
                    key: params[key]
                    for key in ("zone", "from_zone", "shift_h", "gpu", "lifetime_years")
                    if key in params
                },
            )
        except (ValueError, WhatIfError) as exc:
            return Response({"detail": str(exc)}, status=400)
        advice = whatif_recommendation(
            organization=request.membership.organization, project=project, period=period_parse(params["period"])
        )
        return Response(result.as_dict() | {"recommendation": advice})
