"""API for import batches: upload a file, follow its progress, read its row errors."""

from __future__ import annotations

from rest_framework import mixins, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from emissions.api import OrgScopedViewSet
from emissions.choices import Role
from ingest.models import ImportBatch, RowError
from ingest.parsers import PARSERS
from ingest.services import import_batch_create


class RowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = RowError
        fields = ["row_number", "column", "reason"]


class ImportBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = [
            "id", "source", "filename", "checksum", "size_bytes", "status", "progress_pct", "rows_total",
            "rows_loaded", "rows_duplicate", "rows_rejected", "error", "created_at", "finished_at",
        ]  # fmt: skip


class ImportBatchUploadSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=sorted(PARSERS))
    file = serializers.FileField()


class ImportBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Import batches of your organization. POST a multipart ``file`` with its ``source`` to import."""

    model = ImportBatch
    serializer_class = ImportBatchSerializer
    parser_classes = [MultiPartParser]
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
            content=file.read(),
            created_by=request.user,
        )
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class RowErrorViewSet(mixins.ListModelMixin, OrgScopedViewSet):
    """Row errors of your organization's batches; ``?batch=ID`` filters by batch."""

    model = RowError
    serializer_class = RowErrorSerializer

    def refine_queryset(self, queryset):
        batch = self.request.query_params.get("batch")
        return queryset.filter(batch_id=batch) if batch and batch.isdigit() else queryset
