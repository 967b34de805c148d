"""Every write URL × every kind of caller, the CSRF check on every session write, and a test that fails
when a URL is added without being classified here (write), in test_access_matrix.py (read) or exempted.

Callers and org A's objects come from test_access_matrix.py. The matrix, read off the views:

* anonymous: a page redirects to the login (302); the API answers 403 (session authentication first).
* viewer, team member: 403 on every write, except that a team member may send runs of its own team's
  projects (POST /api/v1/runs); another team's project, or another team's run id, is 403.
* guild member (of org A's team "a-team"): the write happens (302 after a page form, 200 for the token
  form, 202 for an API create); a budget only for its own team's (test_guild_member_budgets_own_team_only).
* teams, projects and members (``/organization/...``): org admins only, so the guild member is refused (403)
  like the viewer; an org admin's own writes are tested in test_organization.py.
* org B's admin: 404 for a URL naming org A's object; a form naming one finds no such choice (the same
  answer as a made-up id: 200 or 400 with the form error); a create lands in org B. Org A never changes.
* a write method a route does not offer: 403 for callers its permission refuses, then 405 for the rest.

Every refused write must leave org A's data as it was: the snapshot of ``_state`` before == after.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from emissions.choices import Role
from emissions.models import ApiToken, Membership, Project, Run, Team
from emissions.services.tokens import api_token_create
from ingest.models import ImportBatch
from ingest.services import import_batch_create
from reporting.models import CarbonBudget, Report
from tests.factories import ProjectFactory, SiteFactory
from tests.frontend import test_access_matrix as read_matrix
from tests.frontend.test_access_matrix import ANONYMOUS, CALLERS, GUILD, OTHER_ORG_ADMIN, OTHER_TEAM, VIEWER

world = read_matrix.world  # the fixture: org A's callers, a run and a generated report

# Write URL name → (URL, expected status per caller). Only the guild member's write may change org A.
WRITES = {
    "tokens": ("/settings/tokens/", {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 200, OTHER_ORG_ADMIN: 200}),
    "token-revoke": ("/settings/tokens/{token}/revoke",
                     {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 302, OTHER_ORG_ADMIN: 404}),
    "imports": ("/imports/", {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 302, OTHER_ORG_ADMIN: 302}),
    "reports": ("/reports/", {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 302, OTHER_ORG_ADMIN: 302}),
    "budgets": ("/budgets/", {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 302, OTHER_ORG_ADMIN: 400}),
    "run-list": ("/api/v1/runs/", {ANONYMOUS: 403, VIEWER: 403, OTHER_TEAM: 403, GUILD: 202, OTHER_ORG_ADMIN: 202}),
    "import-batch-list": ("/api/v1/imports/",
                          {ANONYMOUS: 403, VIEWER: 403, OTHER_TEAM: 403, GUILD: 202, OTHER_ORG_ADMIN: 202}),
    "report-list": ("/api/v1/reports/",
                    {ANONYMOUS: 403, VIEWER: 403, OTHER_TEAM: 403, GUILD: 202, OTHER_ORG_ADMIN: 202}),
    # A site's hourly meter data (org admins, guild members, an ingest token of that site): org B's admin
    # finds no such site (404); a team member is refused like the viewer.
    "site-hourly-reading-list": ("/api/v1/sites/a-site/hourly-readings/",
                                 {ANONYMOUS: 403, VIEWER: 403, OTHER_TEAM: 403, GUILD: 202, OTHER_ORG_ADMIN: 404}),
    # Issuing is for org admins: the guild member is refused; another organization's admin does not see it.
    "report-issue": ("/api/v1/reports/{report}/issue/",
                     {ANONYMOUS: 403, VIEWER: 403, OTHER_TEAM: 403, GUILD: 403, OTHER_ORG_ADMIN: 404}),
    # Teams, projects and members: org admins only. Org B's admin creates in org B (302; a new member's
    # one-time password is the page itself, 200), gets 404 for org A's team, project or membership, and 400
    # for a project naming org A's team (no such choice).
    "organization-team-create": ("/organization/teams/",
                                 {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 403, OTHER_ORG_ADMIN: 302}),
    "organization-team-rename": ("/organization/teams/a-team/rename",
                                 {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 403, OTHER_ORG_ADMIN: 404}),
    "organization-project-create": ("/organization/projects/",
                                    {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 403, OTHER_ORG_ADMIN: 400}),
    "organization-project-rename": ("/organization/projects/a-project/rename",
                                    {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 403, OTHER_ORG_ADMIN: 404}),
    "organization-member-add": ("/organization/members/",
                                {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 403, OTHER_ORG_ADMIN: 200}),
    "organization-member-role": ("/organization/members/{membership}/role",
                                 {ANONYMOUS: 302, VIEWER: 403, OTHER_TEAM: 403, GUILD: 403, OTHER_ORG_ADMIN: 404}),
}  # fmt: skip

# API routes without some write method → the callers its permission lets through (then told 405).
ORG_ADMIN_ONLY, ADMIN_AND_GUILD = {OTHER_ORG_ADMIN}, {GUILD, OTHER_ORG_ADMIN}
RUN_WRITERS = {OTHER_TEAM, *ADMIN_AND_GUILD}
NOT_OFFERED = {
    "/api/v1/": {VIEWER, OTHER_TEAM, GUILD, OTHER_ORG_ADMIN},  # the API root: any signed-in caller
    "/api/v1/teams/": ORG_ADMIN_ONLY, "/api/v1/teams/{team}/": ORG_ADMIN_ONLY,
    "/api/v1/projects/": ORG_ADMIN_ONLY, "/api/v1/projects/{project}/": ORG_ADMIN_ONLY,
    "/api/v1/sites/": ORG_ADMIN_ONLY, "/api/v1/sites/{site}/": ORG_ADMIN_ONLY,
    "/api/v1/row-errors/": ORG_ADMIN_ONLY,
    "/api/v1/runs/": RUN_WRITERS, "/api/v1/runs/{run}/": RUN_WRITERS,
    "/api/v1/imports/": ADMIN_AND_GUILD, "/api/v1/imports/{batch}/": ADMIN_AND_GUILD,
    "/api/v1/imports/{batch}/row-errors.csv": ADMIN_AND_GUILD,
    "/api/v1/reports/": ADMIN_AND_GUILD, "/api/v1/reports/{report}/": ADMIN_AND_GUILD,
    "/api/v1/reports/{report}/files/csv": ADMIN_AND_GUILD,
    "/api/v1/sites/a-site/hourly-readings/": ADMIN_AND_GUILD,
    # Read-only API views: no write role at all.
    "/api/v1/inventory/": set(), "/api/v1/budget-check": set(), "/api/v1/leaderboard": set(), "/api/v1/what-if": set(),
}  # fmt: skip

# Pages that only read (GET; a POST renders the page and writes nothing): covered by test_access_matrix.py.
READ_PAGES = {"home", "team", "project", "run", "hardware", "cloud", "settings", "leaderboard", "what-if",
              "project-label", "report-file", "teams", "projects", "organization", "scope2-hourly", "site",
              "overview-cfe-heatmap", "project-passport"}  # fmt: skip
EXEMPT = {
    "login": "signing in itself (its CSRF check: test_security_headers.py)",
    "logout": "signing out (its CSRF check: test_security_headers.py)",
    "password_change": "the caller's own password, no tenant data (test_password_change.py, CSRF included)",
    "password_change_done": "a confirmation page: no tenant data, no write",
    "healthz": "liveness probe: no tenant data, no write",
    "readyz": "readiness probe: no tenant data, no write",
    "api-schema": "OpenAPI schema: GET only, signed-in or token callers (test_api_schema_needs_a_sign_in)",
    "codecarbon-runs": "project token only, no session, csrf_exempt (test_codecarbon_endpoints_ignore_sessions)",
    "codecarbon-emissions": "project token only, no session, csrf_exempt (test_codecarbon_endpoints_ignore_sessions)",
    "codecarbon-http-output": "token in the path, no session, csrf_exempt (test_codecarbon_endpoints_ignore_sessions)",
}
EXEMPT_PREFIXES = ("admin/",)  # the Django admin: staff only, with Django's own model permissions


def _patterns(patterns=None, prefix=""):
    """(route, name, view) of every URL pattern of the project, includes flattened."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name, pattern.callback


