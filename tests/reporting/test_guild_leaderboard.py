"""Leaderboards: ranking rules (ascending, ties share a rank, teams without data unranked), quality marking,
intensity, improvement and budget metrics, the API and its CSV."""

import csv
import io
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from emissions.choices import Basis, QualityTier, RunKind
from emissions.periods import period_parse
from reporting.guild.leaderboard import leaderboard
from reporting.models import CarbonBudget
from reporting.selectors.common import competition_ranks
from reporting.selectors.overview import OverviewFilters, overview_dashboard
from tests.factories import ProjectFactory, RunFactory, TeamFactory
from tests.frontend.dashboard_data import calculation_add, record_add
from tests.reporting.guild_data import rollup_add

Q3 = period_parse("2026-Q3")
TODAY = date(2026, 11, 1)


def test_competition_ranks():
    assert competition_ranks({"a": 2.0, "b": 1.0, "c": 2.0, "d": None, "e": 3.0}) == {
        "a": 2, "b": 1, "c": 2, "d": None, "e": 4,
    }  # fmt: skip
    assert competition_ranks({"a": 0.1 + 0.2, "b": 0.3}) == {"a": 1, "b": 1}  # equal to 1e-9


@pytest.fixture
def board(org_a):
    """Teams: A Team 10 kg (metered, 10 GPU-h), Bravo 10 kg (70 % default values), Charlie 5 kg
    (1 GPU-h), Delta nothing. Q2: A Team 20 kg. Budgets: A Team 20 kg, Charlie 5 kg."""
    a = org_a.teams.get(slug="a-team")
    b = TeamFactory(organization=org_a, slug="bravo", name="Bravo")
    c = TeamFactory(organization=org_a, slug="charlie", name="Charlie")
    TeamFactory(organization=org_a, slug="delta", name="Delta")
    rollup_add(org_a, date(2026, 7, 1), 10.0, team=a, gpu_hours=10.0)
    rollup_add(org_a, date(2026, 8, 1), 7.0, team=b, quality=QualityTier.DEFAULT)
    rollup_add(org_a, date(2026, 8, 2), 3.0, team=b, quality=QualityTier.MEASURED)
    rollup_add(org_a, date(2026, 9, 1), 4.0, team=c, gpu_hours=1.0)
    rollup_add(org_a, date(2026, 9, 2), 1.0, team=c, scope=3, basis=Basis.EMBODIED_AMORTIZED)  # management view
    rollup_add(org_a, date(2026, 9, 3), 500.0, team=c, scope=3, basis=Basis.CAPITAL_GOODS)  # not in the board
    rollup_add(org_a, date(2026, 5, 1), 20.0, team=a)
    for team, kg in ((a, 20.0), (c, 5.0)):
        CarbonBudget.objects.create(organization=org_a, team=team, period_start=Q3.start, period_end=Q3.end,
                                    budget_kg_co2e=kg)  # fmt: skip
    return org_a


def _ranks(frame) -> list[tuple]:
    return [(row.name, None if pd.isna(row.rank) else int(row.rank), row.note) for row in frame.itertuples()]


def test_absolute_ties_share_a_rank_and_teams_without_data_come_last(board, org_b):
    frame = leaderboard(organization=board, period=Q3, metric="absolute", entity="team", today=TODAY)
    assert _ranks(frame) == [("Charlie", 1, ""), ("A Team", 2, ""), ("Bravo", 2, ""), ("Delta", None, "no data")]
    assert list(frame["value"][:3]) == [0.005, 0.01, 0.01]  # tCO2e
    assert "B Team" not in set(frame["name"])  # another organization's team


def test_mostly_estimated_teams_are_marked(board):
    frame = leaderboard(organization=board, period=Q3, metric="absolute", entity="team", today=TODAY).set_index("name")
    assert frame.loc["Bravo", "estimated_share_pct"] == pytest.approx(70.0)
    assert frame.loc["Bravo", "measured_share_pct"] == pytest.approx(30.0)
    assert bool(frame.loc["Bravo", "mostly_estimated"]) is True
    assert bool(frame.loc["A Team", "mostly_estimated"]) is False
    assert frame.loc["A Team", "measured_share_pct"] == 100.0
    assert bool(frame.loc["Delta", "mostly_estimated"]) is False and pd.isna(frame.loc["Delta", "measured_share_pct"])


