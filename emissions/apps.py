from django.apps import AppConfig


class EmissionsConfig(AppConfig):
    """The domain: organizations, activity, reference factors and the emission ledger."""

    name = "emissions"
    verbose_name = "Emissions"
