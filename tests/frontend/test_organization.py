"""The "Teams, projects and members" page (/organization/), a token that creates its project, and the page a
signed-in user without an organization gets. Who may call each URL: test_access_matrix*.py."""

import re

import pytest
from django.test import Client

from emissions.choices import Role
from emissions.models import ApiToken, Membership, Project, Team
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def admin(org_a):
    return MembershipFactory(organization=org_a, role=Role.ORG_ADMIN, user__username="root").user


@pytest.mark.django_db
def test_an_admin_creates_and_renames_teams_and_projects(client, admin, org_a):
    client.force_login(admin)
    response = client.post("/organization/teams/", {"name": "Vision Lab"})
    assert response.status_code == 302 and response["Location"] == "/organization/#teams"
    team = Team.objects.for_org(org_a).get(slug="vision-lab")
    response = client.post("/organization/projects/", {"name": "Detector", "team": team.pk, "slug": "det"})
    assert response.status_code == 302
    assert Project.objects.for_org(org_a).get(slug="det").team == team
    assert client.post("/organization/teams/vision-lab/rename", {"name": "Vision"}).status_code == 302
    assert client.post("/organization/projects/det/rename", {"name": "Detector v2"}).status_code == 302
    page = client.get("/organization/").content.decode()
    assert "Project det renamed “Detector v2”." in page  # the message after the redirect
    assert 'href="/teams/vision-lab/">Vision</a>' in page and 'href="/projects/det/">Detector v2</a>' in page


@pytest.mark.django_db
def test_a_refused_form_comes_back_with_the_reason(client, admin, org_a):
    client.force_login(admin)
    response = client.post("/organization/teams/", {"name": "A Team"})  # slug a-team exists
    assert response.status_code == 400
    assert "a team with the slug &#x27;a-team&#x27; exists" in response.content.decode()
    response = client.post("/organization/teams/a-team/rename", {"name": ""})
    assert response.status_code == 400 and "Team a-team: This field is required." in response.content.decode()
    assert Team.objects.for_org(org_a).get(slug="a-team").name == "A Team"


@pytest.mark.django_db
def test_a_new_member_gets_a_one_time_password_shown_once(client, admin, org_a):
    client.force_login(admin)
    response = client.post("/organization/members/", {"username": "newbie", "role": Role.GUILD_MEMBER})
    assert response.status_code == 200
    page = response.content.decode()
    password = re.search(r'id="new-password" type="text" readonly value="([^"]+)"', page)[1]
    assert "newbie added as guild member" in page
    assert password not in client.get("/organization/").content.decode()  # never shown again
    newcomer = Client()
    assert newcomer.post("/login/", {"username": "newbie", "password": password}).status_code == 302
    assert newcomer.get("/").status_code == 200  # a member now: the overview, not the no-membership page


@pytest.mark.django_db
def test_an_admin_sets_roles_and_cannot_demote_the_last_admin(client, admin, org_a):
    client.force_login(admin)
    viewer = MembershipFactory(organization=org_a, role=Role.VIEWER, user__username="val")
    team = Team.objects.for_org(org_a).get(slug="a-team")
    response = client.post(f"/organization/members/{viewer.pk}/role", {"role": Role.TEAM_MEMBER})
    assert response.status_code == 400 and "a team member needs a team" in response.content.decode()
    response = client.post(f"/organization/members/{viewer.pk}/role", {"role": Role.TEAM_MEMBER, "team": team.pk})
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert (viewer.role, viewer.team) == (Role.TEAM_MEMBER, team)
    own = Membership.objects.get(user=admin)
    response = client.post(f"/organization/members/{own.pk}/role", {"role": Role.VIEWER})
    assert response.status_code == 400 and "the only org admin" in response.content.decode()
    assert Membership.objects.get(user=admin).role == Role.ORG_ADMIN


