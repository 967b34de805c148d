"""Deeply nested JSON is refused with a reason, never a 500 or an "internal error" (issue 18, finding 6),
and integer query parameters are checked before they reach the database."""

import json

import pytest
from django.urls import get_resolver
from rest_framework.parsers import JSONParser

from emissions.api_parsers import DepthLimitedJSONParser
from emissions.json_depth import JSON_MAX_DEPTH, JsonTooDeepError, json_loads
from emissions.services.tokens import api_token_create
from ingest.models import ImportBatch
from ingest.parsers.billing_rows import _ABSENT, loads_lenient
from ingest.services import import_batch_create, import_batch_process
from tests.factories import ProjectFactory

BOMB = "[" * 100_000  # what made json.loads raise RecursionError
REASON = f"nested deeper than {JSON_MAX_DEPTH} levels"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_loads_accepts_the_limit_and_refuses_one_more():
    assert json_loads(_nested(JSON_MAX_DEPTH)) is not None
    assert json_loads(json.dumps({"a": "[" * 500})) == {"a": "[" * 500}  # brackets inside strings do not count
    for text in (_nested(JSON_MAX_DEPTH + 1), BOMB, BOMB.encode()):
        with pytest.raises(JsonTooDeepError, match=REASON):
            json_loads(text)


def test_a_deep_billing_cell_stays_text():
    assert loads_lenient(_nested(200)) is _ABSENT


@pytest.fixture
def ingest_token(org_a):
    project = ProjectFactory(organization=org_a, slug="llm", name="LLM")
    return api_token_create(organization=org_a, project=project, name="tracker")[1]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/runs", "/api/v1/reports/"])
def test_json_api_answers_400_with_the_reason(client, alice, path):
    client.force_login(alice)
    for body in (BOMB, _nested(JSON_MAX_DEPTH + 1)):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert REASON in response.json()["detail"]


def test_every_drf_view_parses_json_with_the_bounded_parser():
    """No view falls back to DRF's own JSONParser: each accepts JSON only through the depth limit."""
    views = [view for view in _url_views(get_resolver().url_patterns) if hasattr(view, "cls")]
    assert len(views) > 10
    for view in views:
        json_parsers = [p for p in view.cls().get_parsers() if isinstance(p, JSONParser)]
        assert all(isinstance(p, DepthLimitedJSONParser) for p in json_parsers), view.cls


def _url_views(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _url_views(pattern.url_patterns)
        else:
            yield pattern.callback


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/codecarbon/runs", "/api/codecarbon/emissions", "/api/codecarbon/http-output/"])
def test_codecarbon_endpoints_answer_400_with_the_reason(client, ingest_token, path):
    headers = {"HTTP_X_API_TOKEN": ingest_token}
    if path.endswith("http-output/"):
        path, headers = path + ingest_token, {}
    response = client.post(path, BOMB, content_type="application/json", **headers)
    assert response.status_code == 400, response.content
    assert REASON in response.json()["detail"]


def _import(org, source: str, content: bytes) -> ImportBatch:
    batch = import_batch_create(organization=org, source=source, filename="upload", content=content)
    return import_batch_process(batch=batch)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "content"),
    [
        ("native_json", BOMB),
        ("native_json", '{"runs": ' + _nested(JSON_MAX_DEPTH) + "}"),
        ("boamps_json", BOMB),
        ("hf_model_card", "---\nco2_eq_emissions: " + "[" * 5_000 + "\n---\n"),
        ("hf_model_card", "---\nco2_eq_emissions: " + _nested(JSON_MAX_DEPTH + 1) + "\n---\n"),
    ],
)
def test_a_deep_import_file_fails_with_the_reason(org_a, media_root, source, content):
    batch = _import(org_a, source, content.encode())
    assert batch.status == ImportBatch.Status.FAILED
    assert "internal error" not in batch.error and f"deeper than {JSON_MAX_DEPTH} levels" in batch.error


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["1" + "0" * 23, "0", "-1", "²", "1e3", "abc"])
def test_row_errors_batch_must_be_an_id(client, alice, value):
    client.force_login(alice)
    response = client.get("/api/v1/row-errors/", {"batch": value})
    assert response.status_code == 400
    assert response.json() == {"batch": [f"batch must be an integer between 1 and {2**63 - 1}"]}
    assert client.get("/api/v1/row-errors/", {"batch": "12"}).status_code == 200
