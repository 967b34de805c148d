"""API tokens (create once, hashed at rest, revoke, last use) and the periodic ledger refresh."""

import hashlib
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from emissions.models import ApiToken, Calculation, Project
from emissions.services.ledger import ledger_refresh
from emissions.services.tokens import api_token_authenticate, api_token_create, api_token_revoke
from tests.factories import ProjectFactory


@pytest.mark.django_db
def test_token_is_stored_hashed_and_revocable(org_a):
    token, plaintext = api_token_create(organization=org_a, project=ProjectFactory(organization=org_a), name="t")
    assert plaintext.startswith("gg_") and len(plaintext) >= 43
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_sha256 == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert api_token_authenticate(plaintext=plaintext) == token
    assert api_token_authenticate(plaintext=plaintext, scope="read") is None
    api_token_revoke(organization=org_a, token_id=token.pk)
    assert api_token_authenticate(plaintext=plaintext) is None


@pytest.mark.django_db
def test_last_use_is_written_at_most_every_few_minutes(org_a, django_assert_num_queries):
    _, plaintext = api_token_create(organization=org_a, project=ProjectFactory(organization=org_a), name="t")
    with django_assert_num_queries(2):  # lookup + first last_used_at write
        api_token_authenticate(plaintext=plaintext)
    with django_assert_num_queries(1):  # lookup only
        api_token_authenticate(plaintext=plaintext)


@pytest.mark.django_db
def test_create_token_command(org_a, capsys):
    call_command("create_token", "--org", "org-a", "--project", "new-model", "--scope", "read", "--name", "ci")
    plaintext = capsys.readouterr().out.strip()
    token = api_token_authenticate(plaintext=plaintext, scope="read")
    assert token.project == Project.objects.get(slug="new-model") and token.project.team.slug == "a-team"
    with pytest.raises(CommandError, match="no organization"):
        call_command("create_token", "--org", "nope", "--project", "x")


@pytest.mark.django_db
def test_token_of_another_organization_project_is_refused(org_a, org_b):
    with pytest.raises(ValueError, match="belong to the organization"):
        api_token_create(organization=org_a, project=ProjectFactory(organization=org_b), name="t")


@pytest.mark.django_db
def test_ledger_refresh_computes_once_per_change(org_a, org_b):
    first = ledger_refresh(today=date(2026, 5, 10))
    assert {(c.period_start, c.period_end) for c in first} == {
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 1, 1), date(2026, 12, 31)),
    }
    assert Calculation.objects.count() == 4  # two organizations × quarter and year
    ledger_refresh(today=date(2026, 5, 10))
    assert Calculation.objects.count() == 4  # nothing changed: nothing recomputed