@pytest.mark.django_db
def test_other_members_read_teams_and_projects_but_not_members_or_forms(client, alice, admin, org_a):
    client.force_login(alice)
    page = client.get("/organization/").content.decode()
    assert 'href="/teams/a-team/">A Team</a>' in page and 'href="/projects/a-project/">A Project</a>' in page
    assert 'id="members"' not in page and 'id="team-create"' not in page and "root" not in page
    response = client.post("/organization/teams/", {"name": "Mine"})
    assert response.status_code == 403 and not Team.objects.filter(name="Mine").exists()


@pytest.mark.django_db
def test_a_signed_in_user_without_an_organization_is_told_what_to_do(client, org_a):
    client.force_login(UserFactory(username="stray"))
    for url in ("/", "/teams/", "/organization/", "/settings/tokens/"):
        response = client.get(url)
        assert response.status_code == 403, url
        page = re.sub(r"\s+", " ", response.content.decode())
        assert "<html" in page and "You are not a member of an organization yet" in page
        assert "ask one of its organization admins to add the username <strong>stray</strong>" in page
        assert 'create_organization --name "Your organization" --admin stray' in page


@pytest.mark.django_db
def test_a_token_can_create_its_project(client, admin, org_a):
    client.force_login(admin)
    team = Team.objects.for_org(org_a).get(slug="a-team")
    body = {"name": "laptop", "new_project_name": "Speech Model", "new_project_team": team.pk, "scope": "ingest"}
    response = client.post("/settings/tokens/", body)
    assert response.status_code == 200 and response.context["created"][1].startswith("gg_")
    token = ApiToken.objects.for_org(org_a).get(name="laptop")
    assert (token.project.slug, token.project.name, token.project.team) == ("speech-model", "Speech Model", team)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "t", "scope": "ingest"}, "Choose a project, or name a new one below."),
        (
            {
                "name": "t",
                "project": "{project}",
                "new_project_name": "X",
                "new_project_team": "{team}",
                "scope": "ingest",
            },
            "Choose an existing project or name a new one, not both.",
        ),
        (
            {"name": "t", "new_project_name": "A Project", "new_project_team": "{team}", "scope": "ingest"},
            "a project with the slug &#x27;a-project&#x27; exists",
        ),
    ],
)
def test_a_token_form_naming_no_project_or_two_is_refused(client, admin, org_a, body, error):
    client.force_login(admin)
    ids = {"project": org_a.projects.get().pk, "team": org_a.teams.get().pk}
    response = client.post("/settings/tokens/", {key: str(value).format(**ids) for key, value in body.items()})
    assert response.status_code == 200 and error in response.content.decode()
    assert not ApiToken.objects.exists() and Project.objects.for_org(org_a).count() == 1


@pytest.mark.django_db
def test_a_guild_members_new_project_goes_under_its_own_team(client, org_a):
    other = Team.objects.create(organization=org_a, name="Other", slug="other")
    guild = MembershipFactory(organization=org_a, role=Role.GUILD_MEMBER, team=other).user
    client.force_login(guild)
    form = client.get("/settings/tokens/").context["form"]
    assert list(form.fields["new_project_team"].queryset) == [other]
    a_team = Team.objects.for_org(org_a).get(slug="a-team")
    body = {"name": "t", "new_project_name": "Mine", "new_project_team": a_team.pk, "scope": "ingest"}
    assert "Select a valid choice" in client.post("/settings/tokens/", body).content.decode()
    body["new_project_team"] = other.pk
    client.post("/settings/tokens/", body)
    assert Project.objects.for_org(org_a).get(slug="mine").team == other


@pytest.mark.django_db
def test_a_new_project_needs_a_team_to_exist(client, org_b):
    lone = MembershipFactory(organization=org_b, role=Role.ORG_ADMIN).user
    Project.objects.for_org(org_b).delete()
    Team.objects.for_org(org_b).delete()
    client.force_login(lone)
    body = {"name": "t", "new_project_name": "First", "scope": "ingest"}
    page = client.post("/settings/tokens/", body).content.decode()
    assert "There is no team yet: an organization admin creates one first." in page
