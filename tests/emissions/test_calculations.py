"""The pure arithmetic against hand-computed values, and its properties (hypothesis)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emissions import calculations as calc

YEAR_2025 = (date(2025, 1, 1), date(2025, 12, 31))
QUARTERS_2025 = [
    (date(2025, 1, 1), date(2025, 3, 31)),
    (date(2025, 4, 1), date(2025, 6, 30)),
    (date(2025, 7, 1), date(2025, 9, 30)),
    (date(2025, 10, 1), date(2025, 12, 31)),
]


def _go(**overrides) -> calc.Instrument:
    values = {
        "instrument_id": "GO-1", "kind": "go", "zone": "DE", "vintage_start": date(2025, 1, 1),
        "vintage_end": date(2025, 12, 31), "energy_kwh": 40_000.0, "emission_factor_g_per_kwh": 0.0,
    }  # fmt: skip
    return calc.Instrument(**{**values, **overrides})


def _market_total(instruments, consumptions, zone="DE") -> float:
    results = calc.market_based_allocate(
        consumptions=consumptions,
        instruments=instruments,
        residual_mix_g_per_kwh={zone: 400.0},
        grid_average_g_per_kwh={zone: 300.0},
    )
    return sum(result.emissions_kg_co2e for result in results.values())


SITE_2025 = [
    calc.Consumption(key="site", zone="DE", period_start=YEAR_2025[0], period_end=YEAR_2025[1], energy_kwh=1e5)
]


def test_scope2_location_and_market_with_a_go():
    """100,000 kWh; location 300 g/kWh → 30,000 kg; GO 40 MWh, residual mix 400 → 60,000 × 0.4 = 24,000 kg."""
    assert calc.emissions_kg(energy_kwh=100_000, intensity_g_per_kwh=300) == pytest.approx(30_000)
    assert _market_total([_go()], SITE_2025) == pytest.approx(24_000)


@pytest.mark.parametrize(
    "instrument",
    [
        _go(vintage_start=date(2023, 1, 1), vintage_end=date(2023, 12, 31)),  # another vintage
        _go(zone="FR"),  # another market
    ],
)
def test_go_of_other_vintage_or_zone_covers_nothing(instrument):
    assert _market_total([instrument], SITE_2025) == pytest.approx(40_000)


def test_go_never_covers_more_than_consumed_and_is_used_once():
    big = _go(energy_kwh=250_000)
    results = calc.market_based_allocate(
        consumptions=[*SITE_2025, calc.Consumption("site2", "DE", date(2025, 6, 1), date(2025, 6, 30), 200_000)],
        instruments=[big],
        residual_mix_g_per_kwh={"DE": 400.0},
        grid_average_g_per_kwh={"DE": 300.0},
    )
    covered = sum(kwh for result in results.values() for _, kwh, _ in result.covered)
    assert covered == pytest.approx(250_000)  # all of the GO, not more
    assert sum(r.emissions_kg_co2e for r in results.values()) == pytest.approx(50_000 * 0.4)


def test_market_falls_back_to_grid_average_and_says_so():
    results = calc.market_based_allocate(
        consumptions=SITE_2025, instruments=[], residual_mix_g_per_kwh={}, grid_average_g_per_kwh={"DE": 300.0}
    )
    assert results["site"].remainder_basis == "grid_average"
    assert results["site"].emissions_kg_co2e == pytest.approx(30_000)


def test_certificates_come_before_supplier_rate():
    supplier = _go(instrument_id="SUP", kind="supplier_rate", energy_kwh=1e6, emission_factor_g_per_kwh=250.0)
    # 40 MWh at 0 from the GO, the other 60 MWh at the supplier's 250 g/kWh.
    assert _market_total([supplier, _go()], SITE_2025) == pytest.approx(60_000 * 0.25)


def test_block_straddling_the_vintage_is_covered_pro_rata():
    half = [calc.Consumption("b", "DE", date(2024, 7, 2), date(2025, 6, 30), 100_000)]  # 182 of 364 days in 2025
    eligible_kwh = 100_000 * 181 / 364
    expected = (100_000 - eligible_kwh) * 0.4
    assert _market_total([_go(energy_kwh=1e9)], half) == pytest.approx(expected)


def test_facility_energy_never_applies_pue_twice():
    assert calc.facility_energy_kwh(it_energy_kwh=60_000, site_pue=1.25) == pytest.approx(75_000)
    # CodeCarbon already multiplied by its pue=1.2: 12 kWh reported = 10 kWh IT → 15 kWh at PUE 1.5.
    assert calc.facility_energy_kwh(it_energy_kwh=12, site_pue=1.5, tracker_pue=1.2) == pytest.approx(15)


def test_metered_energy_allocation():
    """Metered 100,000 kWh; runs 60,000 kWh IT × PUE 1.25 = 75,000 allocated, 25,000 unallocated."""
    runs = {"r1": calc.facility_energy_kwh(it_energy_kwh=45_000, site_pue=1.25), "r2": 15_000 * 1.25}
    allocation = calc.metered_energy_allocate(metered_kwh=100_000, facility_kwh_by_key=runs)
    assert sum(allocation.allocated_kwh.values()) == pytest.approx(75_000)
    assert allocation.unallocated_kwh == pytest.approx(25_000)
    assert allocation.scale == 1.0


def test_allocation_scales_down_when_trackers_exceed_the_meter():
    allocation = calc.metered_energy_allocate(metered_kwh=100, facility_kwh_by_key={"a": 150, "b": 50})
    assert allocation.allocated_kwh == {"a": pytest.approx(75), "b": pytest.approx(25)}
    assert allocation.unallocated_kwh == 0 and allocation.scale == 0.5


def test_scope1():
    assert calc.stationary_combustion_kg(quantity=100, kg_co2e_per_unit=2.6922) == pytest.approx(269.22)
    assert calc.fugitive_kg(kg_leaked=3.2, gwp100=2255.5) == pytest.approx(7217.6)


def test_scope3_category3():
    assert calc.upstream_electricity_kg(energy_kwh=1000, lifecycle_g_per_kwh=380, direct_g_per_kwh=330) == 50
    assert calc.upstream_electricity_kg(energy_kwh=1000, upstream_g_per_kwh=40, direct_g_per_kwh=330) == 40
    assert calc.upstream_electricity_kg(energy_kwh=1000, direct_g_per_kwh=330) is None
    assert calc.td_loss_kg(energy_kwh=1000, td_loss_g_per_kwh=20) == 20
    assert calc.upstream_fuel_kg(quantity=100, wtt_kg_co2e_per_unit=0.6) == pytest.approx(60)


FLEET_2025 = calc.Asset(
    acquired_on=date(2025, 1, 1), in_service_on=date(2025, 1, 1), lifetime_years=5, embodied_kg_co2e=8 * 164 + 2500
)


def test_capital_goods_booked_in_full_in_the_year_of_acquisition():
    assert FLEET_2025.embodied_kg_co2e == 3812
    assert calc.capital_goods_kg(asset=FLEET_2025, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31)) == 3812
    assert calc.capital_goods_kg(asset=FLEET_2025, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31)) == 0


def test_amortization_of_a_quarter():
    q1 = calc.amortized_kg(asset=FLEET_2025, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31))
    assert q1 == pytest.approx(3812 * 90 / (5 * 365.25))


def test_early_retirement_writes_off_the_balance():
    retired = calc.Asset(**{**FLEET_2025.__dict__, "retired_on": date(2027, 1, 1)})
    years = [(date(y, 1, 1), date(y, 12, 31)) for y in range(2025, 2032)]
    amortized = [calc.amortized_kg(asset=retired, period_start=s, period_end=e) for s, e in years]
    written_off = [calc.written_off_kg(asset=retired, period_start=s, period_end=e) for s, e in years]
    assert amortized[2:] == [0.0] * 5  # nothing after retirement
    assert written_off == [0.0, 0.0, pytest.approx(3812 - 3812 * 730 / 1826.25), 0.0, 0.0, 0.0, 0.0]
    assert sum(amortized) + sum(written_off) == pytest.approx(3812)


def test_roll_forward_ties_the_two_views():
    retired = calc.Asset(**{**FLEET_2025.__dict__, "retired_on": date(2027, 1, 1)})
    later = calc.Asset(date(2027, 3, 1), date(2027, 4, 1), 4, 1000.0)
    roll = calc.roll_forward(assets=[retired, later], period_start=date(2027, 1, 1), period_end=date(2027, 12, 31))
    assert roll.opening_kg == pytest.approx(3812 - 3812 * 730 / 1826.25)
    assert roll.additions_kg == 1000
    assert roll.written_off_kg == pytest.approx(roll.opening_kg)
    assert roll.amortized_kg == pytest.approx(1000 * 275 / (4 * 365.25))
    expected = roll.opening_kg + roll.additions_kg - roll.amortized_kg - roll.written_off_kg
    assert roll.closing_kg == pytest.approx(expected)
    assert roll.closing_kg == pytest.approx(1000 - roll.amortized_kg)


def test_sci():
    # ((2 kWh × 300 g/kWh) + 50 g) / 10 inferences = 65 g per inference
    assert calc.sci_g_per_unit(energy_kwh=2, intensity_g_per_kwh=300, embodied_g=50, functional_units=10) == 65
    with pytest.raises(ValueError):
        calc.sci_g_per_unit(energy_kwh=1, intensity_g_per_kwh=1, embodied_g=0, functional_units=0)


def test_gpu_hour_share():
    assert calc.gpu_hours_share(used_gpu_hours=24, available_gpu_hours=96) == 0.25
    assert calc.gpu_hours_share(used_gpu_hours=200, available_gpu_hours=96) == 1.0
    assert calc.gpu_hours_share(used_gpu_hours=1, available_gpu_hours=0) == 0.0


# --- Properties -----------------------------------------------------------------------------------

dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))
assets = st.builds(
    lambda acquired, delay, life, embodied, retire_after: calc.Asset(
        acquired_on=acquired,
        in_service_on=acquired + timedelta(days=delay),
        lifetime_years=life,
        embodied_kg_co2e=embodied,
        retired_on=None if retire_after is None else acquired + timedelta(days=delay + retire_after),
    ),
    dates,
    st.integers(0, 120),
    st.floats(0.5, 10),
    st.floats(0, 1e6),
    st.none() | st.integers(0, 4000),
)


@given(asset=assets)
def test_amortization_is_additive_non_negative_and_bounded(asset):
    for year in range(2015, 2042):
        year_kg = calc.amortized_kg(asset=asset, period_start=date(year, 1, 1), period_end=date(year, 12, 31))
        quarters = [
            (date(year, 1, 1), date(year, 3, 31)),
            (date(year, 4, 1), date(year, 6, 30)),
            (date(year, 7, 1), date(year, 9, 30)),
            (date(year, 10, 1), date(year, 12, 31)),
        ]
        quarter_kg = [calc.amortized_kg(asset=asset, period_start=s, period_end=e) for s, e in quarters]
        assert all(kg >= 0 for kg in quarter_kg)
        assert sum(quarter_kg) == pytest.approx(year_kg, abs=1e-6)
    whole = calc.amortized_kg(asset=asset, period_start=date(2015, 1, 1), period_end=date(2045, 12, 31))
    written = calc.written_off_kg(asset=asset, period_start=date(2015, 1, 1), period_end=date(2045, 12, 31))
    assert 0 <= whole <= asset.embodied_kg_co2e + 1e-6
    assert written >= -1e-6
    assert whole + written == pytest.approx(asset.embodied_kg_co2e, abs=1e-6)


@given(
    monthly_kwh=st.lists(st.floats(0, 1e6), min_size=12, max_size=12),
    go_kwh=st.floats(0, 2e7),
    residual=st.floats(0, 1000),
)
def test_market_based_is_additive_over_periods(monthly_kwh, go_kwh, residual):
    """Splitting consumption into months never changes the total: an instrument is used once."""
    month_ends = [date(2025, m + 1, 1) - timedelta(days=1) for m in range(1, 12)] + [date(2025, 12, 31)]
    months = [
        calc.Consumption(m, "DE", date(2025, m, 1), month_ends[m - 1], kwh)
        for m, kwh in zip(range(1, 13), monthly_kwh, strict=True)
    ]
    go = _go(energy_kwh=go_kwh)
    factors = {"residual_mix_g_per_kwh": {"DE": residual}, "grid_average_g_per_kwh": {"DE": 300.0}}
    by_month = calc.market_based_allocate(consumptions=months, instruments=[go], **factors)
    total_month = sum(r.emissions_kg_co2e for r in by_month.values())
    year = [calc.Consumption("y", "DE", *YEAR_2025, sum(monthly_kwh))]
    total_year = sum(
        r.emissions_kg_co2e for r in calc.market_based_allocate(consumptions=year, instruments=[go], **factors).values()
    )
    assert all(r.emissions_kg_co2e >= 0 for r in by_month.values())
    assert total_month == pytest.approx(total_year, rel=1e-9, abs=1e-6)


@given(metered=st.floats(0, 1e7), runs=st.lists(st.floats(0, 1e6), max_size=20))
def test_allocation_never_exceeds_the_meter(metered, runs):
    allocation = calc.metered_energy_allocate(metered_kwh=metered, facility_kwh_by_key=dict(enumerate(runs)))
    total = sum(allocation.allocated_kwh.values()) + allocation.unallocated_kwh
    assert all(kwh >= 0 for kwh in allocation.allocated_kwh.values()) and allocation.unallocated_kwh >= 0
    assert total == pytest.approx(metered, rel=1e-9, abs=1e-6) or sum(runs) == 0
