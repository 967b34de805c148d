"""Hourly-matched Scope 2 and the 24/7 score, computed by hand (emissions/hourly_scope2.py)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from emissions.hourly_scope2 import (
    HourFactors,
    HourlyCertificate,
    annual_match_market_kg,
    hourly_match,
    profile_load,
)

DAY = datetime(2026, 6, 1, tzinfo=UTC)
HOURS = [DAY + timedelta(hours=h) for h in range(24)]
# DE: location 300 g, residual mix 400 g, half the generation carbon-free.
GRID = {
    hour: HourFactors(location_g_per_kwh=300.0, residual_g_per_kwh=400.0, grid_carbon_free_share=0.5) for hour in HOURS
}
FLAT_LOAD = dict.fromkeys(HOURS, 10.0)  # 240 kWh in the day


def _solar(boundary: str = "DE") -> list[HourlyCertificate]:
    """20 kWh an hour from 06:00 to 17:00 UTC: 240 kWh, the day's whole load in volume."""
    return [HourlyCertificate(f"pv-{h:02d}", DAY + timedelta(hours=h), 20.0, boundary) for h in range(6, 18)]


def test_annual_matching_says_100_percent_and_hourly_leaves_the_night_at_the_residual_mix():
    assert (
        annual_match_market_kg(load_kwh=240, certificates_kwh=240, certificate_g_per_kwh=0, residual_g_per_kwh=400)
        == 0.0
    )
    result = hourly_match(load_kwh_by_hour=FLAT_LOAD, market_boundary="DE", certificates=_solar(), factors_by_hour=GRID)
    assert result.load_kwh == 240 and result.matched_kwh == 120  # 12 daylight hours × 10 kWh
    assert result.surplus_kwh == 120  # 10 kWh an hour of daylight beyond the load, never carried to the night
    assert result.market_kg_co2e == pytest.approx(12 * 10 * 0.400)  # the night's 120 kWh at 400 g: 48 kg
    assert result.location_kg_co2e == pytest.approx(240 * 0.300)  # 72 kg, the hourly location figure
    # 24/7: daylight 120 kWh carbon-free + the night's grid share 0.5 × 120 kWh = 180 of 240 kWh.
    assert result.cfe_score == pytest.approx(0.75)
    night, noon = result.hours[2], result.hours[12]
    assert (night.uncovered_kwh, night.market_kg_co2e, night.carbon_free_share) == (10.0, pytest.approx(4.0), 0.5)
    assert (noon.matched_kwh, noon.market_kg_co2e, noon.carbon_free_share) == (10.0, 0.0, 1.0)


def test_certificates_from_another_market_boundary_never_match():
    result = hourly_match(
        load_kwh_by_hour=FLAT_LOAD, market_boundary="DE", certificates=_solar("FR"), factors_by_hour=GRID
    )
    assert result.matched_kwh == 0 and result.other_boundary_kwh == {"FR": 240.0}
    assert result.market_kg_co2e == pytest.approx(240 * 0.400)
    assert result.cfe_score == pytest.approx(0.5)  # the grid's own share only


def test_without_a_residual_mix_the_remainder_takes_the_location_factor_and_is_flagged():
    grid = {hour: HourFactors(300.0, None, 0.0) for hour in HOURS}
    result = hourly_match(load_kwh_by_hour=FLAT_LOAD, market_boundary="DE", certificates=_solar(), factors_by_hour=grid)
    assert result.market_kg_co2e == pytest.approx(120 * 0.300)
    assert result.hours_at_location == 12  # the night hours; the covered daylight hours need no remainder factor


def test_the_lowest_emitting_certificate_is_matched_first_and_a_missing_factor_is_an_error():
    hour = HOURS[0]
    certificates = [
        HourlyCertificate("gas-chp", hour, 10.0, "DE", emission_factor_g_per_kwh=350.0, carbon_free=False),
        HourlyCertificate("wind", hour, 6.0, "DE"),
    ]
    result = hourly_match(
        load_kwh_by_hour={hour: 10.0}, market_boundary="DE", certificates=certificates, factors_by_hour=GRID
    )
    [only] = result.hours
    assert (only.matched_kwh, only.matched_carbon_free_kwh, only.surplus_kwh) == (10.0, 6.0, 6.0)
    assert only.market_kg_co2e == pytest.approx(4 * 0.350)  # 6 kWh wind at 0, 4 kWh of the CHP at 350 g
    with pytest.raises(KeyError, match="2026-06-02T00:00:00"):
        hourly_match(
            load_kwh_by_hour={DAY + timedelta(days=1): 1.0}, market_boundary="DE", certificates=[], factors_by_hour=GRID
        )


def test_a_load_profile_stands_in_for_a_missing_month():
    june = profile_load(
        energy_kwh=720.0,
        start=datetime(2026, 6, 1, tzinfo=UTC),
        end=datetime(2026, 7, 1, tzinfo=UTC),
        profile="flat",
        local_time=UTC,
    )
    assert len(june) == 720 and set(june.values()) == {1.0}
    berlin = ZoneInfo("Europe/Berlin")
    week = profile_load(
        energy_kwh=1000.0,
        start=datetime(2026, 6, 1, tzinfo=UTC),  # a Monday
        end=datetime(2026, 6, 8, tzinfo=UTC),
        profile="office",
        local_time=berlin,
    )
    assert sum(week.values()) == pytest.approx(1000.0)
    # Weights: 5 weekdays × (10 h × 3 + 14 h × 1) + 2 weekend days × 24 = 268; a working hour is 3/268 of the week.
    monday_10_local = datetime(2026, 6, 1, 8, tzinfo=UTC)  # 10:00 in Berlin (UTC+2)
    assert week[monday_10_local] == pytest.approx(1000.0 * 3 / 268)
    assert week[datetime(2026, 6, 6, 8, tzinfo=UTC)] == pytest.approx(1000.0 / 268)  # Saturday: base load
    # The profiled month matched like metered hours, flagged as profiled.
    factors = {hour: HourFactors(300.0, 400.0, 0.5) for hour in june}
    result = hourly_match(
        load_kwh_by_hour=june,
        market_boundary="DE",
        certificates=[],
        factors_by_hour=factors,
        profiled_hours=frozenset(june),
    )
    assert result.profiled_hours == 720 and result.market_kg_co2e == pytest.approx(720 * 0.400)
    with pytest.raises(ValueError, match="unknown load profile"):
        profile_load(energy_kwh=1.0, start=DAY, end=DAY + timedelta(hours=1), profile="bakery", local_time=UTC)