def _native(external_id: str, project: str) -> bytes:
    """One run in the native JSON format (docs/import-formats.md)."""
    run = {"external_id": external_id, "project": project, "started_at": "2025-02-01T12:00:00Z", "duration_s": 3600,
           "energy_kwh": 1.0}  # fmt: skip
    return json.dumps({"runs": [run]}).encode()


def _body(name: str, ids: dict) -> dict:
    """The keyword arguments of ``client.post`` for a valid write to ``name``, naming org A's objects."""
    upload = SimpleUploadedFile("runs.json", _native("new-run", "a-project"), content_type="application/json")
    return {
        "tokens": {"data": {"name": "ci", "project": ids["project"], "scope": ApiToken.Scope.INGEST}},
        "token-revoke": {},
        "imports": {"data": {"source": "native_json", "file": upload}},
        "reports": {"data": {"period": "2025-Q2"}},
        "budgets": {"data": {"owner": "team:a-team", "period": "2025-Q2", "budget_kg_co2e": 100, "basis": "location"}},
        "run-list": {"data": _native(ids["external_id"], "a-project"), "content_type": "application/json"},
        "import-batch-list": {"data": {"source": "native_json", "file": upload}},
        "report-list": {"data": {"period": "2025-Q2"}, "content_type": "application/json"},
        "site-hourly-reading-list": {
            "data": json.dumps({"readings": [{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 1.5}]}),
            "content_type": "application/json",
        },
        "report-issue": {},
        "organization-team-create": {"data": {"name": "New team"}},
        "organization-team-rename": {"data": {"name": "Renamed team"}},
        "organization-project-create": {"data": {"name": "New project", "team": ids["team"]}},
        "organization-project-rename": {"data": {"name": "Renamed project"}},
        "organization-member-add": {"data": {"username": "newcomer", "role": Role.VIEWER}},
        "organization-member-role": {"data": {"role": Role.ORG_ADMIN}},
    }[name]


