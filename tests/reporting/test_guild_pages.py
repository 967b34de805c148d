"""Guild pages on the hand-computed ledger of tests/frontend/dashboard_data.py: leaderboard (+CSV),
budgets with burn-down and alerts, what-if, the project's carbon label (SVG, YAML) and techniques."""

import io
from datetime import UTC, date, datetime

import pytest
from PIL import Image

from emissions.choices import FactorKind, Role, RunKind
from emissions.models import FactorDataset, GridFactor, GridZone, Project
from emissions.periods import period_parse
from reporting.guild.budgets import carbon_budget_set
from reporting.guild.label import carbon_label
from reporting.guild.techniques import technique_savings
from reporting.models import BudgetAlert, CarbonBudget
from reporting.rollups import rollup_refresh
from tests.factories import MembershipFactory, RunFactory
from tests.frontend.dashboard_data import small_ledger_create

Q3 = period_parse("2026-Q3")


@pytest.fixture
def ledger(org_a, alice):
    small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    for code, value in (("DE", 300.0), ("FR", 30.0)):
        zone, _ = GridZone.objects.get_or_create(code=code, defaults={"name": code})
        GridFactor.objects.create(dataset=dataset, zone=zone, kind=FactorKind.LOCATION, year=2026,
                                  intensity_g_per_kwh=value, source="t", licence="t")  # fmt: skip
    return org_a


def test_leaderboard_page_marks_estimates_and_downloads_csv(client, alice, ledger):
    client.force_login(alice)
    page = client.get("/leaderboard/?period=2026-Q3")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="chart-leaderboard"' in html
    # Data's 120 kg are a billing estimate; A Team's 350 kg are metered.
    assert html.count("mostly-estimated") == 1 and 'data-slug="data"' in html
    csv = client.get("/leaderboard/?period=2026-Q3&metric=absolute&entity=team&download=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("rank,name,slug,team,value,unit")
    assert lines[1].startswith("1,Data,data,") and lines[2].startswith("2,A Team,a-team,")
    assert client.get("/leaderboard/?period=nope").status_code == 400


def test_budgets_page_shows_burndown_status_and_alerts(client, alice, ledger):
    data = CarbonBudget.objects.get(team__slug="data")
    BudgetAlert.objects.create(
        organization=ledger, budget=data, threshold_pct=100, used_kg_co2e=120, budget_kg_co2e=100,
        forecast_kg_co2e=120, delivery_error="webhook: HTTP 500",
    )  # fmt: skip
    client.force_login(alice)
    html = client.get("/budgets/?period=2026-Q3").content.decode()
    assert f'id="burndown-{data.pk}"' in html
    assert 'status-badge status-fail">fail' in html  # 120 of 100 kg
    assert 'status-badge status-pass">pass' in html  # A Team: 350 of 1,000 kg
    assert "webhook: HTTP 500" in html
    assert "Not counted:" not in html
    RunFactory(organization=ledger, project=ledger.projects.get(slug="a-project"), energy_kwh=7.0,
               started_at=datetime(2026, 8, 3, tzinfo=UTC), ended_at=datetime(2026, 8, 3, 1, tzinfo=UTC))  # fmt: skip
    html = client.get("/budgets/?period=2026-Q3").content.decode()
    assert "Not counted: 1 run, 7.000 kWh in no figure yet" in html  # on A Team's budget, said, not hidden


def test_what_if_page_replays_a_project(client, alice, ledger):
    client.force_login(alice)
    html = client.get("/what-if/?project=a-project&period=2026-Q3&scenario=region&zone=FR").content.decode()
    # The Q3 run: 1,000 kWh, 300 kg in the ledger → at 30 g/kWh 30 kg: 270 kg saved.
    assert 'data-kpi="saved">270.0' in html
    assert 'id="chart-whatif"' in html and "Assumptions" in html
    assert "Run in DE between" in html  # the lab's zone, with the daily profile
    assert "Not replayed" not in html
    RunFactory(organization=ledger, project=ledger.projects.get(slug="a-project"), energy_kwh=4.0,
               started_at=datetime(2026, 8, 1, tzinfo=UTC), ended_at=datetime(2026, 8, 1, 1, tzinfo=UTC))  # fmt: skip
    html = client.get("/what-if/?project=a-project&period=2026-Q3&scenario=region&zone=FR").content.decode()
    assert 'data-kpi="saved">270.0' in html and "Not replayed: 1 run(s), 4.000 kWh IT" in html  # said, not hidden
    page = client.get("/what-if/?project=a-project&period=2026-Q3&scenario=hour")
    assert page.status_code == 400
    errors = page.content.decode().split('id="whatif-errors"')[1].split("</section>")[0]
    assert "Say how many hours earlier (−) or later (+) the runs would start" in errors  # in words
    assert "shift_h" not in errors  # not the API's parameter syntax


def test_carbon_label_and_its_downloads(client, alice, ledger):
    RunFactory(organization=ledger, project=ledger.projects.get(slug="a-project"), external_id="serve",
               kind=RunKind.INFERENCE, started_at=datetime(2026, 7, 20, tzinfo=UTC),
               ended_at=datetime(2026, 7, 20, 1, tzinfo=UTC), inferences_count=1000)  # fmt: skip
    label = carbon_label(project=ledger.projects.get(slug="a-project"), period=Q3)
    # The training run's electricity 300 kg and its upstream (Cat 3) 50 kg, as the inventory counts it.
    assert label["training_kg_co2e"] == 350.0 and label["training_upstream_kg_co2e"] == 50.0
    assert label["embodied_amortized_kg_co2e"] == 0.0
    # No ledger line for the inference run: SCI per run = 300 kg × 1000 g / 1 run (SCI's E × I is electricity).
    assert (label["sci_unit"], label["sci_g_co2e"]) == ("run", 300000.0)
    client.force_login(alice)
    svg = client.get("/projects/a-project/label.svg?period=2026-Q3")
    assert svg["Content-Type"] == "image/svg+xml" and b'data-label="training"' in svg.content
    assert b"350.00 kgCO2e" in svg.content
    png = client.get("/projects/a-project/label.png?period=2026-Q3")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(png.content)).size == (640, 472)
    assert client.get("/projects/a-project/label.png?period=2024").content.startswith(b"\x89PNG")
    # The inference run is in no figure (no site, no location): the label and the YAML say so, with its kWh.
    assert label["uncounted"] == {"runs": 1, "energy_kwh": 10.0}
    assert b'data-label="uncounted"' in svg.content and b"1 run, 10.000 kWh not counted" in svg.content
    yaml = client.get("/projects/a-project/label.yaml?period=2026-Q3").content.decode()
    assert yaml.startswith("# not included: 1 run(s), 10.000 kWh of 2026-Q3")
    assert "\nco2_eq_emissions:" in yaml and "emissions: 350000.0" in yaml  # incl. 50 kg upstream
    empty = client.get("/projects/a-project/label.yaml?period=2024").content.decode()
    assert empty.startswith("# no GreenGuild calculation for 2024")
    assert client.get("/projects/b-project/label.svg").status_code == 404


