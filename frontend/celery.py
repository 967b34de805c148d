"""The Celery application: ``celery -A frontend worker -Q default,ingest,reporting``.

Tasks live in each package's ``tasks.py`` and are found by autodiscovery. Every periodic task is
declared in ``BEAT_SCHEDULE`` below, one entry per job with its crontab in a comment.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")

app = Celery("greenguild")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# All periodic jobs, in one place (none yet: later issues add rollups and budget alerts here).
BEAT_SCHEDULE: dict[str, dict] = {}
app.conf.beat_schedule = BEAT_SCHEDULE