def _state(organization) -> tuple:
    """Everything of ``organization`` a write URL can create or change."""
    return (
        list(ApiToken.objects.for_org(organization).order_by("pk").values_list("pk", "revoked_at")),
        list(ImportBatch.objects.for_org(organization).order_by("pk").values_list("pk", "status")),
        list(Report.objects.for_org(organization).order_by("pk").values_list("pk", "status", "issued_at")),
        list(CarbonBudget.objects.for_org(organization).order_by("pk").values_list("pk", "budget_kg_co2e")),
        list(Run.objects.for_org(organization).order_by("pk").values_list("pk", "project_id", "energy_kwh")),
        list(Project.objects.for_org(organization).order_by("pk").values_list("pk", "team_id", "name")),
        list(Team.objects.for_org(organization).order_by("pk").values_list("pk", "name", "slug")),
        list(Membership.objects.for_org(organization).order_by("pk").values_list("pk", "user_id", "role", "team_id")),
    )


@pytest.fixture
def ids(world, org_a):
    """``world`` plus ids of org A's token, site and import batch, and a project of the other team."""
    project = org_a.projects.get(slug="a-project")
    ProjectFactory(organization=org_a, team=Team.objects.for_org(org_a).get(slug="other-team"), slug="other-project")
    token, _ = api_token_create(organization=org_a, project=project, name="ci")
    batch = import_batch_create(organization=org_a, source="native_json", filename="a.json", content=b'{"runs": []}')
    viewer = Membership.objects.for_org(org_a).get(user=world["users"][VIEWER])
    return world | {
        "token": token.pk, "site": SiteFactory(organization=org_a).pk, "batch": batch.pk,
        "external_id": Run.objects.get(pk=world["run"]).external_id, "membership": viewer.pk,
    }  # fmt: skip


def _login(client, ids: dict, caller: str) -> None:
    client.logout()
    if caller != ANONYMOUS:
        client.force_login(ids["users"][caller])


def test_every_url_is_classified():
    """A new URL fails here until it is added to the write matrix, the read matrix or EXEMPT (with a reason)."""
    api_routes = {resolve(url.format(team=1, project=1, site=1, run=1, batch=1, report=1)).url_name
                  for url in NOT_OFFERED}  # fmt: skip
    classified = set(WRITES) | api_routes | READ_PAGES | set(EXEMPT)
    patterns = [(route, name) for route, name, _ in _patterns() if not route.startswith(EXEMPT_PREFIXES)]
    assert [(route, name) for route, name in patterns if name not in classified] == []
    # Every DRF action that writes has its row in the write matrix.
    drf_writes = {name for _, name, view in _patterns() if set(getattr(view, "actions", {})) - {"get", "head"}}
    assert drf_writes <= set(WRITES), drf_writes - set(WRITES)


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", WRITES)
def test_writes(client, ids, org_a, name, caller):
    """Each write URL answers the caller its expected status, and only an allowed caller changes org A."""
    url, expected = WRITES[name]
    _login(client, ids, caller)
    before = _state(org_a)
    response = client.post(url.format(**ids), **_body(name, ids))
    assert response.status_code == expected[caller], (response.status_code, response.content[:300])
    if caller == ANONYMOUS and not url.startswith("/api/"):
        assert response["Location"].startswith("/login/")
    allowed = caller == GUILD and expected[caller] < 400  # issuing: org admins only, so nobody here
    assert (_state(org_a) != before) == allowed, "only the guild member's allowed write may change org A"