def test_the_overview_states_the_same_measured_and_estimated_shares_as_the_leaderboard(board):
    board_rows = leaderboard(organization=board, period=Q3, metric="absolute", entity="team", today=TODAY)
    for row in board_rows[board_rows["measured_share_pct"].notna()].itertuples():
        filters = OverviewFilters(period=Q3, team_id=board.teams.get(name=row.name).pk, view="management")
        kpis = overview_dashboard(organization=board, filters=filters).kpis
        assert (kpis["measured_share_pct"], kpis["estimated_share_pct"]) == pytest.approx(
            (row.measured_share_pct, row.estimated_share_pct)
        ), row.name
    # Charlie's amortized embodied kilogram is not "estimated" energy on either page.
    assert board_rows.set_index("name").loc["Charlie", "estimated_share_pct"] == 0.0


def test_intensity_per_gpu_hour(board):
    frame = leaderboard(organization=board, period=Q3, metric="per_gpu_hour", entity="team", today=TODAY)
    assert _ranks(frame) == [
        ("A Team", 1, ""), ("Charlie", 2, ""), ("Bravo", None, "no GPU-hours reported"), ("Delta", None, "no data"),
    ]  # fmt: skip
    assert list(frame["value"][:2]) == [1000.0, 5000.0]  # 10 kg / 10 h; 5 kg / 1 h, in g/GPU-h


def test_improvement_and_budget_adherence(board):
    frame = leaderboard(organization=board, period=Q3, metric="improvement", entity="team", today=TODAY)
    assert _ranks(frame)[0] == ("A Team", 1, "") and frame["value"][0] == -50.0
    assert _ranks(frame)[1] == ("Bravo", None, "no emissions in the previous period")
    frame = leaderboard(organization=board, period=Q3, metric="budget_adherence", entity="team", today=TODAY)
    # Budgets are charged in the inventory view: Charlie's 500 kg capital goods count there (4 + 500 of 5 kg).
    assert _ranks(frame)[:2] == [("A Team", 1, ""), ("Charlie", 2, "")]
    assert list(frame["value"][:2]) == [50.0, pytest.approx(100.0 * 504 / 5)]
    assert _ranks(frame)[2] == ("Bravo", None, "no budget")


def test_intensity_per_tokens_and_inferences_from_the_runs(org_a):
    project = org_a.projects.get(slug="a-project")
    other = ProjectFactory(organization=org_a, team=project.team, slug="other", name="Other")
    calculation = calculation_add(org_a, (Q3.start, Q3.end))
    when = {"started_at": datetime(2026, 7, 2, 8, tzinfo=UTC), "ended_at": datetime(2026, 7, 2, 10, tzinfo=UTC)}
    llm = RunFactory(organization=org_a, project=project, tokens_processed=2_000_000, **when)
    api = RunFactory(organization=org_a, project=other, inferences_count=4000, kind=RunKind.INFERENCE, **when)
    record_add(calculation, start=date(2026, 7, 2), location=4.0, run=llm, team=project.team, project=project)
    record_add(calculation, start=date(2026, 7, 2), location=2.0, run=api, team=project.team, project=other)
    tokens = leaderboard(organization=org_a, period=Q3, metric="per_1m_tokens", entity="project", today=TODAY)
    assert _ranks(tokens) == [("A Project", 1, ""), ("Other", None, "no token counts")]
    assert tokens["value"][0] == 2000.0  # 4 kg / 2M tokens = 2,000 g per 1M tokens
    assert tokens["team"][0] == "A Team"
    inferences = leaderboard(organization=org_a, period=Q3, metric="per_1k_inferences", entity="team", today=TODAY)
    assert inferences["value"][0] == 500.0  # 2 kg / 4k inferences = 500 g per 1k


def test_unknown_metric_or_entity():
    with pytest.raises(ValueError, match="unknown metric"):
        leaderboard(organization=None, period=Q3, metric="speed", entity="team", today=TODAY)
    with pytest.raises(ValueError, match="unknown entity"):
        leaderboard(organization=None, period=Q3, metric="absolute", entity="site", today=TODAY)


