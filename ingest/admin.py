"""Django admin for import batches and row errors."""

from django.contrib import admin

from ingest.models import ImportBatch, RowError


class RowErrorInline(admin.TabularInline):
    model = RowError
    extra = 0
    fields = ["row_number", "column", "reason"]
    readonly_fields = fields


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "source", "filename", "status", "rows_total", "rows_rejected", "created_at"]
    list_filter = ["organization", "source", "status"]
    inlines = [RowErrorInline]


@admin.register(RowError)
class RowErrorAdmin(admin.ModelAdmin):
    list_display = ["batch", "row_number", "column", "reason"]
    raw_id_fields = ["batch"]
