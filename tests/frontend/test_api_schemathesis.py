"""Schemathesis against our own OpenAPI schema, in-process over WSGI: no generated request gets a 5xx.

Every operation is called with a read token and with an ingest token of one project; the generated
inputs are hostile (wrong types, huge strings, odd unicode). Only the "no server error" check is
applied: the schema does not yet describe every 4xx answer.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from emissions.models import ApiToken
from emissions.services.tokens import api_token_create
from tests.factories import OrganizationFactory, ProjectFactory


@pytest.fixture
def api_schema(db, settings, caller):
    """The schema loaded from the app itself, with a read token (the schema is not public). As Django's
    test client does, a request's start and end must not close the database connection, which holds the
    test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from frontend.wsgi import application

    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        headers = {"Authorization": f"Bearer {caller['read']}"}
        yield schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def caller(db):
    """A read token and an ingest token of one project (werkzeug's test client drops a Cookie header, so
    the in-process calls authenticate by token)."""
    organization = OrganizationFactory(slug="fuzzed", name="Fuzzed")
    project = ProjectFactory(organization=organization)
    _, read = api_token_create(organization=organization, project=project, name="read", scope=ApiToken.Scope.READ)
    _, ingest = api_token_create(organization=organization, project=project, name="ingest")
    return {"read": read, "ingest": ingest}


def test_no_generated_request_gets_a_server_error(api_schema, caller):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    identities = ({"Authorization": f"Bearer {caller['read']}"}, {"Authorization": f"Bearer {caller['ingest']}"})
    failures: list[str] = []
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            for headers in identities:
                response = case.call(headers=headers)
                statuses.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {case.body!r:.200}")

        call()
    assert not failures, "\n".join(failures[:20])
    assert len(statuses) >= 2 * len(operations) and any(status < 300 for status in statuses)


def test_api_schema_needs_a_sign_in(client, caller, alice):
    """/api/schema/ answers a session or a token, not an anonymous caller."""
    assert client.get("/api/schema/").status_code in (401, 403)
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {caller['read']}").status_code == 200
    client.force_login(alice)
    assert client.get("/api/schema/").status_code == 200