def test_the_api_gives_json_and_csv(client, alice, board):
    client.force_login(alice)
    body = client.get("/api/v1/leaderboard?period=2026-Q3&metric=absolute").json()
    assert body["period"] == "2026-Q3" and body["metric"] == "absolute"
    assert [(row["name"], row["rank"]) for row in body["rows"]] == [
        ("Charlie", 1), ("A Team", 2), ("Bravo", 2), ("Delta", None),
    ]  # fmt: skip
    assert body["rows"][2]["mostly_estimated"] is True
    response = client.get("/api/v1/leaderboard/?period=2026-Q3&metric=per_gpu_hour&entity=team&download=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(row["rank"], row["name"], row["value"]) for row in rows[:2]] == [("1", "A Team", "1000.0"),
                                                                              ("2", "Charlie", "5000.0")]  # fmt: skip
    assert client.get("/api/v1/leaderboard?period=2026-Q3&metric=speed").status_code == 400
    assert client.get("/api/v1/leaderboard?period=last").status_code == 400


@pytest.mark.django_db
def test_a_team_whose_runs_are_placed_by_their_trackers_is_mostly_estimated(org_a):
    """Off-site runs located by the tracker's report count at the estimated_location tier: 6 of 8 kg here."""
    team = org_a.teams.get(slug="a-team")
    rollup_add(org_a, date(2026, 7, 1), 6.0, team=team, quality=QualityTier.ESTIMATED_LOCATION)
    rollup_add(org_a, date(2026, 7, 2), 2.0, team=team, quality=QualityTier.MEASURED)
    frame = leaderboard(organization=org_a, period=Q3, metric="absolute", entity="team", today=TODAY)
    row = frame[frame["name"] == "A Team"].iloc[0]
    assert row["estimated_share_pct"] == pytest.approx(75.0) and bool(row["mostly_estimated"])


@pytest.mark.django_db
def test_energy_in_no_figure_is_named_and_a_material_share_unranks_the_row(org_a):
    """A Team: 10 kg on 100 kWh + a 5 kWh run nothing locates (5 %: ranked, marked). Bravo: 5 kg on 100 kWh
    + 50 kWh nothing locates (33 %): unranked although its 5 kg would rank first."""
    from emissions.models import DailyEmissionRollup

    a = org_a.teams.get(slug="a-team")
    bravo = TeamFactory(organization=org_a, slug="bravo", name="Bravo")
    for team, kg in ((a, 10.0), (bravo, 5.0)):
        row = rollup_add(org_a, date(2026, 7, 1), kg, team=team)
        DailyEmissionRollup.objects.filter(pk=row.pk).update(energy_kwh=100.0)
    start = datetime(2026, 7, 2, tzinfo=UTC)
    for team, kwh in ((a, 5.0), (bravo, 50.0)):
        project = ProjectFactory(organization=org_a, team=team)
        RunFactory(organization=org_a, project=project, energy_kwh=kwh, started_at=start, ended_at=start)
    frame = leaderboard(organization=org_a, period=Q3, metric="absolute", entity="team", today=TODAY).set_index("name")
    assert frame.loc["A Team", "rank"] == 1 and frame.loc["A Team", "note"] == "1 run(s), 5.000 kWh not counted (5 %)"
    assert pd.isna(frame.loc["Bravo", "rank"]) and frame.loc["Bravo", "note"].endswith("not counted (33 %)")
    assert (frame.loc["Bravo", "uncounted_runs"], frame.loc["Bravo", "uncounted_energy_kwh"]) == (1, 50.0)


