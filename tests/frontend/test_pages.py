"""Token and import pages: create once, revoke, upload, org isolation and roles."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emissions.models import ApiToken, Membership
from emissions.services.tokens import api_token_authenticate
from ingest.models import ImportBatch
from tests.factories import GridZoneFactory


@pytest.mark.django_db
def test_token_created_shown_once_and_revoked(client, alice, org_a):
    client.force_login(alice)
    project = org_a.projects.get()
    page = client.post("/settings/tokens/", {"name": "laptop", "project": project.pk, "scope": "ingest"})
    assert page.status_code == 200
    plaintext = page.context["created"][1]
    assert plaintext in page.content.decode()
    token = api_token_authenticate(plaintext=plaintext)
    assert token.name == "laptop"
    listing = client.get("/settings/tokens/").content.decode()
    assert plaintext not in listing and token.prefix in listing  # never shown again
    assert client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 302
    assert api_token_authenticate(plaintext=plaintext) is None


@pytest.mark.django_db
def test_tokens_of_another_organization_are_invisible_and_unrevocable(client, alice, charlie, org_b):
    from emissions.services.tokens import api_token_create

    token, _ = api_token_create(organization=org_b, project=org_b.projects.get(), name="b-secret")
    client.force_login(alice)
    assert "b-secret" not in client.get("/settings/tokens/").content.decode()
    assert client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


@pytest.mark.django_db
def test_viewer_cannot_create_tokens_or_upload(client, alice, org_a):
    Membership.objects.filter(user=alice).update(role="viewer")
    client.force_login(alice)
    assert client.post("/settings/tokens/", {"name": "x", "project": org_a.projects.get().pk}).status_code == 403
    upload = SimpleUploadedFile("s.csv", b"site,ownership,grid_zone,pue\n")
    assert client.post("/imports/", {"source": "sites", "file": upload}).status_code == 403


@pytest.mark.django_db
def test_upload_page_imports_into_own_organization(
    client, alice, org_a, org_b, media_root, django_capture_on_commit_callbacks
):
    GridZoneFactory()
    client.force_login(alice)
    upload = SimpleUploadedFile("sites.csv", b"site,ownership,grid_zone,pue\nLab,owned,DE,1.3\nBad,owned,DE,0.2\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"source": "sites", "file": upload})
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert batch.organization == org_a and batch.status == "partial" and batch.created_by == alice
    page = client.get("/imports/").content.decode()
    assert "sites.csv" in page and f"/api/v1/imports/{batch.pk}/row-errors.csv" in page
    client.force_login(_member_of(org_b))
    assert "sites.csv" not in client.get("/imports/").content.decode()


def _member_of(organization):
    from tests.factories import MembershipFactory

    return MembershipFactory(organization=organization, user__username="bob").user


@pytest.mark.django_db
def test_admin_adds_a_token_and_shows_it_once(admin_client, org_a):
    project = org_a.projects.get()
    response = admin_client.post(
        "/admin/emissions/apitoken/add/",
        {"organization": org_a.pk, "project": project.pk, "name": "from-admin", "scope": "read"},
    )
    assert response.status_code == 200
    plaintext = response.context["plaintext"]
    assert api_token_authenticate(plaintext=plaintext, scope="read").name == "from-admin"
