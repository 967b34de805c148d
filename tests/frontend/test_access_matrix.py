"""Every page and API read × every kind of caller: who gets 200, who is sent to log in, who gets 403/404.

Callers: anonymous; a viewer, a team member of another team and a guild member of org A; an admin of
org B. URLs name org A's team, project, run and report. Org B's admin must never see org A's objects
(404, never 403: the existence of another organization's object is not revealed) and org-level pages
show them only their own organization.
"""

import pytest

from emissions.choices import Role
from tests.factories import MembershipFactory, RunFactory, SiteFactory, TeamFactory

ANONYMOUS, VIEWER, OTHER_TEAM, GUILD, OTHER_ORG_ADMIN = "anonymous", "viewer", "other_team", "guild", "b_admin"
CALLERS = (ANONYMOUS, VIEWER, OTHER_TEAM, GUILD, OTHER_ORG_ADMIN)
MEMBERS_OF_A = (VIEWER, OTHER_TEAM, GUILD)

# Pages of the organization as a whole: 200 for every member of any organization, login for anonymous.
ORG_PAGES = ["/", "/hardware/", "/cloud/", "/imports/", "/reports/", "/settings/", "/leaderboard/", "/budgets/",
             "/what-if/", "/settings/tokens/", "/teams/", "/projects/", "/organization/",
             "/scope2-hourly/", "/overview/cfe-heatmap/"]  # fmt: skip
# Pages of one of org A's objects: 200 for A's members, 404 for B's admin, login for anonymous.
OBJECT_PAGES = ["/teams/a-team/", "/projects/a-project/", "/runs/{run}/", "/projects/a-project/label.svg",
                "/reports/{report}/csv", "/sites/a-site/", "/projects/a-project/passport.json",
                "/projects/a-project/passport.md"]  # fmt: skip
API_LISTS = ["/api/v1/teams/", "/api/v1/projects/", "/api/v1/sites/", "/api/v1/runs/", "/api/v1/imports/",
             "/api/v1/reports/", "/api/v1/inventory/?period=2025", "/api/v1/row-errors/",
             "/api/v1/leaderboard?period=2025"]  # fmt: skip
# API reads of one of org A's objects: 200 for A's members, 404 for B's admin, 403 for anonymous.
API_OBJECTS = ["/api/v1/teams/{team}/", "/api/v1/projects/{project}/", "/api/v1/runs/{run}/",
               "/api/v1/reports/{report}/", "/api/v1/reports/{report}/files/csv",
               "/api/v1/budget-check?project=a-project", "/api/v1/sites/a-site/hourly-readings/"]  # fmt: skip
# Raw data, not figures: import batches, row errors, report files, tokens and hourly meter data. A viewer gets 403
# (docs/configuration.md, "Roles"); every other member of A reads them.
VIEWER_REFUSED = {"/imports/", "/settings/tokens/", "/reports/{report}/csv", "/api/v1/imports/", "/api/v1/row-errors/",
                  "/api/v1/reports/{report}/files/csv", "/api/v1/sites/a-site/hourly-readings/"}  # fmt: skip


def _member_status(caller: str, url: str) -> int:
    return 403 if caller == VIEWER and url in VIEWER_REFUSED else 200


@pytest.fixture
def world(org_a, org_b, media_root):
    other_team = TeamFactory(organization=org_a, slug="other-team", name="Other team")
    users = {
        VIEWER: MembershipFactory(organization=org_a, role=Role.VIEWER, user__username="v").user,
        OTHER_TEAM: MembershipFactory(
            organization=org_a, role=Role.TEAM_MEMBER, team=other_team, user__username="t"
        ).user,
        GUILD: MembershipFactory(
            organization=org_a, role=Role.GUILD_MEMBER, team=org_a.teams.get(slug="a-team"), user__username="g"
        ).user,
        OTHER_ORG_ADMIN: MembershipFactory(organization=org_b, role=Role.ORG_ADMIN, user__username="b").user,
    }
    project = org_a.projects.get(slug="a-project")
    run = RunFactory(organization=org_a, project=project)
    SiteFactory(organization=org_a, slug="a-site", name="A site")
    from reporting.services import report_create, report_generate

    report = report_create(organization=org_a, period_label="2025-Q1", created_by=users[GUILD], enqueue=False)
    report_generate(report=report)
    return {"users": users, "run": run.pk, "report": report.pk, "team": project.team_id, "project": project.pk}


def _get(client, world, caller: str, url: str):
    client.logout()
    if caller != ANONYMOUS:
        client.force_login(world["users"][caller])
    return client.get(url.format(**world))


@pytest.mark.django_db
@pytest.mark.parametrize("url", ORG_PAGES + OBJECT_PAGES)
def test_pages(client, world, url):
    statuses = {caller: _get(client, world, caller, url).status_code for caller in CALLERS}
    assert statuses[ANONYMOUS] == 302, statuses
    for caller in MEMBERS_OF_A:
        assert statuses[caller] == _member_status(caller, url), (caller, statuses)
    assert statuses[OTHER_ORG_ADMIN] == (200 if url in ORG_PAGES else 404), statuses


@pytest.mark.django_db
@pytest.mark.parametrize("url", API_LISTS)
def test_api_reads(client, world, url):
    for caller in CALLERS:
        response = _get(client, world, caller, url)
        if caller == ANONYMOUS:
            assert response.status_code in (401, 403), response.status_code
            continue
        assert response.status_code == (200 if caller == OTHER_ORG_ADMIN else _member_status(caller, url)), (
            caller,
            response.status_code,
        )
        if caller == OTHER_ORG_ADMIN:  # org B's admin: nothing of org A in any list
            body = response.content.decode()
            assert "a-team" not in body and "a-project" not in body and "org-a" not in body, (url, body[:300])


@pytest.mark.django_db
@pytest.mark.parametrize("url", API_OBJECTS)
def test_api_object_reads(client, world, url):
    statuses = {caller: _get(client, world, caller, url).status_code for caller in CALLERS}
    members = {caller: _member_status(caller, url) for caller in MEMBERS_OF_A}
    assert statuses == {ANONYMOUS: 403, **members, OTHER_ORG_ADMIN: 404}, (url, statuses)


@pytest.mark.django_db
def test_org_pages_show_only_the_callers_organization(client, world):
    for url in ("/settings/", "/leaderboard/", "/", "/teams/", "/projects/", "/organization/"):
        body = _get(client, world, OTHER_ORG_ADMIN, url).content.decode()
        assert "A Team" not in body and "A Project" not in body, url
        assert "A Team" in _get(client, world, GUILD, "/settings/").content.decode()
