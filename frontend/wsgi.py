"""WSGI entry point: ``gunicorn frontend.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")
application = get_wsgi_application()

from frontend.warmup import urlconf_load  # noqa: E402  (needs the settings and apps loaded just above)

urlconf_load()
