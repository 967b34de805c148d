"""Secrets out of the logs: API tokens travel in URLs and headers, and log lines outlive their revocation.

CodeCarbon's HTTP output sends no auth header, so its ingest token is a path segment
(``/api/codecarbon/http-output/<token>``) that an access log or Django's "Forbidden: <path>" line would
keep in plain text. ``secrets_redact`` replaces such values with ``[REDACTED]``; ``SecretsRedactingFilter``
applies it to log records (attached in ``LOGGING``, frontend/settings.py), and gunicorn's access and error
logs use it through ``frontend/gunicorn_logging.py`` (selected by ``gunicorn.conf.py``).
"""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"

_SECRET_PATTERNS = (
    # The HTTP output's token segment, whatever precedes it (double slashes, a scheme and host, a proxy prefix).
    (re.compile(r"(http-output/+)[^/\s?#\"']+"), rf"\1{REDACTED}"),
    # Header values as a logger may print them: "Authorization: Bearer x", "'x-api-token': 'x'", authorization=x.
    (
        re.compile(
            r"(?i)((?:authorization|x[-_]api[-_]token)[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;&]+"
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), rf"\1{REDACTED}"),
    # Query strings and form bodies: token=…, api_token=…, access_token=…, api_key=….
    (re.compile(r"(?i)\b([\w-]*token|api[_-]?key)=[^&\s\"',;]+"), rf"\1={REDACTED}"),
    # Any GreenGuild token left anywhere else: "gg_" and 43 URL-safe characters (emissions/services/tokens.py).
    (re.compile(r"\bgg_[A-Za-z0-9_-]{20,}"), f"gg_{REDACTED}"),
)


def secrets_redact(text: str) -> str:
    """``text`` with every token value it carries replaced by ``[REDACTED]`` (the names stay, for debugging)."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretsRedactingFilter(logging.Filter):
    """Redacts a record's message and traceback in place; never drops a record.

    The message is formatted first (a token is usually an argument, e.g. the path of Django's
    ``"%s: %s"``), and replaces ``msg`` with no ``args`` only when something was redacted, so other
    records keep their lazy formatting. On a handler it covers what that handler writes; on a logger, the
    records created there before any handler (or mail) sees them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed logging call: the handler reports it as usual
            return True
        redacted = secrets_redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is redacted once, here.
            record.exc_text = secrets_redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = secrets_redact(record.exc_text)
        if record.stack_info:
            record.stack_info = secrets_redact(record.stack_info)
        return True