def test_improvement_needs_data_in_both_periods_and_pro_rates_the_current_one(board):
    """Issue 24, finding 2. Q3 2026 seen on 2026-08-15 (46 of 92 days elapsed): A Team's 10 kg so far are
    20 kg over the full quarter, against 20 kg in Q2: 0 %, rank 1. Echo emitted 8 kg in Q2 and nothing in Q3:
    unranked "no data" (it was ranked first at -100 %, as every idle team was)."""
    echo = TeamFactory(organization=board, slug="echo", name="Echo")
    rollup_add(board, date(2026, 6, 1), 8.0, team=echo)
    frame = leaderboard(organization=board, period=Q3, metric="improvement", entity="team", today=date(2026, 8, 15))
    rows = {row.name: row for row in frame.itertuples()}
    assert (int(rows["A Team"].rank), rows["A Team"].value) == (1, pytest.approx(0.0))
    assert rows["A Team"].note == "pro-rated: 46 of 92 days elapsed"
    assert pd.isna(rows["Echo"].rank) and rows["Echo"].note == "no data"
    # Once the quarter is over nothing is pro-rated: 10 kg against 20 kg is -50 %.
    ended = leaderboard(organization=board, period=Q3, metric="improvement", entity="team", today=TODAY)
    assert ended.set_index("name").loc["A Team", "value"] == -50.0


def test_inferences_count_only_for_inference_runs_in_the_leaderboard_and_the_label(org_a):
    """Issue 24, finding 4. A Project serves 4,000 inferences with an inference run (2 kg: 500 g per 1k).
    Other's training run claims 10M inferences on 6 kg (0.6 g per 1k if counted): those are not its work, so
    Other is unranked and A Project ranks first; the carbon label divides by the same
    inferences (its SCI per 1,000 inferences and its inference figure agree with the leaderboard)."""
    from reporting.guild.label import carbon_label

    project = org_a.projects.get(slug="a-project")
    other = ProjectFactory(organization=org_a, team=project.team, slug="other", name="Other")
    calculation = calculation_add(org_a, (Q3.start, Q3.end))
    when = {"started_at": datetime(2026, 7, 2, 8, tzinfo=UTC), "ended_at": datetime(2026, 7, 2, 10, tzinfo=UTC)}
    served = RunFactory(organization=org_a, project=project, inferences_count=4000, kind=RunKind.INFERENCE, **when)
    claimed = RunFactory(organization=org_a, project=other, inferences_count=10_000_000, kind=RunKind.TRAINING, **when)
    record_add(calculation, start=date(2026, 7, 2), location=2.0, run=served, team=project.team, project=project)
    record_add(calculation, start=date(2026, 7, 2), location=6.0, run=claimed, team=project.team, project=other)
    board = leaderboard(organization=org_a, period=Q3, metric="per_1k_inferences", entity="project", today=TODAY)
    assert _ranks(board)[0] == ("A Project", 1, "") and _ranks(board)[1][:2] == ("Other", None)  # unranked
    assert board["value"][0] == 500.0
    assert carbon_label(project=other, period=Q3)["sci_unit"] != "1,000 inferences"
    assert carbon_label(project=project, period=Q3)["sci_unit"] == "1,000 inferences"


def test_mostly_estimated_describes_the_operational_energy_not_the_embodied_share(org_a):
    """Issue 24, finding 3 (the leaderboard part). Echo's electricity is 100 % tracker-measured (20 kg) and its
    amortized GPUs add 30 kg of embodied emissions (quality ``default``, as every amortized record is): it was
    told it is 60 % estimated, "mostly estimated". Now: measured 100 %, estimated 0 %, embodied 60 % apart."""
    echo = TeamFactory(organization=org_a, slug="echo", name="Echo")
    rollup_add(org_a, date(2026, 7, 3), 20.0, team=echo, quality=QualityTier.MEASURED)
    embodied = {"scope": 3, "basis": Basis.EMBODIED_AMORTIZED, "quality": QualityTier.DEFAULT}
    rollup_add(org_a, date(2026, 7, 3), 30.0, team=echo, **embodied)
    row = leaderboard(organization=org_a, period=Q3, metric="absolute", entity="team", today=TODAY).set_index("name")
    assert row.loc["Echo", "value"] == pytest.approx(0.05)  # the management view: 50 kg
    assert (row.loc["Echo", "measured_share_pct"], row.loc["Echo", "estimated_share_pct"]) == (100.0, 0.0)
    assert bool(row.loc["Echo", "mostly_estimated"]) is False
    assert row.loc["Echo", "embodied_share_pct"] == pytest.approx(60.0)
