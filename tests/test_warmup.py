"""A served worker loads its views before the first request (frontend/warmup.py)."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV = {"PATH": "/usr/bin:/bin", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "frontend.settings"}


def _loaded_after(statement: str) -> bool:
    """Whether ``frontend.pages.overview`` (a view module) is imported once ``statement`` ran in a fresh interpreter."""
    probe = f"import sys; {statement}; print('frontend.pages.overview' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=ENV, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip() == "True"


def test_the_wsgi_module_loads_the_views_at_import():
    assert _loaded_after("import frontend.wsgi")


def test_django_alone_would_load_them_at_the_first_request():
    """The check above can fail: ``get_wsgi_application`` by itself does not import the views."""
    assert not _loaded_after("import django.core.wsgi; django.core.wsgi.get_wsgi_application()")
