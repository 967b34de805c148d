"""Shared fixtures: two organizations (the isolation check), their users, fast hashing, eager Celery."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import settings as hypothesis_settings

from emissions.choices import Role
from tests.factories import MembershipFactory, OrganizationFactory, ProjectFactory, TeamFactory

# Property tests check results, not timing: a loaded CI machine must not fail them on hypothesis's deadline.
hypothesis_settings.register_profile("greenguild", deadline=None)
hypothesis_settings.load_profile("greenguild")


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    """Fast password hashing; Celery in-process unless a test asks for the real worker."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Debounced figure refreshes (timer threads, delayed tasks) would outlive a test: off unless a test asks.
    settings.GREENGUILD_FIGURES_REFRESH_DELAY_S = None
    settings.GREENGUILD_REPORTS_IN_BACKGROUND = False  # reports generate within the request (eager), as before
    from frontend.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = True


@pytest.fixture
def live_server(live_server):
    """pytest-django's live server, its URLconf loaded as a served worker's is (frontend/warmup.py)."""
    from frontend.warmup import urlconf_load

    urlconf_load()
    return live_server


@pytest.fixture(autouse=True)
def _token_failures_forget(monkeypatch):
    """Invalid-token counts in a cache of the test's own: every test client is 127.0.0.1, and one test's
    invalid tokens must not throttle the next one (nor a parallel run sharing the Redis cache)."""
    from django.core.cache.backends.locmem import LocMemCache

    from emissions.throttling import InvalidTokenThrottle

    cache = LocMemCache("test-token-failures", {})
    cache.clear()
    monkeypatch.setattr(InvalidTokenThrottle, "cache", cache)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def org_a(db):
    """Organization A with a team and a project."""
    organization = OrganizationFactory(slug="org-a", name="Org A")
    team = TeamFactory(organization=organization, slug="a-team", name="A Team")
    ProjectFactory(organization=organization, team=team, slug="a-project", name="A Project")
    return organization


@pytest.fixture
def org_b(db):
    """Organization B, whose data org A's users must never see."""
    organization = OrganizationFactory(slug="org-b", name="Org B")
    team = TeamFactory(organization=organization, slug="b-team", name="B Team")
    ProjectFactory(organization=organization, team=team, slug="b-project", name="B Project")
    return organization


@pytest.fixture
def alice(org_a):
    """Guild member of org A."""
    return MembershipFactory(organization=org_a, role=Role.GUILD_MEMBER, user__username="alice").user


@pytest.fixture
def charlie(org_b):
    """Org admin of org B."""
    return MembershipFactory(organization=org_b, role=Role.ORG_ADMIN, user__username="charlie").user


def require_services() -> dict[str, str]:
    """DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL, or skip with the reason; under CI=true, fail."""
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")) and broker_url:
        return {"database_url": database_url, "broker_url": broker_url}
    reason = "needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… (run .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but a service is missing: {reason}")
    pytest.skip(reason)


class WorkerControl:
    """Starts, kills and stops a real ``celery -A frontend worker`` process (solo pool) with a log file."""

    def __init__(self, env: dict, log_path: Path):
        self.env, self.log_path, self.process = env, log_path, None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "frontend", "worker", "--pool=solo",
            "-Q", "default,ingest,reporting", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=INFO", f"--logfile={self.log_path}",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, env=self.env)

    def kill(self) -> None:
        """SIGKILL, as when the machine or the OOM killer takes the worker: no clean shutdown."""
        self.process.kill()
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def celery_worker_control(transactional_db, settings, media_root, tmp_path):
    """A worker on the test database and the configured broker, not started yet; stopped afterwards.

    Tasks are sent to the broker, not run eagerly.
    """
    from django.db import connection

    from frontend.celery import app

    urls = require_services()
    parts = urlsplit(urls["database_url"])
    test_database_url = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    env = {**os.environ, "DATABASE_URL": test_database_url, "MEDIA_ROOT": str(media_root), "DB_CONN_MAX_AGE": "0"}
    control = WorkerControl(env, tmp_path / "worker.log")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        yield control
    finally:
        control.stop()


@pytest.fixture
def celery_worker_process(celery_worker_control):
    """A running worker (see ``celery_worker_control``); yields the path of its log file."""
    celery_worker_control.start()
    return celery_worker_control.log_path


@pytest.fixture(scope="module")
def reference(django_db_setup, django_db_blocker):
    """The shipped reference data, loaded once for the module and rolled back after it."""
    from django.core.management import call_command
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_reference_data", verbosity=0)
        yield
        transaction.set_rollback(True)
