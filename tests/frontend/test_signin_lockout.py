"""Sign-in throttling (django-axes): per account and per address, on /login/ and /admin/login/."""

import pytest
from django.core.management import call_command

from emissions.choices import Role
from tests.factories import MembershipFactory

LIMIT = 10  # GREENGUILD_SIGNIN_FAILURE_LIMIT's default
LOCKED = "Too many failed sign-ins"


def _sign_in(client, path: str, username: str, password: str, address: str = "127.0.0.1", **extra):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


@pytest.mark.django_db
def test_it_locks_an_account_after_repeated_wrong_passwords(client, alice, charlie):
    for _ in range(LIMIT - 1):
        assert _sign_in(client, "/login/", "alice", "wrong").status_code == 200
    assert _sign_in(client, "/login/", "alice", "wrong").status_code == 429  # the tenth locks
    refused = _sign_in(client, "/login/", "alice", "password")  # the right one, too late
    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # The account is locked from any address; another account from another address is unaffected.
    assert _sign_in(client, "/login/", "alice", "password", address="10.0.0.7").status_code == 429
    assert _sign_in(client, "/login/", "charlie", "password", address="10.0.0.8").status_code == 302


@pytest.mark.django_db
def test_it_locks_an_address_trying_many_accounts(client, alice, charlie):
    for attempt in range(LIMIT):
        _sign_in(client, "/login/", f"guess{attempt}", "wrong", address="198.51.100.4")
    assert _sign_in(client, "/login/", "charlie", "password", address="198.51.100.4").status_code == 429
    assert _sign_in(client, "/login/", "alice", "password", address="198.51.100.5").status_code == 302


@pytest.mark.django_db
def test_it_throttles_the_admin_sign_in(client, django_user_model):
    django_user_model.objects.create_superuser(username="root", password="correct horse")
    for _ in range(LIMIT - 1):
        assert _sign_in(client, "/admin/login/", "root", "wrong").status_code == 200
    assert _sign_in(client, "/admin/login/", "root", "wrong").status_code == 429
    refused = _sign_in(client, "/admin/login/", "root", "correct horse")
    assert refused.status_code == 429 and LOCKED in refused.content.decode()


@pytest.mark.django_db
def test_a_success_resets_the_count(client, alice):
    for _ in range(LIMIT - 1):
        _sign_in(client, "/login/", "alice", "wrong")
    assert _sign_in(client, "/login/", "alice", "password").status_code == 302
    client.logout()
    assert _sign_in(client, "/login/", "alice", "wrong").status_code == 200  # one failure, not ten
    assert _sign_in(client, "/login/", "alice", "password").status_code == 302


@pytest.mark.django_db
def test_the_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(client, alice, charlie, settings):
    for attempt in range(LIMIT):
        _sign_in(client, "/login/", f"guess{attempt}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}")
    # Untrusted peer: every attempt was 127.0.0.1's, whatever the header said.
    assert _sign_in(client, "/login/", "charlie", "password", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    settings.GREENGUILD_TRUSTED_PROXIES = ["127.0.0.1/32"]
    # Behind the proxy now: the client is the forwarded address, which has no failures.
    assert _sign_in(client, "/login/", "charlie", "password", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 302


@pytest.mark.django_db
def test_org_admins_see_their_locked_members_and_an_operator_unlocks(client, alice, org_a):
    admin = MembershipFactory(organization=org_a, role=Role.ORG_ADMIN, user__username="olga").user
    for _ in range(LIMIT):
        _sign_in(client, "/login/", "alice", "wrong", address="10.1.1.1")
    client.force_login(admin)
    page = client.get("/settings/").content.decode()
    assert 'id="signin-lockouts"' in page and "alice (10 failures" in page
    client.force_login(alice)
    assert 'id="signin-lockouts"' not in client.get("/settings/").content.decode()  # admins only
    client.logout()
    call_command("axes_reset_username", "alice")
    assert _sign_in(client, "/login/", "alice", "password", address="10.1.1.2").status_code == 302
