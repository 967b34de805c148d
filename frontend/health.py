"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection

BROKER_TIMEOUT_S = 2.0


@never_cache
@transaction.non_atomic_requests
def healthz(request) -> JsonResponse:
    """The process is up and serving; touches no dependency."""
    return JsonResponse({"status": "ok"})


@never_cache
@transaction.non_atomic_requests
def readyz(request) -> JsonResponse:
    """Ready to serve: the database answers and the Celery broker accepts a connection (else 503)."""
    checks = {"database": _database_check(), "broker": _broker_check()}
    ready = all(check == "ok" or check == "in-process" for check in checks.values())
    return JsonResponse({"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as exc:
        return f"error: {type(exc).__name__}"


def _broker_check() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"  # embedded default: no broker, tasks run inside the web process
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_S) as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
        return "ok"
    except Exception as exc:  # kombu raises transport-specific errors; any of them means "not ready"
        return f"error: {type(exc).__name__}"
