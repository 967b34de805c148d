"""The per-run rollup (RunEmissionRollup) gives the team and project pages the figures the ledger gave them.

The reference below is the read the pages made before the rollup (kept here, not in the app): the operational
ledger lines of the newest current calculation owning their first day, grouped per run at request time. On a
hand-set ledger with a recalculation, a run split over a quarter end, a quarter and its year, a non-operational
line on a run and a run without lines, the rollup and the pages' selectors must give the same figures.
"""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from django.db.models import Q, Sum

from emissions.choices import Basis, RunKind
from emissions.models import Calculation, EmissionRecord, RunEmissionRollup
from emissions.periods import days, period_parse
from reporting.rollups import rollup_rebuild, rollup_refresh
from reporting.selectors.project import project_kind_split_frame
from reporting.selectors.team import runs_with_emissions, team_biggest_runs
from tests.factories import RunFactory
from tests.frontend.dashboard_data import Q3, calculation_add, q3_records_add, record_add, small_ledger_create

Q4 = (date(2026, 10, 1), date(2026, 12, 31))
PERIODS = ["2026-Q3", "2026-Q4", "2026"]


def _ledger_lines(organization) -> Q:
    """The pages' former filter: lines of the newest current calculation covering their first day."""
    owners: dict[date, int] = {}
    current = (
        Calculation.objects.for_org(organization)
        .in_period_range()
        .filter(superseded_by__isnull=True)
        .order_by("pk")
        .values_list("pk", "period_start", "period_end")
    )
    for pk, first, last in current:
        for day in days(first, last):
            owners[day] = pk
    lines = Q(pk__in=[])
    for day, pk in owners.items():
        lines |= Q(calculation_id=pk, period_start=day)
    return lines


def _ledger_operational(organization):
    return EmissionRecord.objects.for_org(organization).filter(
        _ledger_lines(organization), basis=Basis.OPERATIONAL, run__isnull=False
    )


def _ledger_biggest_runs(organization, team, period, limit=10) -> pd.DataFrame:
    """``team_biggest_runs`` as it was: the ranking grouped from the ledger."""
    first = datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC)
    after = first + timedelta(days=(period.end - period.start).days + 1)
    largest = (
        _ledger_operational(organization)
        .filter(run__project__team=team, run__started_at__gte=first, run__started_at__lt=after)
        .values("run_id")
        .annotate(kg=Sum("emissions_kg_co2e_location"))
        .order_by("-kg", "run_id")
        .values_list("run_id", flat=True)[:limit]
    )
    runs = runs_with_emissions(organization.runs.filter(pk__in=list(largest)))
    return runs.sort_values(["emissions_kg_co2e_location", "run_id"], ascending=[False, True]).head(limit)


def _ledger_by_kind(organization, project) -> dict:
    rows = (
        _ledger_operational(organization)
        .filter(run__project=project)
        .values("run__kind")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
    )
    return {row["run__kind"]: (row["location"], row["market"]) for row in rows}


def _ledger_per_run(organization) -> dict:
    rows = (
        _ledger_operational(organization)
        .values("run_id")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
    )
    return {row["run_id"]: (pytest.approx(row["location"]), pytest.approx(row["market"])) for row in rows}


def _rollup_per_run(organization) -> dict:
    rows = (
        RunEmissionRollup.objects.for_org(organization)
        .values("run_id")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
    )
    return {row["run_id"]: (row["location"], row["market"]) for row in rows}


def _assert_pages_read_the_ledger(organization) -> None:
    assert _rollup_per_run(organization) == _ledger_per_run(organization)
    for team in organization.teams.all():
        for label in PERIODS:
            period = period_parse(label)
            new = team_biggest_runs(organization=organization, team=team, period=period)
            pd.testing.assert_frame_equal(
                new.reset_index(drop=True), _ledger_biggest_runs(organization, team, period).reset_index(drop=True)
            )
    labels = dict(RunKind.choices)
    for project in organization.projects.all():
        split = project_kind_split_frame(organization=organization, project=project).set_index("kind")
        for kind, (location, market) in _ledger_by_kind(organization, project).items():
            assert split.loc[labels[kind], "emissions_t_co2e_location"] == pytest.approx(location / 1000)
            assert split.loc[labels[kind], "emissions_t_co2e_market"] == pytest.approx(market / 1000)
        assert split["emissions_t_co2e_location"].sum() == pytest.approx(
            sum(location for location, _ in _ledger_by_kind(organization, project).values()) / 1000
        )


def _rows(organization) -> list[tuple]:
    return sorted(
        RunEmissionRollup.objects.for_org(organization).values_list(
            "run_id",
            "project_id",
            "kind",
            "started_at",
            "day",
            "emissions_kg_co2e_location",
            "emissions_kg_co2e_market",
        )
    )


