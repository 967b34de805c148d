"""Response headers, cookie flags and CSRF: what a browser is told to enforce."""

import re

import pytest
from django.test import Client

from frontend.security import CONTENT_SECURITY_POLICY


@pytest.mark.django_db
def test_every_response_carries_a_policy_without_external_origins(client):
    for path in ("/login/", "/healthz", "/api/schema/"):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert policy == CONTENT_SECURITY_POLICY
        assert not re.search(r"https?:|\*", policy), "no origin but our own"
        assert "script-src 'self'" in policy and "'unsafe-eval'" not in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_session_cookie_flags_after_login(client, django_user_model):
    django_user_model.objects.create_user(username="alice", password="correct horse")
    response = client.post("/login/", {"username": "alice", "password": "correct horse"})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["secure"]


@pytest.mark.django_db
def test_forms_refuse_a_post_without_the_csrf_token(django_user_model):
    django_user_model.objects.create_user(username="bob", password="correct horse")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login/", {"username": "bob", "password": "correct horse"}).status_code == 403
    strict.force_login(django_user_model.objects.get(username="bob"))
    assert strict.post("/settings/tokens/", {"name": "x"}).status_code == 403
    assert strict.post("/logout/").status_code == 403
