"""Django admin for carbon budgets."""

from django.contrib import admin

from reporting.models import CarbonBudget


@admin.register(CarbonBudget)
class CarbonBudgetAdmin(admin.ModelAdmin):
    list_display = ["organization", "team", "project", "period_start", "period_end", "budget_kg_co2e", "basis"]
    list_filter = ["organization", "basis"]
