"""The first hour of a new organization, from an empty database, as the README tells it.

``create_organization`` makes the organization and its admin; the admin signs in, follows the empty
overview to "Teams, projects and members", creates a team and a project there, an ingest token on the
Tokens page, and the real CodeCarbon 3.3.2 client (tests/ingest/codecarbon_clients.py, offline) sends a run
to the live server. The figures are made current as ``refresh_figures`` does (the debounced refresh is off
in tests); the overview says the run cannot be counted until the organization has a default location, the
admin sets it on Settings as the notice says, and the run's figure appears: the team's bar on the overview,
clicked through to the team, its project and the run.
"""

import re

import pytest
from django.core.management import call_command

from emissions.models import GridZone, Run
from tests.ingest.codecarbon_clients import require_version, run_tracker, tracker_result

pytestmark = pytest.mark.browser

PASSWORD = "first-hour-password-2026"
EXPERIMENT = "11111111-2222-3333-4444-555555555555"


def _bars(page, chart: str) -> dict[str, float]:
    """Label → value of the first trace of a horizontal bar chart, as plotly drew it."""
    labels, values = page.evaluate(
        "(id) => { const trace = document.getElementById(id)._fullData[0]; return [trace.y, Array.from(trace.x)]; }",
        f"chart-{chart}",
    )
    return dict(zip(labels, values, strict=True))


def _click_bar(page, chart: str, index: int = 0) -> None:
    """Click a bar of a plotly chart where a person would: plotly's drag layer lies above the bars and
    turns the click at that point into a plotly_click on the bar."""
    bar = page.locator(f"#chart-{chart} .trace.bars .point path").nth(index)
    bar.wait_for()
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.fixture
def empty_instance(transactional_db, media_root, monkeypatch):
    """A fresh install: migrations and the shipped reference data, no organization, no user."""
    call_command("load_reference_data", verbosity=0)
    monkeypatch.setenv("GG_FIRST_HOUR_PASSWORD", PASSWORD)


def test_a_new_organization_from_create_organization_to_its_first_runs_page(
    empty_instance, live_server, page, tmp_path
):
    require_version("3.3.2")
    admin = ["--admin", "ada", "--email", "ada@example.com", "--password-from-env", "GG_FIRST_HOUR_PASSWORD"]
    call_command("create_organization", "--name", "Acme Research", *admin)

    page.goto("/login/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    assert page.locator("h2", has_text="No emissions yet").count() == 1

    # The empty overview's first step: teams and projects.
    page.click("text=Teams, projects and members")
    page.wait_for_url("**/organization/")
    page.fill("#team-create input[name=name]", "Vision Lab")
    page.click("#team-create button[type=submit]")
    page.wait_for_url("**/organization/#teams")
    page.fill("#project-create input[name=name]", "Detector")
    page.select_option("#project-create select[name=team]", label="Vision Lab")
    page.click("#project-create button[type=submit]")
    page.wait_for_url("**/organization/#projects")
    assert page.locator("#organization-projects tr[data-project=detector]", has_text="Vision Lab").count() == 1

    # Its second step: an ingest token for the project, shown once.
    page.click("nav >> text=Tokens")
    page.fill("input[name=name]", "laptop")
    page.select_option("select[name=project]", label="Detector")
    page.click("text=Create token")
    token = page.input_value("#new-token")
    assert token.startswith("gg_")

    # The real client, unmodified, pointed at this server.
    tracker = run_tracker(
        "3.3.2",
        workdir=tmp_path / "tracker",
        api_endpoint=f"{live_server.url}/api/codecarbon",
        api_key=token,
        experiment_id=EXPERIMENT,
        project_name="detector",
        seconds=3,
        extra={"output_methods": ["api"]},
    )
    result = tracker_result(tracker)
    # The run that counts. A 3.x client may open its run twice (tests/ingest/test_codecarbon_api.py): its last
    # id is then that run or, when every delta went to the other id, an empty member of it (no sample lost).
    run = Run.objects.get(project__slug="detector", rank_of__isnull=True)
    assert run.energy_kwh > 0
    client_run = Run.objects.get(external_id=result["api_run_id"])
    assert client_run == run or (client_run.rank_of == run and not client_run.samples.exists())
    call_command("refresh_figures", "--org", "acme-research", verbosity=0)

    # The live API sends no country: the overview says so and where to set a default location.
    page.goto("/")
    notice = page.locator("#unlocated-runs")
    assert "1 run" in notice.inner_text()
    notice.locator("text=Settings → Off-site runs").click()
    page.wait_for_url("**/settings/**")
    page.select_option("select[name=default_grid_zone]", str(GridZone.objects.get(code="DE").pk))
    page.click("#offsite button[type=submit]")
    page.wait_for_url("**/settings/")
    call_command("refresh_figures", "--org", "acme-research", verbosity=0)

    # The run's figure on the overview: its team's bar, and the same page as a link under the chart.
    page.goto("/")
    page.wait_for_selector("#chart-by_team .main-svg")
    bars = _bars(page, "by_team")
    assert bars["Vision Lab"] > 0, bars
    assert page.locator('[data-links="by_team"] a', has_text="Vision Lab").count() == 1

    # Overview → team (a click on its bar), team → project (a click on its bar), project → run.
    _click_bar(page, "by_team")
    page.wait_for_url(re.compile(r".*/teams/vision-lab/\?period=.*"))
    assert page.locator("h1").inner_text() == "Vision Lab"
    _click_bar(page, "projects")
    page.wait_for_url("**/projects/detector/")
    assert page.locator("h1").inner_text() == "Detector"
    page.locator(f"#project-runs a:has-text('{run.external_id}')").click()
    page.wait_for_url(f"**/runs/{run.pk}/")
    ours = page.locator('[data-kpi="ours"]').inner_text()
    assert ours not in ("", "–", "—") and float(ours.replace(",", "")) > 0, ours