@pytest.mark.django_db
@pytest.mark.parametrize("url", NOT_OFFERED)
def test_write_methods_a_route_does_not_offer(client, ids, org_a, url):
    """POST/PUT/PATCH/DELETE that a route has no action for: 403 before the permission, 405 after; no change."""
    path = url.format(**ids)
    methods = {"post", "put", "patch", "delete"} - ({"post"} if resolve(path).url_name in WRITES else set())
    before = _state(org_a)
    for caller in CALLERS:
        _login(client, ids, caller)
        for method in sorted(methods):
            status = getattr(client, method)(path, data={}, content_type="application/json").status_code
            assert status == (405 if caller in NOT_OFFERED[url] else 403), (caller, method, status)
    assert _state(org_a) == before


@pytest.mark.django_db
def test_a_post_to_a_read_page_writes_nothing(client, ids, org_a):
    """The pages of READ_PAGES have no POST branch: a guild member's POST (the budget form's data) changes nothing."""
    client.force_login(ids["users"][GUILD])
    pages = {
        resolve(url.format(**ids)).url_name: url.format(**ids)
        for url in read_matrix.ORG_PAGES + read_matrix.OBJECT_PAGES
    }
    assert set(pages) >= READ_PAGES
    before = _state(org_a)
    for name in READ_PAGES:
        assert client.post(pages[name], _body("budgets", ids)["data"]).status_code < 500, pages[name]
    assert _state(org_a) == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", WRITES)
def test_csrf_on_every_session_write(ids, org_a, name):
    """A session write without the CSRF token is 403 and changes nothing; with the token it goes through."""
    url = WRITES[name][0].format(**ids)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ids["users"][GUILD])
    before = _state(org_a)
    refused = strict.post(url, **_body(name, ids))
    assert refused.status_code == 403 and b"CSRF" in refused.content, refused.content[:300]
    assert _state(org_a) == before
    strict.get("/settings/tokens/")  # a page with a form sets the CSRF cookie
    accepted = strict.post(url, **_body(name, ids), HTTP_X_CSRFTOKEN=strict.cookies["csrftoken"].value)
    assert accepted.status_code == WRITES[name][1][GUILD]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/codecarbon/runs", "/api/codecarbon/emissions", "/api/codecarbon/http-output/not-a-token"]
)
def test_codecarbon_endpoints_ignore_sessions(client, ids, org_a, url):
    """CodeCarbon endpoints take a project token only: a guild member's session writes nothing."""
    client.force_login(ids["users"][GUILD])
    before = _state(org_a)
    response = client.post(url, {"run_id": "x", "duration": 1}, content_type="application/json")
    assert response.status_code in (401, 403), response.status_code
    assert _state(org_a) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("project", "external_id", "status"),
    [
        ("other-project", "new-run", 202),  # a project of its own team
        ("a-project", "new-run", 403),  # another team's project
        ("brand-new", "new-run", 403),  # a new project would be created under another team (the first by name)
        ("other-project", "{external_id}", 403),  # re-sending another team's run id would move that run
    ],
)
def test_team_member_sends_runs_of_its_own_team_only(
    client, ids, org_a, project, external_id, status, django_capture_on_commit_callbacks
):
    """POST /api/v1/runs by a team member: its own team's projects only, and never another team's run."""
    client.force_login(ids["users"][OTHER_TEAM])
    before = _state(org_a)
    with django_capture_on_commit_callbacks(execute=True):  # the import runs, as it would after the commit
        body = _native(external_id.format(**ids), project)
        response = client.post("/api/v1/runs/", body, content_type="application/json")
    assert response.status_code == status, response.content[:300]
    if status == 202:
        assert Run.objects.for_org(org_a).filter(external_id="new-run", project__slug="other-project").exists()
    else:
        assert _state(org_a) == before
