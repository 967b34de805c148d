"""The daily rollup: equal to the current ledger, incremental, never adding a superseded or overlapping calculation."""

from datetime import date

import pytest
from django.core.management import call_command
from django.db.models import Sum

from emissions.models import DailyEmissionRollup, DailyRollupWatermark, EmissionRecord
from emissions.periods import period_parse
from emissions.services.ledger import inventory_calculate
from reporting.rollups import rollup_rebuild, rollup_refresh
from tests.factories import GridZoneFactory, RunFactory, SiteFactory
from tests.frontend.dashboard_data import Q3, calculation_add, q3_records_add, record_add, small_ledger_create

SUMS = ("emissions_kg_co2e_location", "emissions_kg_co2e_market", "energy_kwh")


def _rollup_totals(organization, **filters) -> dict:
    rows = DailyEmissionRollup.objects.for_org(organization).filter(**filters)
    return {name: pytest.approx(value or 0.0) for name, value in rows.aggregate(**{n: Sum(n) for n in SUMS}).items()}


def _ledger_totals(organization) -> dict:
    current = EmissionRecord.objects.for_org(organization).filter(calculation__superseded_by__isnull=True)
    totals = current.aggregate(**{n: Sum(n) for n in SUMS})
    return {name: value or 0.0 for name, value in totals.items()}


@pytest.mark.django_db
def test_rollup_sums_equal_the_current_ledger(org_a):
    small_ledger_create(org_a)
    assert rollup_refresh(organization=org_a) > 0
    assert _rollup_totals(org_a) == _ledger_totals(org_a)
    assert _ledger_totals(org_a)["emissions_kg_co2e_location"] == pytest.approx(700 + 300 + 50 + 75 + 120 + 500 + 30)


@pytest.mark.django_db
def test_multi_day_records_are_spread_evenly_over_their_days(org_a):
    small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    idle = DailyEmissionRollup.objects.filter(activity_kind="unallocated", scope=2)
    assert idle.count() == 31 and {row.day.month for row in idle} == {7}
    assert idle.get(day=date(2026, 7, 15)).emissions_kg_co2e_location == pytest.approx(75 / 31)
    amortized = DailyEmissionRollup.objects.filter(basis="embodied_amortized")
    assert amortized.count() == 92 and amortized.first().emissions_kg_co2e_location == pytest.approx(30 / 92)


@pytest.mark.django_db
def test_run_gpu_hours_count_once_with_utilization(org_a):
    small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    totals = DailyEmissionRollup.objects.aggregate(h=Sum("gpu_hours"), busy=Sum("gpu_busy_hours"))
    assert totals == {"h": pytest.approx(8.0), "busy": pytest.approx(4.0)}  # Scope 2 line only, not Cat 3


@pytest.mark.django_db
def test_recalculation_replaces_rather_than_adds(org_a):
    calculations = small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    recalculated = calculation_add(org_a, Q3)
    q3_records_add(recalculated, scale=2.0)
    calculations["q3"].superseded_by = recalculated
    calculations["q3"].save(update_fields=["superseded_by"])
    assert rollup_refresh(organization=org_a) > 0
    q3 = {"day__gte": Q3[0], "day__lte": Q3[1]}
    assert _rollup_totals(org_a, **q3)["emissions_kg_co2e_location"] == pytest.approx(2 * 1075)
    assert _rollup_totals(org_a) == _ledger_totals(org_a)
    assert DailyRollupWatermark.objects.get(organization=org_a).last_calculation_id == recalculated.pk
    assert rollup_refresh(organization=org_a) == 0  # nothing above the watermark: a no-op


@pytest.mark.django_db
def test_overlapping_year_and_quarter_are_read_once_newest_first(org_a):
    small_ledger_create(org_a)
    year = calculation_add(org_a, (date(2026, 1, 1), date(2026, 12, 31)))
    record_add(year, start=date(2026, 7, 10), location=999, energy_kwh=1)
    rollup_refresh(organization=org_a)
    # The year is newer, so it owns every day of 2026: only its line counts, not the quarters' as well.
    assert _rollup_totals(org_a)["emissions_kg_co2e_location"] == pytest.approx(999)


@pytest.mark.django_db
def test_rebuild_gives_the_same_rows_as_incremental_refreshes(org_a):
    small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    before = sorted(DailyEmissionRollup.objects.values_list("day", "scope", "basis", "emissions_kg_co2e_location"))
    rollup_rebuild(organization=org_a)
    after = sorted(DailyEmissionRollup.objects.values_list("day", "scope", "basis", "emissions_kg_co2e_location"))
    assert after == before
    call_command("rollup_rebuild", "--org", org_a.slug)
    assert DailyEmissionRollup.objects.count() == len(before)


@pytest.mark.django_db
def test_refresh_of_one_organization_leaves_the_other_alone(org_a, org_b):
    small_ledger_create(org_a)
    other = calculation_add(org_b, Q3)
    record_add(other, start=date(2026, 7, 10), location=12345)
    rollup_refresh(organization=org_a)
    assert not DailyEmissionRollup.objects.for_org(org_b).exists()
    rollup_refresh(organization=org_b)
    assert _rollup_totals(org_b)["emissions_kg_co2e_location"] == pytest.approx(12345)
    assert _rollup_totals(org_a) == _ledger_totals(org_a)


@pytest.mark.django_db
def test_ledger_write_refreshes_the_rollup_on_commit(org_a, django_capture_on_commit_callbacks):
    """The real accounting engine: the rollup follows each Calculation through the Celery task."""
    from emissions.choices import FactorKind
    from emissions.models import FactorDataset, GridFactor

    zone = GridZoneFactory(code="DE")
    dataset = FactorDataset.objects.create(name="test", version="1", title="t", source="test", licence="test")
    GridFactor.objects.create(dataset=dataset, zone=zone, kind=FactorKind.LOCATION, year=2025,
                              intensity_g_per_kwh=300.0, source="test", licence="test")  # fmt: skip
    site = SiteFactory(organization=org_a, zone=zone, pue=1.25, slug="lab")
    RunFactory(organization=org_a, site=site, energy_kwh=100.0)  # 2025-02-01: 125 kWh facility, 37.5 kg
    with django_capture_on_commit_callbacks(execute=True):
        inventory_calculate(organization=org_a, period=period_parse("2025-Q1"))
    assert _rollup_totals(org_a) == _ledger_totals(org_a)
    assert _rollup_totals(org_a)["emissions_kg_co2e_location"] == pytest.approx(37.5)
    with django_capture_on_commit_callbacks(execute=True):
        inventory_calculate(organization=org_a, period=period_parse("2025-Q1"), reason="again")
    assert _rollup_totals(org_a)["emissions_kg_co2e_location"] == pytest.approx(37.5)
