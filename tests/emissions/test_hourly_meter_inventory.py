"""Hourly meter data (the meter API, ``site_electricity_hourly``) is metered electricity of the inventory where
no meter reading covers its month, and is never added to a month's reading (computed by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from emissions.models import HourlyMeterReading
from tests.emissions.test_ledger_rules import _factor, _reading, _site, _summary, dataset  # noqa: F401 (a fixture)
from tests.factories import GridZoneFactory


def _hours(site, first: datetime, count: int, kwh: float) -> None:
    for hour in range(count):
        HourlyMeterReading.objects.create(site=site, hour_start=first + timedelta(hours=hour), energy_kwh=kwh)


@pytest.mark.django_db
def test_a_month_of_hourly_data_alone_is_metered_and_a_month_with_a_reading_keeps_the_reading(org_a, dataset):  # noqa: F811
    """January: hourly only, 24 × 10 kWh on the 1st and 24 × 5 kWh on the 31st (to 23:00 UTC) = 360 kWh at
    100 g = 36 kg. February: a 1,000 kWh reading at 300 g = 300 kg, and 240 kWh of hourly data that must not be
    added. Q1 = 336 kg location-based, and market-based too (no instrument, no residual mix)."""
    zone = GridZoneFactory(code="ZH", name="Hourly")
    _factor(dataset, zone, 100, year=2025, month=1)
    _factor(dataset, zone, 300, year=2025, month=2)
    site = _site(org_a, zone)
    _hours(site, datetime(2025, 1, 1, tzinfo=UTC), 24, 10.0)
    _hours(site, datetime(2025, 1, 31, tzinfo=UTC), 24, 5.0)
    _reading(site, date(2025, 2, 1), date(2025, 2, 28), 1000)
    _hours(site, datetime(2025, 2, 10, tzinfo=UTC), 24, 10.0)
    quarter = _summary(org_a, "2025-Q1")
    assert quarter["scope_2_location_kg"] == pytest.approx(36.0 + 300.0)
    assert quarter["scope_2_market_kg"] == pytest.approx(36.0 + 300.0)
    january = _summary(org_a, "2025-01")
    assert january["scope_2_location_kg"] == pytest.approx(36.0)
