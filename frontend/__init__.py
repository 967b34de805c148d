"""GreenGuild's site package (settings, URLs, the Celery app) and browser UI."""

from frontend.celery import app as celery_app

__all__ = ["celery_app"]
