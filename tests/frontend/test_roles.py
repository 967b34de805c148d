"""Roles as docs/configuration.md ("Roles") describes them: what a refusal says, what a viewer may read,
and where a guild member may write (budgets, new projects: its own team only)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emissions.choices import Role
from emissions.models import Project
from reporting.models import CarbonBudget
from tests.factories import MembershipFactory, ProjectFactory, TeamFactory, UserFactory


@pytest.fixture
def other_team(org_a):
    team = TeamFactory(organization=org_a, slug="b-team", name="B Team")
    ProjectFactory(organization=org_a, team=team, slug="b-project", name="B Project")
    return team


def _member(client, org, role, team=None):
    membership = MembershipFactory(organization=org, role=role, team=team)
    client.force_login(membership.user)
    return membership


@pytest.mark.django_db
def test_it_names_the_role_a_refused_write_needs(client, org_a):
    _member(client, org_a, Role.VIEWER)
    response = client.post("/api/v1/reports/", {"period": "2025-Q2"}, content_type="application/json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "not a member" not in detail
    assert "Your role (viewer)" in detail and "organization admins and guild members" in detail, detail


@pytest.mark.django_db
def test_it_still_tells_a_non_member_so(client, org_a):
    client.force_login(UserFactory())
    response = client.get("/api/v1/teams/")
    assert response.status_code == 403
    assert "not a member of an organization" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/imports/", "/settings/tokens/", "/api/v1/imports/", "/api/v1/row-errors/"])
def test_a_viewer_reads_no_raw_data(client, org_a, url):
    _member(client, org_a, Role.VIEWER)
    response = client.get(url)
    assert response.status_code == 403
    if url.startswith("/api/"):
        assert "Your role (viewer)" in response.json()["detail"]


@pytest.mark.django_db
def test_a_viewer_still_reads_figures(client, org_a):
    _member(client, org_a, Role.VIEWER)
    for url in ("/", "/budgets/", "/reports/", "/api/v1/teams/", "/api/v1/inventory/?period=2025"):
        assert client.get(url).status_code == 200, url


def _budget(owner: str) -> dict:
    return {"owner": owner, "period": "2025-Q2", "budget_kg_co2e": 100, "basis": "location"}


@pytest.mark.django_db
@pytest.mark.parametrize("owner", ["team:b-team", "project:b-project"])
def test_guild_member_budgets_own_team_only(client, org_a, other_team, owner):
    _member(client, org_a, Role.GUILD_MEMBER, team=org_a.teams.get(slug="a-team"))
    assert client.post("/budgets/", _budget(owner)).status_code == 403
    assert not CarbonBudget.objects.for_org(org_a).exists()
    assert client.post("/budgets/", _budget("project:a-project")).status_code == 302
    assert CarbonBudget.objects.for_org(org_a).count() == 1


@pytest.mark.django_db
def test_an_admin_sets_any_teams_budget(client, org_a, other_team):
    _member(client, org_a, Role.ORG_ADMIN)
    assert client.post("/budgets/", _budget("team:b-team")).status_code == 302


@pytest.mark.django_db
def test_guild_member_creates_projects_under_its_own_team(
    client, org_a, other_team, django_capture_on_commit_callbacks
):
    """An import naming an unknown project creates it under the guild member's team, not the first team by name."""
    _member(client, org_a, Role.GUILD_MEMBER, team=other_team)
    run = {"external_id": "r1", "project": "brand-new", "started_at": "2025-02-01T12:00:00Z", "duration_s": 3600,
           "energy_kwh": 1.0}  # fmt: skip
    upload = SimpleUploadedFile("runs.json", json.dumps({"runs": [run]}).encode(), content_type="application/json")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"source": "native_json", "file": upload})
    assert response.status_code == 302
    assert Project.objects.for_org(org_a).get(slug="brand-new").team == other_team


@pytest.mark.django_db
def test_a_guild_member_without_a_team_sets_no_budget_and_its_projects_go_to_the_first_team(
    client, org_a, other_team, django_capture_on_commit_callbacks
):
    """As docs/configuration.md states: no team, no budget; its imports' new projects go under the first team."""
    _member(client, org_a, Role.GUILD_MEMBER)
    for owner in ("team:a-team", "project:a-project"):
        assert client.post("/budgets/", _budget(owner)).status_code == 403
    assert not CarbonBudget.objects.for_org(org_a).exists()
    run = {"external_id": "r2", "project": "teamless", "started_at": "2025-02-01T12:00:00Z", "duration_s": 3600,
           "energy_kwh": 1.0}  # fmt: skip
    upload = SimpleUploadedFile("runs.json", json.dumps({"runs": [run]}).encode(), content_type="application/json")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/imports/", {"source": "native_json", "file": upload}).status_code == 302
    first_team = org_a.teams.order_by("name").first()
    assert Project.objects.for_org(org_a).get(slug="teamless").team == first_team
