"""Invalid-token throttling: only invalid attempts are refused, counted per address and per token prefix."""

import json
from pathlib import Path

import pytest

from emissions.models import ApiToken
from emissions.services.tokens import api_token_create
from tests.factories import ProjectFactory

RUN_BODY = json.loads((Path(__file__).parent.parent / "ingest/fixtures/codecarbon/codecarbon_api_run.json").read_text())
LIMIT = 20  # GREENGUILD_TOKEN_FAILURES_PER_MINUTE's default


@pytest.fixture
def tokens(org_a):
    """An ingest and a read token of org A's project."""
    project = ProjectFactory(organization=org_a, slug="llm", name="LLM")
    _token, ingest = api_token_create(organization=org_a, project=project, name="tracker")
    _token, read = api_token_create(organization=org_a, project=project, name="ci", scope=ApiToken.Scope.READ)
    return {"ingest": ingest, "read": read}


def _ingest(client, token: str, **extra):
    return client.post(
        "/api/codecarbon/runs", json.dumps(RUN_BODY), content_type="application/json", HTTP_X_API_TOKEN=token, **extra
    )


def _api(client, token: str, **extra):
    return client.get("/api/v1/runs", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def _forget_cached_tokens():
    """What 30 s do to the ingest endpoint's per-process token cache."""
    from ingest import codecarbon

    codecarbon._token_cache.clear()


@pytest.mark.django_db
def test_it_serves_valid_tokens_from_an_address_that_sent_many_invalid_ones(client, tokens):
    for attempt in range(LIMIT + 5):
        assert _ingest(client, f"gg_bad{attempt:04d}xyz").status_code in (403, 429)
        assert _api(client, f"gg_bad{attempt:04d}xyz").status_code in (401, 403, 429)
    _forget_cached_tokens()
    assert _ingest(client, tokens["ingest"]).status_code == 201  # a tracker's sample is not lost
    assert _api(client, tokens["read"]).status_code == 200  # nor is a CI gate refused


@pytest.mark.django_db
def test_it_throttles_invalid_tokens_per_address(client, tokens):
    for attempt in range(LIMIT):
        assert _ingest(client, f"gg_bad{attempt:04d}xyz").status_code == 403
    limited = _ingest(client, "gg_another_bad_one")
    assert limited.status_code == 429 and 0 < int(limited["Retry-After"]) <= 60
    assert _api(client, "gg_yet_another_bad").status_code == 429  # the REST API shares the count
    assert _ingest(client, "gg_bad_from_elsewhere", REMOTE_ADDR="10.0.0.9").status_code == 403


@pytest.mark.django_db
def test_it_throttles_one_invalid_token_prefix_from_many_addresses(client, tokens):
    for attempt in range(LIMIT):
        assert _ingest(client, "gg_revoked_0123", REMOTE_ADDR=f"10.0.1.{attempt}").status_code == 403
    assert _ingest(client, "gg_revoked_0123", REMOTE_ADDR="10.0.2.1").status_code == 429
    assert _ingest(client, "gg_other_prefix", REMOTE_ADDR="10.0.2.1").status_code == 403


@pytest.mark.django_db
def test_it_ignores_x_forwarded_for_from_an_untrusted_peer(client, tokens):
    for attempt in range(LIMIT):
        spoofed = f"203.0.113.{attempt}"
        assert _ingest(client, f"gg_bad{attempt:04d}xyz", HTTP_X_FORWARDED_FOR=spoofed).status_code == 403
    # Every attempt came from 127.0.0.1 whatever the header claimed.
    assert _ingest(client, "gg_bad_spoofed", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


@pytest.mark.django_db
def test_it_honours_x_forwarded_for_from_a_trusted_proxy(client, tokens, settings):
    settings.GREENGUILD_TRUSTED_PROXIES = ["127.0.0.0/8", "10.8.0.0/16"]
    for attempt in range(LIMIT):
        forwarded = "203.0.113.5, 10.8.0.2"  # the client, then an inner proxy of ours
        assert _ingest(client, f"gg_bad{attempt:04d}xyz", HTTP_X_FORWARDED_FOR=forwarded).status_code == 403
    assert _ingest(client, "gg_bad_next", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    # Another client behind the same proxy is not limited; a forged left-most entry does not move the client.
    assert _ingest(client, "gg_bad_other", HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 403
    assert _ingest(client, "gg_bad_forged", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5").status_code == 429


def test_client_address_reads_the_header_only_behind_trusted_proxies(rf, settings):
    from emissions.throttling import client_address

    settings.GREENGUILD_TRUSTED_PROXIES = []
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="192.0.2.1")
    assert client_address(request) == "192.0.2.1"
    settings.GREENGUILD_TRUSTED_PROXIES = ["192.0.2.0/24"]
    assert client_address(request) == "203.0.113.5"
    assert client_address(rf.get("/", HTTP_X_FORWARDED_FOR="not-an-ip", REMOTE_ADDR="192.0.2.1")) == "192.0.2.1"
    assert client_address(rf.get("/", HTTP_X_FORWARDED_FOR="192.0.2.9", REMOTE_ADDR="192.0.2.1")) == "192.0.2.9"
