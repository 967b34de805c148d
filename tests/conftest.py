"""Shared fixtures: two organizations (the isolation check), their users, fast hashing, eager Celery."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from emissions.choices import Role
from tests.factories import MembershipFactory, OrganizationFactory, ProjectFactory, TeamFactory


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    """Fast password hashing; Celery in-process unless a test asks for the real worker."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from frontend.celery import app

    app.conf.task_always_eager = True
    _token_failures_forget()
    yield
    app.conf.task_always_eager = True


def _token_failures_forget() -> None:
    """Every test client is 127.0.0.1: one test's invalid tokens must not rate-limit the next test."""
    from django.core.cache import cache

    from emissions.services.tokens import _failure_key

    cache.delete(_failure_key("127.0.0.1"))


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


@pytest.fixture
def celery_worker_process(transactional_db, settings, media_root, tmp_path):
    """A real ``celery -A frontend worker`` process on the test database and the configured broker.

    Yields the path of the worker's log file. Tasks are sent to the broker, not run eagerly.
    """
    from django.db import connection

    from frontend.celery import app

    urls = require_services()
    parts = urlsplit(urls["database_url"])
    test_database_url = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    env = {**os.environ, "DATABASE_URL": test_database_url, "MEDIA_ROOT": str(media_root), "DB_CONN_MAX_AGE": "0"}
    log_path = tmp_path / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "frontend", "worker", "--pool=solo", "-Q", "default,ingest,reporting",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", f"--logfile={log_path}",
    ]  # fmt: skip
    worker = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, env=env)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        yield log_path
    finally:
        worker.terminate()
        worker.wait(timeout=20)
