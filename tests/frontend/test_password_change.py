"""/account/password/: a signed-in user changes their own password and signs in with the new one."""

import pytest
from django.test import Client

NEW_PASSWORD = "a-much-longer-passphrase-42"


def _sign_in(client, username: str, password: str):
    """Through the /login/ form: django-axes refuses client.login() without a request."""
    return client.post("/login/", {"username": username, "password": password})


@pytest.mark.django_db
def test_it_changes_the_password(client, alice):
    assert _sign_in(client, "alice", "password").status_code == 302
    page = client.get("/")
    assert b'href="/account/password/"' in page.content  # the link in the header
    form = client.get("/account/password/")
    assert form.status_code == 200 and b"GreenGuild" in form.content  # our page, not the admin's
    data = {"old_password": "password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    response = client.post("/account/password/", data)
    assert response.status_code == 302 and response["Location"] == "/account/password/done/"
    assert b"Password changed" in client.get("/account/password/done/").content
    assert client.get("/").status_code == 200  # the session survives the change

    fresh = Client()
    assert _sign_in(fresh, "alice", "password").status_code == 200  # the old one no longer works
    assert _sign_in(fresh, "alice", NEW_PASSWORD).status_code == 302
    assert fresh.get("/").status_code == 200


@pytest.mark.django_db
def test_it_needs_the_old_password(client, alice):
    _sign_in(client, "alice", "password")
    data = {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post("/account/password/", data).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password("password")


@pytest.mark.django_db
def test_it_needs_a_sign_in(client):
    response = client.get("/account/password/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_it_checks_the_csrf_token(alice):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    data = {"old_password": "password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert strict.post("/account/password/", data).status_code == 403
    alice.refresh_from_db()
    assert alice.check_password("password")