def test_technique_savings_against_comparable_untagged_runs(org_a):
    project = org_a.projects.get(slug="a-project")
    when = {"started_at": datetime(2026, 7, 1, tzinfo=UTC), "ended_at": datetime(2026, 7, 1, 1, tzinfo=UTC)}
    for energy, techniques, gpu in ((10.0, [], "A100"), (14.0, [], "A100"), (6.0, ["mixed_precision"], "A100"),
                                    (100.0, ["mixed_precision"], "H100"), (1.0, [], "T4")):  # fmt: skip
        RunFactory(organization=org_a, project=project, energy_kwh=energy, efficiency_techniques=techniques,
                   gpu_model=gpu, **when)  # fmt: skip
    [row] = technique_savings(project=project, period=Q3)
    # A100, 8 GPU-h per run: baseline (10 + 14) ÷ 16 = 1.5 kWh per GPU-hour; the tagged run used 6 of the
    # expected 12 kWh → 50 % saved. The H100 run has no baseline (tests/reporting/test_guild_techniques.py).
    assert (row["technique"], row["tagged_runs"], row["compared_runs"], row["baseline_runs"]) == (
        "mixed_precision", 2, 1, 2,
    )  # fmt: skip
    assert row["saving_pct"] == 50.0 and row["measure"] == "kWh per GPU-hour"
    assert technique_savings(project=project, period=period_parse("2025")) == []


def test_project_page_embeds_label_and_techniques(client, alice, ledger):
    client.force_login(alice)
    response = client.get(f"/projects/a-project/?period={date(2026, 7, 1).year}")
    if response.status_code == 404:
        pytest.skip("the project page is not there yet")
    html = response.content.decode()
    assert 'class="carbon-label"' in html and 'id="efficiency"' in html


def test_members_set_budgets_from_the_page_and_viewers_cannot(client, alice, ledger, org_b):
    # A guild member sets budgets of its own team and its team's projects (docs/configuration.md, "Roles").
    etl_team = Project.objects.get(organization=ledger, slug="etl").team
    alice.memberships.update(team=etl_team)
    client.force_login(alice)
    form = {"owner": "project:etl", "period": "2026-q4", "budget_kg_co2e": "250", "basis": "market"}
    response = client.post("/budgets/", form)
    assert response.status_code == 302 and response["Location"] == "/budgets/?period=2026-Q4"
    budget = CarbonBudget.objects.get(project__slug="etl")
    assert (budget.period_start, budget.period_end, budget.budget_kg_co2e, budget.basis) == (
        date(2026, 10, 1), date(2026, 12, 31), 250.0, "market",
    )  # fmt: skip
    client.post("/budgets/", form | {"budget_kg_co2e": "300"})
    assert CarbonBudget.objects.get(project__slug="etl").budget_kg_co2e == 300.0
    assert client.post("/budgets/", form | {"owner": "team:b-team"}).status_code == 400  # another organization's
    assert client.post("/budgets/", form | {"period": "soon"}).status_code == 400
    viewer = MembershipFactory(organization=ledger, role=Role.VIEWER, user__username="val").user
    client.force_login(viewer)
    assert client.post("/budgets/", form).status_code == 403
    assert "budget-set" not in client.get("/budgets/").content.decode()


def test_budget_service_checks_its_owner(org_a, org_b):
    team, other = org_a.teams.get(slug="a-team"), org_b.teams.get(slug="b-team")
    with pytest.raises(ValueError, match="exactly one"):
        carbon_budget_set(organization=org_a, period=Q3, budget_kg_co2e=1.0)
    with pytest.raises(ValueError, match="belong to the organization"):
        carbon_budget_set(organization=org_a, period=Q3, budget_kg_co2e=1.0, team=other)
    with pytest.raises(ValueError, match="more than 0"):
        carbon_budget_set(organization=org_a, period=Q3, budget_kg_co2e=0.0, team=team)
