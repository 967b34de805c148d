from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """The read side: aggregations, budgets, leaderboards and exports."""

    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from emissions.signals import figures_changed, figures_refreshed

        figures_changed.connect(_rollup_refresh, dispatch_uid="reporting.rollup_refresh")
        figures_refreshed.connect(_figures_follow, dispatch_uid="reporting.figures_follow")


def _rollup_refresh(sender, organization_id: int, **kwargs) -> None:
    """Bring the organization's daily rollup up to date (a no-op when no Calculation is newer)."""
    from reporting.tasks import rollup_refresh_task

    rollup_refresh_task.delay(organization_id)


def _figures_follow(sender, organization_id: int, since=None, **kwargs) -> None:
    """After a debounced refresh: the rollup, then the budget alerts that the new figures reach."""
    from reporting.tasks import figures_follow_task

    figures_follow_task.delay(organization_id, since.isoformat() if since else None)