@pytest.fixture
def ledger(org_a):
    """The small ledger, plus: an inference run of ETL with an amortized embodied line (not operational), a run
    of A Project split at the quarter end (a September and an October piece, in Q3 and Q4), a run without lines;
    Q3 recalculated at 1.5 × (the first Q3 superseded)."""
    calculations = small_ledger_create(org_a)
    a_project, etl = org_a.projects.get(slug="a-project"), org_a.projects.get(slug="etl")
    data = org_a.teams.get(slug="data")
    serve = RunFactory(
        organization=org_a,
        project=etl,
        external_id="serve",
        kind=RunKind.INFERENCE,
        started_at=datetime(2026, 8, 5, tzinfo=UTC),
        ended_at=datetime(2026, 8, 6, tzinfo=UTC),
    )
    split = RunFactory(
        organization=org_a,
        project=a_project,
        external_id="split",
        kind=RunKind.FINE_TUNING,
        started_at=datetime(2026, 9, 30, 20, tzinfo=UTC),
        ended_at=datetime(2026, 10, 1, 4, tzinfo=UTC),
    )
    RunFactory(
        organization=org_a,
        project=a_project,
        external_id="no-lines",
        started_at=datetime(2026, 8, 9, tzinfo=UTC),
        ended_at=datetime(2026, 8, 9, 1, tzinfo=UTC),
    )
    rollup_refresh(organization=org_a)
    q3_again = calculation_add(org_a, Q3)
    q3_records_add(q3_again, scale=1.5)
    record_add(q3_again, start=date(2026, 8, 5), location=25, market=5, run=serve, project=etl, team=data)
    record_add(
        q3_again,
        start=date(2026, 8, 5),
        location=7,
        run=serve,
        project=etl,
        team=data,
        basis=Basis.EMBODIED_AMORTIZED,
        scope=3,
        scope3_category=2,
    )
    record_add(q3_again, start=date(2026, 9, 30), location=40, market=10, run=split, project=a_project)
    calculations["q3"].superseded_by = q3_again
    calculations["q3"].save(update_fields=["superseded_by"])
    q4 = calculation_add(org_a, Q4)
    record_add(q4, start=date(2026, 10, 1), location=60, market=30, run=split, project=a_project)
    rollup_refresh(organization=org_a)
    return org_a


@pytest.mark.django_db
def test_rollup_equals_the_ledger_hand_computed(ledger):
    kg = _rollup_per_run(ledger)
    runs = {run.external_id: run.pk for run in ledger.runs.all()}
    assert kg[runs["q3-run"]] == (pytest.approx(1.5 * 350), pytest.approx(1.5 * 150))  # Scope 2 + Cat 3, recalculated
    assert kg[runs["serve"]] == (25, 5)  # its amortized embodied line is not operational
    assert kg[runs["split"]] == (100, 40)  # both pieces, each from the quarter owning its day
    assert runs["no-lines"] not in kg
    _assert_pages_read_the_ledger(ledger)
    biggest = team_biggest_runs(organization=ledger, team=ledger.teams.get(slug="a-team"), period=period_parse("2026"))
    assert list(biggest["external_id"]) == ["q3-run", "split"]


@pytest.mark.django_db
def test_rollup_follows_a_newer_year_that_owns_every_day(ledger):
    """A newer year holds the small ledger's Q3 lines at 2 ×, and no line of the split run: the year owns all of
    2026, so that run has no figure and q3-run is read once, from the year."""
    year = calculation_add(ledger, (date(2026, 1, 1), date(2026, 12, 31)))
    q3_records_add(year, scale=2.0)
    rollup_refresh(organization=ledger)
    kg = _rollup_per_run(ledger)
    assert kg == {ledger.runs.get(external_id="q3-run").pk: (pytest.approx(700), pytest.approx(300))}
    _assert_pages_read_the_ledger(ledger)


@pytest.mark.django_db
def test_incremental_refresh_equals_a_rebuild(ledger):
    incremental = _rows(ledger)
    assert incremental
    rollup_rebuild(organization=ledger)
    assert _rows(ledger) == incremental


@pytest.mark.django_db
def test_an_older_year_gives_way_to_a_newer_quarter_on_its_days(ledger):
    """The year (2 ×) is newer than Q3 and Q4, then Q3 is computed again (3 ×): the year keeps the days outside
    Q3, where it has no run lines, and its Q3 lines are never added to the newer quarter's."""
    year = calculation_add(ledger, (date(2026, 1, 1), date(2026, 12, 31)))
    q3_records_add(year, scale=2.0)
    rollup_refresh(organization=ledger)
    q3_newest = calculation_add(ledger, Q3)
    q3_records_add(q3_newest, scale=3.0)
    rollup_refresh(organization=ledger)
    kg = _rollup_per_run(ledger)
    assert kg == {ledger.runs.get(external_id="q3-run").pk: (pytest.approx(3 * 350), pytest.approx(3 * 150))}
    _assert_pages_read_the_ledger(ledger)
    rollup_rebuild(organization=ledger)  # one pass over days owned by the year and by the quarter
    assert _rollup_per_run(ledger) == kg
