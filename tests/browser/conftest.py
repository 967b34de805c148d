"""Playwright driving Debian's Chromium (``/usr/bin/chromium``) against pytest-django's live server.

Never downloads a browser: ``.ci/run`` installs the ``chromium`` Debian package when it is missing.
Without it the browser tests skip, except under ``CI=true``, where they fail. Every page a test
opens records console errors and uncaught page errors; the test fails if there is any.
"""

import os
from pathlib import Path

import pytest

from emissions.choices import Role
from reporting.rollups import rollup_refresh
from tests.factories import MembershipFactory, OrganizationFactory, ProjectFactory, TeamFactory, UserFactory
from tests.frontend.dashboard_data import small_ledger_create

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip
# The sync Playwright API runs an asyncio loop in this thread; Django's ORM would then refuse to be
# called from the test (and the live server) as if it were async code. It is not: allow it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context on the live server; fails the test on any console or page error."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    yield page
    context.close()
    assert errors == [], "the browser reported errors"


@pytest.fixture
def demo_org(transactional_db):
    """A small "Acme AI" (``acme``) with the hand-computed 2026-Q2/Q3 ledger and the login demo/demo.

    Built from factories rather than ``seed_demo`` plus ``manage.py inventory``, which take ~25 s per
    test on SQLite: the live server needs a transactional database, flushed after every test.
    """
    organization = OrganizationFactory(slug="acme", name="Acme AI")
    team = TeamFactory(organization=organization, slug="a-team", name="A Team")
    ProjectFactory(organization=organization, team=team, slug="a-project", name="A Project")
    small_ledger_create(organization)
    rollup_refresh(organization=organization)
    user = UserFactory(username="demo")
    user.set_password("demo")
    user.save()
    MembershipFactory(organization=organization, user=user, role=Role.ORG_ADMIN)
    return organization


@pytest.fixture
def logged_in(page, demo_org):
    """The page after signing in as demo/demo through the login form."""
    page.goto("/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    return page
