"""Periods are bounded to 1990 .. next year (issue 18, finding 1): a period at the ends of the calendar is
a 400, never a 500, and a calculation stored before the bound cannot break the organization's pages."""

import json
from datetime import date

import pytest
from django.core.management import call_command

from emissions.choices import Role
from emissions.models import Calculation, DailyEmissionRollup
from emissions.periods import Period, days, month_end, period_parse, period_years
from reporting.rollups import rollup_refresh
from tests.factories import MembershipFactory
from tests.frontend.dashboard_data import calculation_add, record_add

NEXT_YEAR = date.today().year + 1
OUT_OF_RANGE = ["9999-Q4", "0001", "1989", f"{NEXT_YEAR + 1}", f"{NEXT_YEAR + 1}-03"]


@pytest.mark.parametrize("label", OUT_OF_RANGE)
def test_period_parse_refuses_years_outside_the_range(label):
    with pytest.raises(ValueError, match=rf"out of range: periods run from 1990 to {NEXT_YEAR}"):
        period_parse(label)


def test_period_parse_accepts_both_ends_of_the_range():
    assert period_parse("1990-Q1").start == date(1990, 1, 1)
    assert period_parse(f"{NEXT_YEAR}-12").end == date(NEXT_YEAR, 12, 31)
    assert period_years(date(2030, 6, 1)) == (1990, 2031)
    assert period_parse("2031", today=date(2030, 6, 1)).end == date(2031, 12, 31)


def test_date_arithmetic_is_safe_at_the_end_of_the_calendar():
    december = Period(label="9999-12", start=date(9999, 12, 1), end=date(9999, 12, 31))
    assert month_end(date(9999, 12, 5)) == date(9999, 12, 31)
    assert december.months() == [(date(9999, 12, 1), date(9999, 12, 31))]
    assert list(days(date(9999, 12, 30), date(9999, 12, 31))) == [date(9999, 12, 30), date(9999, 12, 31)]


@pytest.fixture
def viewer(org_a):
    return MembershipFactory(organization=org_a, role=Role.VIEWER, user__username="vera").user


@pytest.mark.django_db
@pytest.mark.parametrize("label", OUT_OF_RANGE)
def test_inventory_api_answers_400_and_stores_nothing(client, viewer, label):
    client.force_login(viewer)
    response = client.get(f"/api/v1/inventory/?period={label}")
    assert response.status_code == 400
    assert f"periods run from 1990 to {NEXT_YEAR}" in response.json()["detail"]
    assert not Calculation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/?period=0001", "/teams/a-team/?period=9999-Q4", "/leaderboard/?period=1989"])
def test_a_page_with_an_out_of_range_period_is_a_400_page(client, alice, path):
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code == 400
    assert "periods run from 1990" in response.content.decode()


@pytest.mark.django_db
def test_the_report_api_refuses_an_out_of_range_period(client, alice):
    client.force_login(alice)
    response = client.post("/api/v1/reports/", {"period": "9999"}, content_type="application/json")
    assert response.status_code == 400 and "out of range" in response.json()["period"][0]


def _stored_out_of_range(org) -> Calculation:
    """What ``GET /api/v1/inventory/?period=9999-Q4`` saved before periods were bounded, with one line."""
    calculation = calculation_add(org, (date(9999, 10, 1), date(9999, 12, 31)))
    record_add(calculation, start=date(9999, 10, 1), end=date(9999, 12, 31), location=5.0)
    return calculation


def _post_run(client):
    run = {"external_id": "job-1", "project": "a-project", "started_at": "2025-03-01T10:00:00Z",
           "duration_s": 3600, "energy_kwh": 1.5}  # fmt: skip
    return client.post("/api/v1/runs", json.dumps({"runs": [run]}), content_type="application/json")


@pytest.mark.django_db
def test_a_stored_out_of_range_calculation_breaks_no_page(client, alice, org_a, media_root):
    _stored_out_of_range(org_a)
    assert rollup_refresh(organization=org_a) == 0  # passed over, not rolled up
    client.force_login(alice)
    for path in ("/", "/projects/a-project/", "/teams/a-team/", "/projects/a-project/label.svg"):
        assert client.get(path).status_code == 200, path
    assert _post_run(client).status_code == 202
    assert not DailyEmissionRollup.objects.filter(day__year=9999).exists()


@pytest.mark.django_db
def test_rollup_rebuild_deletes_out_of_range_calculations(org_a, capsys):
    bad = _stored_out_of_range(org_a)
    kept = calculation_add(org_a, (date(2025, 1, 1), date(2025, 3, 31)))
    record_add(kept, start=date(2025, 2, 1), location=7.0)
    call_command("rollup_rebuild", org="org-a")
    out = capsys.readouterr().out
    assert f"deleted calculation {bad.pk} (9999-10-01..9999-12-31)" in out and "outside the period range" in out
    assert list(Calculation.objects.values_list("pk", flat=True)) == [kept.pk]
    assert DailyEmissionRollup.objects.get().day == date(2025, 2, 1)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("FY2025", date(2025, 4, 1), date(2026, 3, 31)),
        ("FY2025-Q1", date(2025, 4, 1), date(2025, 6, 30)),
        ("FY2025-Q4", date(2026, 1, 1), date(2026, 3, 31)),
        ("FY2025-H2", date(2025, 10, 1), date(2026, 3, 31)),
        ("fy2024-q3", date(2024, 10, 1), date(2024, 12, 31)),
    ],
)
def test_fiscal_periods_follow_the_fiscal_year_start(label, start, end):
    """A fiscal year starting in April: FY2025 is the one that starts in 2025 (ESRS 1 ¶73: the period of the
    financial statements)."""
    period = period_parse(label, fiscal_year_start_month=4, today=date(2026, 12, 5))
    assert (period.start, period.end, period.label) == (start, end, label.upper())


def test_fiscal_periods_need_the_organizations_fiscal_year():
    with pytest.raises(ValueError, match="is not a period: use 2025, 2025-H1, 2025-Q1 or 2025-03"):
        period_parse("FY2025")
    assert period_parse("FY2025", fiscal_year_start_month=1).end == date(2025, 12, 31)
    with pytest.raises(ValueError, match="out of range"):
        period_parse("FY1989", fiscal_year_start_month=4)
