"""Tokens never reach the logs: Django's request log, runserver's and gunicorn's access logs, tracebacks."""

import io
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from emissions.services.tokens import api_token_create
from frontend.log_redaction import REDACTED, SecretsRedactingFilter, secrets_redact
from tests.factories import ProjectFactory

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gg_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0u-_"  # the shape of a real one: gg_ + 43 URL-safe


@pytest.fixture
def ingest_token(org_a):
    project = ProjectFactory(organization=org_a, slug="llm")
    _token, plaintext = api_token_create(organization=org_a, project=project, name="tracker")
    return plaintext


@pytest.fixture
def handler_output():
    """What a configured handler writes, read from a StringIO put in place of its stream."""
    swapped = []

    def capture(handler: logging.StreamHandler) -> io.StringIO:
        stream = io.StringIO()
        swapped.append((handler, handler.setStream(stream)))
        return stream

    yield capture
    for handler, stream in swapped:
        handler.setStream(stream)


def _configured_stream_handler(logger_name: str | None) -> logging.StreamHandler:
    """The handler the settings give a logger (pytest adds its own capture handlers, subclasses, beside it)."""
    (handler,) = [h for h in logging.getLogger(logger_name).handlers if type(h) is logging.StreamHandler]
    return handler


@pytest.mark.django_db
def test_the_request_log_of_an_http_output_call_has_no_token(client, ingest_token, caplog):
    """Django logs every 4xx as "<reason>: <path>", and the HTTP output's path is its token."""
    caplog.set_level(logging.INFO)
    url = f"/api/codecarbon/http-output/{ingest_token}"
    assert client.post(url, data="not json", content_type="application/json").status_code == 400
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"/api/codecarbon/http-output/{REDACTED}" in message for message in messages), messages
    assert not any(ingest_token in message for message in messages)


def test_runservers_access_log_has_no_token(handler_output):
    """runserver's access line, through the django.server handler the settings configure."""
    from django.core.servers.basehttp import WSGIRequestHandler

    output = handler_output(_configured_stream_handler("django.server"))
    request_handler = SimpleNamespace(request=None, log_date_time_string=lambda: "05/Dec/2026 12:00:00")
    request_line = f"POST /api/codecarbon/http-output/{TOKEN} HTTP/1.1"
    WSGIRequestHandler.log_message(request_handler, '"%s" %s %s', request_line, "201", "58")
    line = output.getvalue()
    assert f'"POST /api/codecarbon/http-output/{REDACTED} HTTP/1.1" 201 58' in line
    assert TOKEN not in line


def test_application_log_lines_and_tracebacks_are_redacted(handler_output):
    """Anything logged through the root console handler: message arguments and exception text."""
    output = handler_output(_configured_stream_handler(None))
    logger = logging.getLogger("greenguild.test")
    try:
        raise ValueError(f"upstream refused https://gg.example/api/codecarbon/http-output/{TOKEN}")
    except ValueError:
        logger.exception("posting %s failed", f"/api/codecarbon//http-output/{TOKEN}?x=1")
    text = output.getvalue()
    assert f"posting /api/codecarbon//http-output/{REDACTED}?x=1 failed" in text
    assert f"ValueError: upstream refused https://gg.example/api/codecarbon/http-output/{REDACTED}" in text
    assert TOKEN not in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"POST /api/codecarbon/http-output/{TOKEN} HTTP/1.1", f"POST /api/codecarbon/http-output/{REDACTED} HTTP/1.1"),
        (f"Authorization: Bearer {TOKEN}", f"Authorization: {REDACTED}"),
        (f"{{'authorization': 'Token {TOKEN}'}}", f"{{'authorization': '{REDACTED}'}}"),
        (f"x-api-token={TOKEN}&page=2", f"x-api-token={REDACTED}&page=2"),
        ("GET /api/v1/runs?token=secret123&project=llm", f"GET /api/v1/runs?token={REDACTED}&project=llm"),
        ("GET /x?access_token=abc.def", f"GET /x?access_token={REDACTED}"),
        ("HTTP_X_API_TOKEN: abc", f"HTTP_X_API_TOKEN: {REDACTED}"),
        (f"bearer {TOKEN}", f"bearer {REDACTED}"),
        (f"a stray {TOKEN} in text", f"a stray gg_{REDACTED} in text"),
        ("GET /api/v1/runs?project=llm 200", "GET /api/v1/runs?project=llm 200"),  # nothing secret: unchanged
    ],
)
def test_secrets_redact(raw, expected):
    assert secrets_redact(raw) == expected


def test_the_filter_keeps_lazy_formatting_when_nothing_is_secret():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s rows", (3,), None)
    assert SecretsRedactingFilter().filter(record) is True
    assert (record.msg, record.args) == ("%s rows", (3,))


@pytest.fixture
def gunicorn_logger():
    """gunicorn's logger as ``gunicorn.conf.py`` configures it, writing its access and error logs to StringIOs."""
    from gunicorn.config import Config

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = Config()
    for name in ("logger_class", "access_log_format"):
        if name in settings:
            cfg.set(name, settings[name])
    cfg.set("accesslog", "-")  # as the Dockerfile's --access-logfile -
    # The Authorization header too, as an operator might add it to the format.
    cfg.set("access_log_format", cfg.access_log_format + " %({authorization}i)s")
    logger = cfg.logger_class(cfg)
    streams = {"access": io.StringIO(), "error": io.StringIO()}
    added = [(logger.access_log, logging.StreamHandler(streams["access"]))]
    added.append((logger.error_log, logging.StreamHandler(streams["error"])))
    for log, handler in added:
        log.addHandler(handler)
    yield logger, streams
    for log in (logger.access_log, logger.error_log):
        for handler in list(log.handlers):
            log.removeHandler(handler)
        log.filters.clear()


def test_gunicorns_access_and_error_logs_have_no_token(gunicorn_logger):
    logger, streams = gunicorn_logger
    path = f"/api/codecarbon/http-output/{TOKEN}"
    environ = {
        "REQUEST_METHOD": "POST", "RAW_URI": f"{path}?token={TOKEN}", "PATH_INFO": path,
        "QUERY_STRING": f"token={TOKEN}", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7",
        "HTTP_USER_AGENT": "python-requests/2.32", "HTTP_REFERER": f"https://gg.example{path}",
    }  # fmt: skip
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {TOKEN}"), ("USER-AGENT", "python-requests/2.32")])
    response = SimpleNamespace(status="201 Created", sent=58, headers=[("Content-Type", "application/json")])
    logger.access(response, request, environ, timedelta(milliseconds=12))
    logger.exception("Error handling request %s", environ["RAW_URI"])
    access, error = streams["access"].getvalue(), streams["error"].getvalue()
    assert f'"POST /api/codecarbon/http-output/{REDACTED}?token={REDACTED} HTTP/1.1" 201 58' in access
    assert f'"https://gg.example/api/codecarbon/http-output/{REDACTED}"' in access  # the referer
    assert access.rstrip().endswith(f"Bearer {REDACTED}")
    assert f"Error handling request /api/codecarbon/http-output/{REDACTED}" in error
    assert TOKEN not in access + error
