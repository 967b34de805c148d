"""With the database away, pages and the API answer 503 (retry), not 500, and /readyz says so."""

import pytest
from django.db import connection


@pytest.fixture
def database_away(transactional_db, settings):
    """The real connection pointed at a place where no database answers, then restored."""
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database cannot be taken away; the PostgreSQL run covers this")
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_api_and_pages_answer_503_while_the_database_is_away(client, database_away):
    client.raise_request_exception = False
    api = client.get("/api/v1/teams/", HTTP_AUTHORIZATION="Bearer gg_anything")
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert api.json()["detail"].startswith("the database is unavailable")
    page = client.get("/imports/")
    assert page.status_code in (302, 503)  # anonymous: the login redirect needs no database
    login = client.post("/login/", {"username": "demo", "password": "demo"})
    assert login.status_code == 503
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200  # the process itself is alive


def test_a_bug_is_still_a_500(client, db, settings):
    from frontend.errors import server_error

    request = client.get("/healthz").wsgi_request
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500 and "Retry-After" not in response
