"""Two organizations: nothing of one is visible to the other, on any API endpoint or page."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from emissions.models import Membership, Project, Site, Team
from ingest.models import ImportBatch, RowError
from tests.factories import GridZoneFactory, RunFactory, SiteFactory

LIST_ENDPOINTS = ["teams", "projects", "sites", "runs", "imports", "row-errors"]


def _populate(organization, tag: str) -> dict[str, int]:
    """One object of every kind for the organization; returns their ids by endpoint."""
    team = Team.objects.for_org(organization).get()
    project = Project.objects.for_org(organization).get()
    site = SiteFactory(organization=organization, name=f"{tag} site", slug=f"{tag}-site")
    run = RunFactory(organization=organization, project=project, site=site, external_id=f"{tag}-run")
    batch = ImportBatch(organization=organization, source="sites", checksum="0" * 64)
    batch.raw_file.save(f"{tag}.csv", ContentFile(b"site\n"), save=True)
    error = RowError.objects.create(batch=batch, row_number=2, reason=f"{tag} reason")
    return {
        "teams": team.pk, "projects": project.pk, "sites": site.pk, "runs": run.pk,
        "imports": batch.pk, "row-errors": error.pk,
    }  # fmt: skip


@pytest.fixture
def two_orgs(org_a, org_b, alice, charlie, media_root):
    return {"a": _populate(org_a, "a"), "b": _populate(org_b, "b")}


def _ids(response) -> set[int]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row.get("id") for row in rows}


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_api_lists_only_own_organization(client, two_orgs, alice, endpoint):
    client.force_login(alice)
    response = client.get(f"/api/v1/{endpoint}/")
    assert response.status_code == 200
    if endpoint == "row-errors":  # row errors carry no id; check by reason text
        assert [row["reason"] for row in response.json()["results"]] == ["a reason"]
    else:
        assert _ids(response) == {two_orgs["a"][endpoint]}


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [e for e in LIST_ENDPOINTS if e != "row-errors"])
def test_api_detail_of_other_organization_is_404(client, two_orgs, alice, endpoint):
    client.force_login(alice)
    assert client.get(f"/api/v1/{endpoint}/{two_orgs['a'][endpoint]}/").status_code == 200
    assert client.get(f"/api/v1/{endpoint}/{two_orgs['b'][endpoint]}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_api_refuses_anonymous_and_non_members(client, two_orgs, endpoint):
    assert client.get(f"/api/v1/{endpoint}/").status_code == 403
    outsider = get_user_model().objects.create_user("outsider", password="x")
    client.force_login(outsider)
    response = client.get(f"/api/v1/{endpoint}/")
    assert response.status_code == 403
    assert "not a member" in response.json()["detail"]


@pytest.mark.django_db
def test_home_page_shows_only_own_organization(client, two_orgs, alice, charlie):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Org A" in page and "A Team" in page
    assert "Org B" not in page and "B Team" not in page
    client.force_login(charlie)
    page = client.get("/").content.decode()
    assert "B Team" in page and "A Team" not in page


@pytest.mark.django_db
def test_pages_require_login_and_membership(client, two_orgs):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(get_user_model().objects.create_user("outsider", password="x"))
    assert client.get("/").status_code == 403


@pytest.mark.django_db
def test_admin_is_for_staff_only(client, two_orgs, alice):
    client.force_login(alice)
    response = client.get("/admin/emissions/run/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_upload_goes_to_own_organization_and_needs_a_write_role(
    client, org_a, org_b, alice, charlie, media_root, django_capture_on_commit_callbacks
):
    csv = b"site,ownership,grid_zone,pue\nLab,owned,DE,1.3\n"
    GridZoneFactory()
    client.force_login(charlie)  # admin of org B
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/imports/", {"source": "sites", "file": ContentFile(csv, name="s.csv")})
    assert response.status_code == 202, response.content
    assert Site.objects.for_org(org_b).filter(slug="lab").exists()
    assert not Site.objects.for_org(org_a).filter(slug="lab").exists()
    Membership.objects.filter(user=alice).update(role="viewer")
    client.force_login(alice)
    response = client.post("/api/v1/imports/", {"source": "sites", "file": ContentFile(csv, name="s.csv")})
    assert response.status_code == 403


def test_scoped_viewset_cannot_override_get_queryset():
    from emissions.api import OrgScopedViewSet

    with pytest.raises(TypeError, match="refine_queryset"):

        class Leaky(OrgScopedViewSet):
            def get_queryset(self):
                return Site.objects.all()
