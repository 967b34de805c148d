"""API for import batches: upload a file, follow its progress, read its row errors."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils.text import slugify
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from emissions.api import RAW_READ_ROLES, OrgScopedViewSet, RunViewSet
from emissions.api_parsers import query_id
from emissions.choices import Role, RunKind
from emissions.models import ApiToken, Project, Run, Team
from emissions.services.runs import RunOfAnotherProjectError, runs_project_check
from emissions.tables import csv_chunks
from ingest.models import ImportBatch, RowError
from ingest.parsers import PARSERS, native_json
from ingest.parsers.native_json import SOURCE, payload_runs
from ingest.records import ParsedRow, ParseError
from ingest.services import import_batch_create, import_batch_progress, import_options_for


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
