from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """The read side: aggregations, budgets, leaderboards and exports."""

    name = "reporting"
    verbose_name = "Reporting"
