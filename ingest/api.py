"""API for import batches: upload a file, follow its progress, read its row errors."""

from __future__ import annotations

import re
from datetime import datetime

from django.http import StreamingHttpResponse
from django.utils.text import slugify
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from emissions.api import RAW_READ_ROLES, OrgScopedViewSet, RunViewSet
from emissions.api_parsers import query_id
from emissions.choices import Role, RunKind
from emissions.models import ApiToken, HourlyMeterReading, Project, Run, Site, Team
from emissions.services.runs import RunOfAnotherProjectError, runs_project_check
from emissions.tables import csv_chunks
from ingest.models import ImportBatch, RowError
from ingest.parsers import PARSERS, native_json
from ingest.parsers.csv_rows import CellError
from ingest.parsers.hour_cells import hour_cell
from ingest.parsers.native_json import SOURCE, payload_runs
from ingest.parsers.site_electricity_hourly_json import payload_readings
from ingest.records import ParsedRow, ParseError
from ingest.services import import_batch_create, import_batch_progress, import_options_for

# The import source of the meter API: the JSON twin of ``site_electricity_hourly`` (same loader and rules).
HOURLY_READINGS_SOURCE = "site_electricity_hourly_json"


class RowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = RowError
        fields = ["row_number", "column", "value", "reason"]


class ImportBatchSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField(help_text="Live rows_done / rows_estimated / progress_pct")

    def get_progress(self, batch: ImportBatch) -> dict:
        return import_batch_progress(batch=batch)

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "source",
            "filename",
            "checksum",
            "size_bytes",
            "status",
            "progress_pct",
            "rows_total",
            "rows_loaded",
            "rows_duplicate",
            "rows_rejected",
            "error",
            "created_at",
            "finished_at",
            "progress",
        ]


class ImportBatchUploadSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=sorted(PARSERS))
    file = serializers.FileField()


class NativeRunSerializer(serializers.Serializer):
    """One run of the native format; units are in the field names. Only the documented fields are read."""

    external_id = serializers.CharField(help_text="Your tool's run id; re-sending it replaces the run")
    project = serializers.CharField(required=False, help_text="Project slug (ignored with an ingest token)")
    kind = serializers.ChoiceField(choices=RunKind.values, required=False)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(required=False)
    duration_s = serializers.FloatField(required=False, min_value=0)
    energy_kwh = serializers.FloatField(min_value=0, help_text="IT energy (kWh)")
    cpu_energy_kwh = serializers.FloatField(required=False, min_value=0)
    gpu_energy_kwh = serializers.FloatField(required=False, min_value=0)
    ram_energy_kwh = serializers.FloatField(required=False, min_value=0)
    tracker_pue = serializers.FloatField(required=False, min_value=1, help_text="PUE already applied, if any")
    gpu_model = serializers.CharField(required=False)
    gpu_count = serializers.IntegerField(required=False, min_value=0)
    cloud_provider = serializers.ChoiceField(choices=["aws", "gcp", "azure"], required=False)
    cloud_region = serializers.CharField(required=False)
    tracker_emissions_kg_co2e = serializers.FloatField(required=False, min_value=0)
    tokens_processed = serializers.IntegerField(required=False, min_value=0)
    inferences_count = serializers.IntegerField(required=False, min_value=0)
    tags = serializers.DictField(child=serializers.CharField(), required=False)


class NativeRunsSerializer(serializers.Serializer):
    runs = NativeRunSerializer(many=True)


class ImportBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Import batches of your organization. POST a multipart ``file`` with its ``source`` to import."""

    model = ImportBatch
    serializer_class = ImportBatchSerializer
    parser_classes = [MultiPartParser]
    read_roles = RAW_READ_ROLES
    write_roles = (Role.ORG_ADMIN, Role.GUILD_MEMBER)

    def get_serializer_class(self):
        return ImportBatchUploadSerializer if self.action == "create" else ImportBatchSerializer

    def create(self, request):
        upload = ImportBatchUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        batch = import_batch_create(
            organization=self.organization,
            source=upload.validated_data["source"],
            filename=file.name,
            stream=file,
            created_by=request.user,
            options=import_options_for(request.membership),
        )
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"], url_path="row-errors.csv")
    def row_errors_csv(self, request, pk=None):
        """The batch's rejected rows as CSV: row number, column, value, reason."""
        batch = self.get_object()
        rows = batch.row_errors.order_by("row_number", "pk").values_list("row_number", "column", "value", "reason")
        response = StreamingHttpResponse(
            csv_chunks(["row_number", "column", "value", "reason"], rows.iterator()),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-row-errors.csv"'
        return response


class RowErrorViewSet(mixins.ListModelMixin, OrgScopedViewSet):
    """Row errors of your organization's batches; ``?batch=ID`` filters by batch."""

    model = RowError
    serializer_class = RowErrorSerializer
    read_roles = RAW_READ_ROLES

    def refine_queryset(self, queryset):
        batch = query_id(self.request.query_params, "batch")
        return queryset if batch is None else queryset.filter(batch_id=batch)


class RunIngestViewSet(mixins.CreateModelMixin, RunViewSet):
    """Runs of your organization (read), and ``POST`` a batch of runs in the native format.

    ``POST /api/v1/runs`` takes ``{"runs": [...]}`` (docs/import-formats.md, "Native runs") from a
    guild member or an ``ingest`` token (whose project every run then belongs to; the id of a run of
    another project is refused with 409: emissions/services/runs.py ``run_project_check``). It answers
    202 with the ImportBatch that processes it: follow ``/api/v1/imports/<id>/`` for counts and row errors.
    """

    write_roles = (Role.ORG_ADMIN, Role.GUILD_MEMBER, Role.TEAM_MEMBER)
    token_scopes_write = (ApiToken.Scope.INGEST,)

    def team_write_allowed(self, request, team: Team) -> bool:
        """For a team member's POST of runs: every run names an existing
        project of ``team`` (resolved as the loader does: slug, then name), and none re-sends the id of a
        run stored under another team's project (runs are keyed on their id, so it would be moved)."""
        try:
            runs = [run for run in payload_runs(request.body) if isinstance(run, dict)]
        except ParseError:
            return True  # nothing is written: the view answers 400 with the reason
        projects = Project.objects.for_org(team.organization)
        for name in {str(run.get("project") or "")[:200] for run in runs}:
            project = projects.filter(slug=slugify(name)[:64]).first() or projects.filter(name__iexact=name).first()
            if project is None or project.team_id != team.pk:
                return False
        external_ids = {str(run.get("external_id"))[:128] for run in runs}
        stored = Run.objects.for_org(team.organization).filter(source=SOURCE, external_id__in=external_ids)
        return not stored.exclude(project__team=team).exists()

    @extend_schema(
        request=NativeRunsSerializer,
        responses={
            202: ImportBatchSerializer,
            409: OpenApiResponse(description="an ingest token sent the id of a run of another project"),
        },
    )
    def create(self, request):
        content = request.body
        try:
            payload_runs(content)
        except ParseError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        options = {} if token is not None else import_options_for(request.membership)
        if token is not None:
            # The token's project is fixed: a run id of another project is refused now, not as a row error later.
            records = [row.record for row in native_json.parse(content) if isinstance(row, ParsedRow)]
            try:
                runs_project_check(organization=self.organization, project=token.project, records=records)
            except RunOfAnotherProjectError as exc:
                return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
            options["project"] = token.project.slug
            if token.site_id:
                options["site"] = token.site.slug
        batch = import_batch_create(
            organization=self.organization,
            source="native_json",
            filename="api-runs.json",
            content=content,
            created_by=request.user if request.user.is_authenticated else None,
            options=options,
        )
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class HourlyReadingSerializer(serializers.ModelSerializer):
    """One stored hour of a site's facility electricity (kWh), and the import batch that last wrote it."""

    class Meta:
        model = HourlyMeterReading
        fields = ["hour_start", "energy_kwh", "source_batch_id"]


class HourlyReadingInputSerializer(serializers.Serializer):
    """One reading as a meter gateway posts it (documentation of the body; the import parser reads it)."""

    hour_start = serializers.DateTimeField(help_text="Start of the hour, ISO 8601 with its offset, on a whole hour")
    energy_kwh = serializers.FloatField(min_value=0, help_text="Facility electricity in the hour (kWh)")


class HourlyReadingsInputSerializer(serializers.Serializer):
    readings = HourlyReadingInputSerializer(many=True)


class HourlyReadingPagination(PageNumberPagination):
    """A month of hours (744) per page by default; ``?page_size=`` up to a leap year's 8,784."""

    page_size = 744
    page_size_query_param = "page_size"
    max_page_size = 8784


class SiteHourlyReadingViewSet(mixins.ListModelMixin, OrgScopedViewSet):
    """A site's hourly meter data: ``POST /api/v1/sites/<slug>/hourly-readings/`` (a smart-meter gateway) and
    ``GET`` of the stored hours (``?start=&end=``, ISO 8601 instants with their offset, end exclusive).

    The POST takes ``{"readings": [{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 12.5}, ...]}`` and goes
    through the import pipeline of the ``site_electricity_hourly`` CSV (source ``site_electricity_hourly_json``):
    it answers 202 with the ImportBatch; a bad reading becomes a row error (row = its position in
    ``readings``), the others load, and an hour sent again replaces the stored one. Malformed JSON or a body
    without a ``readings`` list is a 400 and stores nothing. Writers: org admins, guild members, and an
    ``ingest`` token whose site is this site (docs/import-formats.md, "Meter API").
    """

    model = HourlyMeterReading  # type: ignore[assignment]  # OrgScopedViewSet.model is declared None
    serializer_class = HourlyReadingSerializer
    pagination_class = HourlyReadingPagination
    read_roles = RAW_READ_ROLES
    write_roles = (Role.ORG_ADMIN, Role.GUILD_MEMBER)
    token_scopes_write = (ApiToken.Scope.INGEST,)

    def _site(self) -> Site:
        """The URL's site, in the caller's organization only (another organization's is a 404, never a 403)."""
        site = Site.objects.for_org(self.organization).filter(slug=self.kwargs["site_slug"]).first()
        if site is None:
            raise NotFound(f"no site {self.kwargs['site_slug']!r} in your organization")
        return site

    def refine_queryset(self, queryset):
        queryset = queryset.filter(site=self._site())
        for name, lookup in (("start", "hour_start__gte"), ("end", "hour_start__lt")):
            moment = _query_instant(self.request.query_params, name)
            if moment is not None:
                queryset = queryset.filter(**{lookup: moment})
        return queryset.order_by("hour_start")

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="first hour, ISO 8601 with offset (inclusive)"),
            OpenApiParameter("end", str, description="ISO 8601 with offset (exclusive)"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=HourlyReadingsInputSerializer,
        responses={
            202: ImportBatchSerializer,
            400: OpenApiResponse(description="malformed JSON, or no readings list"),
            403: OpenApiResponse(description="a role that cannot write, or a token of another site"),
            404: OpenApiResponse(description="no such site in your organization"),
        },
    )
    def create(self, request, *args, **kwargs):
        site = self._site()
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and token.site_id != site.pk:
            raise PermissionDenied(
                f"this token sends the readings of site {token.site.slug!r} only"
                if token.site_id
                else "this token names no site: only a token of this site sends its readings"
            )
        content = request.body
        try:
            payload_site, _ = payload_readings(content)
        except ParseError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        if payload_site and payload_site.casefold() not in (site.slug.casefold(), site.name.casefold()):
            return Response(
                {"detail": f"the body names site {payload_site!r}, the URL site {site.slug!r}: send one site per URL"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        batch = import_batch_create(
            organization=self.organization,
            source=HOURLY_READINGS_SOURCE,
            filename=f"api-hourly-readings-{site.slug}.json",
            content=content,
            created_by=request.user if request.user.is_authenticated else None,
            options={"site": site.slug},
        )
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


def _query_instant(params, name: str) -> datetime | None:
    """The query parameter ``name`` as an aware instant (``2026-07-01T00:00:00Z``), None when absent; a 400
    naming the parameter for a time without its offset or one not on a whole hour."""
    text = params.get(name, "").strip()
    if not text:
        return None
    # An unencoded "+02:00" arrives as " 02:00" ("+" is a space in a query string): read it as meant.
    text = re.sub(r" (\d\d:\d\d)$", r"+\1", text)
    try:
        return hour_cell({name: text}, name)
    except CellError as exc:
        raise ValidationError({name: [f"{name} {exc.reason}"]}) from None
