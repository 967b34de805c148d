"""The 500 handler: a database that is away is a 503 the client can retry, not a server bug.

Django turns an uncaught exception into a response before any middleware sees it, so the handler is
where an ``OperationalError`` (the database refused or dropped the connection) can still be told apart.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5


def server_error(request) -> HttpResponse:
    """503 with ``Retry-After`` when the database is unavailable, else a plain 500 (JSON under /api/)."""
    exception = sys.exc_info()[1]
    unavailable = isinstance(exception, OperationalError | InterfaceError)
    status = 503 if unavailable else 500
    detail = "the database is unavailable; retry shortly" if unavailable else "internal server error"
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": detail}, status=status)
    else:
        response = HttpResponse(f"<!doctype html><title>{status}</title><p>{detail.capitalize()}.</p>", status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response
