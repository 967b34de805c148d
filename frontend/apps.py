from django.apps import AppConfig


class FrontendConfig(AppConfig):
    """The browser UI and site wiring."""

    name = "frontend"
    verbose_name = "Frontend"
