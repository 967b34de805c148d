"""Django admin for carbon budgets and generated reports."""

from django.contrib import admin

from reporting.models import CarbonBudget, Report, ReportFile


@admin.register(CarbonBudget)
class CarbonBudgetAdmin(admin.ModelAdmin):
    list_display = ["organization", "team", "project", "period_start", "period_end", "budget_kg_co2e", "basis"]
    list_filter = ["organization", "basis"]


class ReportFileInline(admin.TabularInline):
    model = ReportFile
    fields = ["file_format", "size_bytes", "sha256", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "period_label", "status", "progress_pct", "as_of", "created_by"]
    list_filter = ["organization", "status"]
    readonly_fields = [
        "calculation",
        "ytd_calculation",
        "comparison_calculation",
        "comparison_ytd_calculation",
        "as_of",
        "hourly_scope2",
        "status",
        "progress_pct",
        "error",
        "created_by",
        "finished_at",
    ]
    inlines = [ReportFileInline]
