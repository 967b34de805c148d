"""Figures follow new data without beat: the debounced refresh, in-process and through a real worker."""

import time
from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from emissions.models import Calculation, EmissionRecord
from emissions.periods import period_parse
from emissions.records import RunRecord
from emissions.services.refresh import figures_refresh_periods, figures_refresh_wait
from emissions.services.runs import run_upsert_many
from tests.factories import GridZoneFactory


def _labels(periods) -> list[str]:
    return [f"{p.start}..{p.end}" for p in periods]


@pytest.mark.django_db
def test_data_in_a_month_recomputes_its_quarter_the_rest_of_its_year_and_the_current_periods(org_a):
    periods = figures_refresh_periods(organization=org_a, months=[date(2025, 5, 1)], today=date(2026, 12, 5))
    assert _labels(periods) == [
        "2025-01-01..2025-12-31", "2025-04-01..2025-06-30", "2025-07-01..2025-09-30", "2025-10-01..2025-12-31",
        "2026-01-01..2026-12-31", "2026-10-01..2026-12-31",
    ]  # fmt: skip
    # A month someone computed is refreshed too when the data touches it.
    Calculation.objects.create(organization=org_a, period_start=date(2025, 5, 1), period_end=date(2025, 5, 31))
    periods = figures_refresh_periods(organization=org_a, months=[date(2025, 5, 1)], today=date(2026, 12, 5))
    assert "2025-05-01..2025-05-31" in _labels(periods)


TODAY = date.today()  # the refresh always covers the current quarter: the runs are put in it
QUARTER = period_parse(f"{TODAY.year}-Q{(TODAY.month - 1) // 3 + 1}")


def _record(external_id: str) -> RunRecord:
    return RunRecord(
        source="native", external_id=external_id, started_at=datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC),
        duration_s=3600, energy_kwh=2.0, gpu_energy_kwh=2.0, country_iso3="DEU", project_name="a-project",
    )  # fmt: skip


@pytest.fixture
def germany(db):
    from emissions.models import FactorDataset, GridFactor

    zone = GridZoneFactory(code="DE")
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    GridFactor.objects.create(
        dataset=dataset,
        zone=zone,
        kind="location",
        year=TODAY.year,
        intensity_g_per_kwh=300.0,
        source="t",
        licence="t",
    )
    return zone


@pytest.mark.django_db(transaction=True)
def test_embedded_default_recomputes_once_per_window_after_the_commits(org_a, germany, settings):
    from emissions.models import Project
    from reporting.models import BudgetAlert, CarbonBudget

    settings.GREENGUILD_FIGURES_REFRESH_DELAY_S = 0.5
    budget = CarbonBudget.objects.create(
        organization=org_a, project=Project.objects.get(slug="a-project"), budget_kg_co2e=1.0,
        period_start=QUARTER.start, period_end=QUARTER.end,
    )  # fmt: skip
    for index in range(5):  # five commits inside one window: one recalculation per period
        with transaction.atomic():
            run_upsert_many(organization=org_a, records=[_record(f"run-{index}")])
    assert Calculation.objects.count() == 0  # nothing on the request path
    assert figures_refresh_wait(timeout_s=30)
    quarter = Calculation.objects.get(period_start=QUARTER.start, period_end=QUARTER.end)  # one, not five
    records = EmissionRecord.objects.filter(calculation=quarter, run__isnull=False)
    assert records.count() == 5
    assert sum(r.emissions_kg_co2e_location for r in records) == pytest.approx(5 * 2.0 * 300 / 1000)
    # The read side followed without beat: 3 kg against a 1 kg budget reached both alert thresholds.
    assert sorted(BudgetAlert.objects.filter(budget=budget).values_list("threshold_pct", flat=True)) == [80, 100]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_scheduled_while_the_transaction_is_rolled_back(org_a, germany, settings):
    settings.GREENGUILD_FIGURES_REFRESH_DELAY_S = 0.2
    with pytest.raises(RuntimeError), transaction.atomic():
        run_upsert_many(organization=org_a, records=[_record("lost")])
        raise RuntimeError("the request failed")
    time.sleep(0.5)
    assert figures_refresh_wait(timeout_s=5) and Calculation.objects.count() == 0


@pytest.mark.services
def test_with_a_broker_a_real_worker_recomputes_after_new_data(celery_worker_process, org_a, germany, settings):
    settings.GREENGUILD_FIGURES_REFRESH_DELAY_S = 1.0
    for index in range(3):
        with transaction.atomic():
            run_upsert_many(organization=org_a, records=[_record(f"worker-{index}")])
    deadline = time.monotonic() + 60
    quarter = None
    while time.monotonic() < deadline and quarter is None:  # the year is computed first, then the quarter
        quarter = Calculation.objects.filter(period_start=QUARTER.start, period_end=QUARTER.end).first()
        time.sleep(0.3)
    assert quarter is not None, "no calculation of the current quarter within 60 s"
    assert EmissionRecord.objects.filter(calculation=quarter, run__isnull=False).count() == 3
    assert "emissions.tasks.figures_refresh_task" in celery_worker_process.read_text()
