"""Settings come from the environment and fail loudly on bad values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from frontend import env

ROOT = Path(__file__).resolve().parents[2]


def test_env_bool(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env.env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env.env_bool("X_FLAG", True) is False
    monkeypatch.setenv("X_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='ture' is not a boolean"):
        env.env_bool("X_FLAG", False)


def test_env_int_and_required(monkeypatch, tmp_path):
    monkeypatch.setenv("X_NUM", "12x")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env.env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "-3")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env.env_int("X_NUM", 1, minimum=0)
    monkeypatch.delenv("X_REQUIRED", raising=False)
    with pytest.raises(ImproperlyConfigured, match="X_REQUIRED is required"):
        env.env_str("X_REQUIRED")
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("X_REQUIRED_FILE", str(secret))
    assert env.env_str("X_REQUIRED") == "from-a-file"


def test_env_fraction_bounds_a_utilization(monkeypatch):
    monkeypatch.setenv("X_UTIL", "0.35")
    assert env.env_fraction("X_UTIL", 0.5) == 0.35
    monkeypatch.setenv("X_UTIL", "1")
    assert env.env_fraction("X_UTIL", 0.5) == 1.0
    # 50 meant as 50 % would give min W + 50 × (max W − min W): ~80× the energy at 0.5 for a CPU
    for bad in ("50", "-0.1", "nan", "half"):
        monkeypatch.setenv("X_UTIL", bad)
        with pytest.raises(ImproperlyConfigured, match=r"must be a fraction between 0 and 1, e\.g\. 0\.5 for 50 %"):
            env.env_fraction("X_UTIL", 0.5)
    monkeypatch.setenv("X_NUM", "7.5")
    with pytest.raises(ImproperlyConfigured, match="at most 5"):
        env.env_float("X_NUM", 1.0, maximum=5)


def test_cloud_utilization_setting_refuses_a_percentage():
    result = _manage(["check"], DEBUG="1", GREENGUILD_CLOUD_GPU_UTILIZATION="50")
    assert result.returncode != 0
    assert "GREENGUILD_CLOUD_GPU_UTILIZATION='50' must be a fraction between 0 and 1" in result.stderr


def test_trusted_proxies_refuse_a_malformed_network():
    result = _manage(["check"], DEBUG="1", GREENGUILD_TRUSTED_PROXIES="10.0.0.0/8, proxy.internal")
    assert result.returncode != 0
    assert "GREENGUILD_TRUSTED_PROXIES: 'proxy.internal' is not an address or CIDR" in result.stderr


def _manage(args: list[str], **overrides: str) -> subprocess.CompletedProcess:
    keep = {"PATH", "HOME", "LANG"}
    environment = {key: value for key, value in os.environ.items() if key in keep} | overrides
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_secret_key_required_without_debug():
    result = _manage(["check"])
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_embedded_default_uses_sqlite_and_eager_celery():
    code = (
        "from django.conf import settings as s; from django.db import connection as c;"
        "print(s.DATABASES['default']['ENGINE'], c.vendor, s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = _manage(["shell", "-v", "0", "-c", code], DEBUG="1")
    assert result.returncode == 0, result.stderr
    # Django's SQLite backend, with reads that do not wait for a writer (frontend/sqlite/base.py).
    assert result.stdout.split() == ["frontend.sqlite", "sqlite", "True"]


def test_services_configured_from_urls():
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'], d['ATOMIC_REQUESTS'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE)"
    )
    result = _manage(
        ["shell", "-v", "0", "-c", code],
        DEBUG="1",
        DATABASE_URL="postgres://u:p@db.example:5432/greenguild",
        CELERY_BROKER_URL="redis://redis.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "greenguild", "True", "False", "UTC"]


def test_malformed_value_stops_startup():
    result = _manage(["check"], DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG='maybe' is not a boolean" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    """`manage.py check --deploy` reports no errors and no warnings with a production-like environment."""
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY="a-production-like-secret-key-of-sufficient-length-and-variety-8f3Kq9!xZ",
        ALLOWED_HOSTS="greenguild.example.com",
        DATABASE_URL="postgres://greenguild@127.0.0.1:5432/greenguild",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
