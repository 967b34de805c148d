"""The project page: runs table (sorted, paginated) and the training vs inference split, hand-computed."""

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from emissions.choices import RunKind
from emissions.models import Calculation
from reporting.rollups import rollup_rebuild, rollup_refresh
from reporting.selectors.project import project_kind_split_frame, training_inference_totals
from tests.factories import RunFactory
from tests.frontend.dashboard_data import Q3, calculation_add, q3_records_add, record_add


@pytest.mark.django_db
def test_a_run_in_a_quarter_and_its_year_counts_once(ledger):
    """The year's calculation (newer) holds the same Q3 lines: the split reads them once, from the year."""
    year = calculation_add(ledger, (date(2026, 1, 1), date(2026, 12, 31)))
    q3_records_add(year, scale=2.0)  # doubled, to see which calculation is read
    rollup_refresh(organization=ledger)
    split = project_kind_split_frame(organization=ledger, project=ledger.projects.get(slug="a-project"))
    assert split.set_index("kind").loc["Training", "emissions_t_co2e_location"] == pytest.approx(0.700)


def _inference_run(org, kg: float):
    """An inference run of A Project on 08-01 with ``kg`` location-based (half that market-based)."""
    project = org.projects.get(slug="a-project")
    run = RunFactory(organization=org, project=project, external_id="serve-1", kind=RunKind.INFERENCE,
                     started_at=datetime(2026, 8, 1, tzinfo=UTC), ended_at=datetime(2026, 8, 2, tzinfo=UTC),
                     energy_kwh=40.0)  # fmt: skip
    calculation = Calculation.objects.for_org(org).get(period_start=Q3[0])  # the ledger's current Q3
    record_add(calculation, start=run.started_at.date(), location=kg, market=kg / 2, run=run, project=project)
    # A line added to a calculation the rollups have already read (never so in the app, where a calculation
    # writes its lines once): read the ledger again.
    rollup_rebuild(organization=org)
    return run


@pytest.mark.django_db
def test_training_vs_inference_split_hand_computed(ledger):
    _inference_run(ledger, 80.0)
    split = project_kind_split_frame(organization=ledger, project=ledger.projects.get(slug="a-project"))
    by_kind = split.set_index("kind")
    assert list(split["kind"]) == ["Training", "Inference"]  # largest first
    assert by_kind.loc["Training", "emissions_t_co2e_location"] == pytest.approx(0.350)  # 300 + 50 kg
    assert by_kind.loc["Inference", "emissions_t_co2e_location"] == pytest.approx(0.080)
    assert by_kind.loc["Inference", "emissions_t_co2e_market"] == pytest.approx(0.040)
    assert by_kind.loc["Training", "gpu_hours"] == pytest.approx(8.0)  # 4 GPUs × 2 h
    assert by_kind.loc["Inference", "energy_kwh"] == pytest.approx(40.0)
    totals = training_inference_totals(split)
    assert totals == pytest.approx({"training_t_co2e": 0.350, "inference_t_co2e": 0.080, "other_t_co2e": 0.0})


@pytest.mark.django_db
def test_project_page_shows_runs_split_and_guild_spot(client, alice, ledger):
    _inference_run(ledger, 80.0)
    client.force_login(alice)
    response = client.get("/projects/a-project/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-kpi="training">350.0 kg CO2e<' in page and 'data-kpi="inference">80.0 kg CO2e<' in page
    assert 'data-kpi="runs">2<' in page
    rows = re.findall(r'<tr data-run="(\d+)">', page)
    assert len(rows) == 2 and ">350.00<" in page and ">80.00<" in page
    assert 'id="chart-kind_split-data"' in page and "download=kind_split" in page
    csv_rows = list(
        csv.DictReader(
            io.StringIO(client.get("/projects/a-project/", {"download": "kind_split"}).content.decode("utf-8-sig"))
        )
    )
    assert {row["kind"] for row in csv_rows} == {"Training", "Inference"}


def test_project_template_keeps_the_guild_spot():
    from pathlib import Path

    template = Path(__file__).resolve().parents[2] / "frontend/templates/frontend/project.html"
    assert "{# guild: carbon label and efficiency techniques go here #}" in template.read_text()


@pytest.mark.django_db
def test_runs_table_sorts_and_paginates(client, alice, ledger):
    project = ledger.projects.get(slug="a-project")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(30):
        RunFactory(organization=ledger, project=project, external_id=f"r{n:02d}", energy_kwh=float(n),
                   started_at=start + timedelta(days=n), ended_at=start + timedelta(days=n, hours=1))  # fmt: skip
    client.force_login(alice)

    def run_names(**params):
        page = client.get("/projects/a-project/", params).content.decode()
        return re.findall(r'<tr data-run="\d+"><td><a href="/runs/\d+/">([^<]+)</a>', page)

    first = run_names()  # newest first: q3-run (July), then r29, r28, ...
    assert len(first) == 25 and first[:3] == ["q3-run", "r29", "r28"]
    assert run_names(page=2) == [f"r{n:02d}" for n in range(5, -1, -1)]
    assert run_names(sort="energy")[:3] == ["r00", "r01", "r02"]
    assert run_names(sort="-energy")[:2] == ["r29", "r28"]
    assert run_names(sort="nonsense")[0] == "q3-run"
    RunFactory(organization=ledger, project=project, external_id="serve", kind=RunKind.INFERENCE,
               started_at=start, ended_at=start + timedelta(hours=1), energy_kwh=0.5, duration_s=1.0)  # fmt: skip
    # By kind: within a kind oldest first, and the exact reverse for -kind.
    assert run_names(sort="kind")[:2] == ["serve", "r00"]
    assert run_names(sort="-kind")[:2] == ["q3-run", "r29"] and run_names(sort="-kind", page=2)[-1] == "serve"
    assert run_names(sort="duration")[0] == "serve"
    page = client.get("/projects/a-project/", {"sort": "energy", "page": "1"}).content.decode()
    assert "?sort=energy&amp;page=2#runs" in page and 'href="?sort=-energy#runs"' in page


@pytest.mark.django_db
def test_another_organizations_project_is_404(client, alice, ledger, org_b):
    client.force_login(alice)
    assert client.get("/projects/b-project/").status_code == 404


@pytest.mark.django_db
def test_project_named_like_a_script_is_text(client, alice, ledger):
    evil = "<script>alert(1)</script>"
    ledger.projects.filter(slug="a-project").update(name=evil)
    client.force_login(alice)
    page = client.get("/projects/a-project/").content.decode()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    payload = re.search(r'id="chart-kind_split-data">(.*?)</script>', page, re.S)[1]
    assert "<" not in payload and json.loads(payload)["figure"]["data"][0]["labels"] == ["Training"]
