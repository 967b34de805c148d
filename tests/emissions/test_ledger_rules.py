"""Ledger rules an auditor would sign (issue: monthly factors, certificates across years, market boundaries,
period splits, provenance), each hand-computed. Made-up zones keep the arithmetic readable."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from emissions.choices import FactorKind, InstrumentKind, SiteOwnership
from emissions.models import EmissionRecord, EnergyInstrument, FactorDataset, GridFactor, MeterReading, RunSample
from emissions.periods import period_parse
from emissions.selectors import inventory_summary
from emissions.services.ledger import inventory_calculate
from tests.factories import GridZoneFactory, RunFactory, SiteFactory


@pytest.fixture
def dataset(org_a):
    return FactorDataset.objects.create(name="test", version="1", title="t", source="hand", licence="CC0")


def _factor(dataset, zone, value, *, year, month=None, kind=FactorKind.LOCATION, organization=None):
    return GridFactor.objects.create(dataset=dataset, zone=zone, kind=kind, year=year, month=month,
                                     intensity_g_per_kwh=value, source="hand", licence="CC0",
                                     organization=organization)  # fmt: skip


def _site(org, zone, slug="s1"):
    return SiteFactory(organization=org, slug=slug, zone=zone, pue=1.0, ownership=SiteOwnership.OWNED,
                       buys_electricity=True)  # fmt: skip


def _reading(site, start, end, kwh):
    return MeterReading.objects.create(site=site, period_start=start, period_end=end, energy_kwh=kwh)


def _monthly_readings(site, year, months, kwh):
    for month in months:
        last = date(year + (month == 12), month % 12 + 1, 1) - date.resolution
        _reading(site, date(year, month, 1), last, kwh)


def _certificate(org, instrument_id, zone, start, end, mwh, site=None):
    return EnergyInstrument.objects.create(organization=org, instrument_id=instrument_id, kind=InstrumentKind.REC,
                                           zone=zone, site=site, vintage_start=start, vintage_end=end,
                                           energy_mwh=mwh)  # fmt: skip


def _summary(org, period):
    return inventory_summary(calculation=inventory_calculate(organization=org, period=period_parse(period)))


@pytest.mark.django_db
def test_market_based_remainder_uses_each_months_factor(org_a, dataset):
    """Defect 1: monthly location factors 100, 300, 500 gCO2e/kWh for Jan–Mar, no residual mix, no certificate,
    1,000 kWh metered per month. Location Q1 = 1,000 × (100 + 300 + 500) / 1,000 = 900 kg; market-based falls back
    to the same month's factor, so it is 900 kg too (it used one month's factor for the quarter: 300 kg), and the
    quarter equals the sum of its months. Each month on its own: January 1,000 × 0.1 = 100 kg, February 300 kg,
    March 500 kg, both methods (the three average to February's 300 g, so only the months tell a calculation that
    used one month's factor for all of them apart). Defect 7: the grid-average fallback is a gap with its size,
    3 × 1,000 = 3,000.0 kWh in zone ZM."""
    zone = GridZoneFactory(code="ZM", name="Monthly")
    for month, value in ((1, 100), (2, 300), (3, 500)):
        _factor(dataset, zone, value, year=2025, month=month)
    _monthly_readings(_site(org_a, zone), 2025, (1, 2, 3), 1000)
    quarter = _summary(org_a, "2025-Q1")
    assert quarter["scope_2_location_kg"] == pytest.approx(900.0)
    assert quarter["scope_2_market_kg"] == pytest.approx(900.0)
    months = [_summary(org_a, f"2025-0{m}") for m in (1, 2, 3)]
    for month, expected_kg in zip(months, (100.0, 300.0, 500.0), strict=True):
        assert month["scope_2_location_kg"] == pytest.approx(expected_kg)
        assert month["scope_2_market_kg"] == pytest.approx(expected_kg)
    assert sum(m["scope_2_market_kg"] for m in months) == pytest.approx(quarter["scope_2_market_kg"])
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-Q1"))
    record = EmissionRecord.objects.filter(calculation=calculation, scope=2).order_by("period_start").last()
    # Defect 7: the remainder factor is traceable to its row (id, dataset, period), not a bare number.
    remainder = record.factors["market"]["remainder_factor"]
    assert remainder["id"] and remainder["dataset"] and remainder["period"] == "2025-03"
    assert any(
        gap.startswith("market-based: 3,000.0 kWh")
        and "valued at the grid average" in gap
        and "ZM (3,000.0 kWh)" in gap
        for gap in calculation.data_gaps
    ), calculation.data_gaps


@pytest.mark.django_db
def test_certificates_chained_across_a_year_end_keep_last_years_allocation(org_a, dataset):
    """Defect 3: 300 kWh a month at 400 gCO2e/kWh from Jan 2025. Certificate A (vintage 2025, 3 MWh) and B (vintage
    Jul 2025–Jun 2026, 1 MWh), used earliest vintage first, month by month:
    2025: A covers Jan–Oct (10 × 300 = 3,000 kWh); B covers Nov and Dec (600), 400 kWh left.
    2026: B covers January (300) and 100 of February. Q1 2026 market-based = (200 + 300) × 0.4 = 200 kg.
    The 2026 calculation once dropped A (vintage ended), so B covered Jul–Oct 2025 again and nothing in 2026
    (360 kg), contradicting the 2025 report. 2025 market-based = 0 kg, before and after 2026 is calculated."""
    zone = GridZoneFactory(code="ZC", name="Chained")
    for year in (2025, 2026):
        _factor(dataset, zone, 400, year=year)
    site = _site(org_a, zone)
    _monthly_readings(site, 2025, range(1, 13), 300)
    _monthly_readings(site, 2026, range(1, 7), 300)
    _certificate(org_a, "A", zone, date(2025, 1, 1), date(2025, 12, 31), 3)
    _certificate(org_a, "B", zone, date(2025, 7, 1), date(2026, 6, 30), 1)
    year_2025 = _summary(org_a, "2025")
    assert year_2025["scope_2_market_kg"] == pytest.approx(0.0)
    q1 = _summary(org_a, "2026-Q1")
    assert q1["scope_2_location_kg"] == pytest.approx(360.0)
    assert q1["scope_2_market_kg"] == pytest.approx(200.0)
    assert _summary(org_a, "2025")["scope_2_market_kg"] == pytest.approx(0.0)
    jan, feb, mar = (_summary(org_a, f"2026-0{m}")["scope_2_market_kg"] for m in (1, 2, 3))
    assert (jan, feb, mar) == (pytest.approx(0.0), pytest.approx(80.0), pytest.approx(120.0))


@pytest.mark.django_db
def test_a_reading_begun_before_the_window_keeps_its_runs_so_the_quarter_sums_its_months(org_a, dataset):
    """Window defect: location and residual mix 400 g/kWh (2025 and 2026), PUE 1.0. A reading of 620 kWh over
    1 Dec 2025–31 Jan 2026 (62 days) holds a 100 kWh run on 5 January: idle 620 − 100 = 520 kWh, 520 × 31/62 =
    260 kWh in December and 260 in January. February and March read 1,000 kWh each. Certificate C (1 MWh = 1,000
    kWh, 0 g) has vintage 15 Jan–31 Dec 2026, so it covers the January idle block (1–31 Jan) pro rata by days:
    260 × 17/31 = 4,420/31 = 142.581 kWh (the run on 5 January is before its vintage).
      January  = run 100 × 0.4 + idle (260 − 142.581 = 117.419) × 0.4 = 40 + 46.968 = 86.968 kg
      February = C has 1,000 − 142.581 = 857.419 kWh left; (1,000 − 857.419 = 142.581) × 0.4 = 57.032 kg
      March    = 1,000 × 0.4 = 400 kg (C is used up)
      Q1       = 86.968 + 57.032 + 400 = 440 + (1,456 + 1,768)/31 = 440 + 104 = 544.0 kg
    February's and March's calculations start their window at C's vintage (15 January) and once loaded runs from
    there only: the 5 January run was lost, January's idle became 620 × 31/62 = 310 kWh, C covered 310 × 17/31 =
    170 kWh of it and February paid (1,000 − 830) × 0.4 = 68.0 kg, so the months summed to 554.97 kg, not 544.0.
    Location-based: January (100 + 260) × 0.4 = 144 kg, Q1 = 144 + 400 + 400 = 944 kg."""
    zone = GridZoneFactory(code="ZW", name="Window")
    for year in (2025, 2026):
        _factor(dataset, zone, 400, year=year)
        _factor(dataset, zone, 400, year=year, kind=FactorKind.RESIDUAL_MIX)
    site = _site(org_a, zone)
    _reading(site, date(2025, 12, 1), date(2026, 1, 31), 620)
    _monthly_readings(site, 2026, (2, 3), 1000)
    started_at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    RunFactory(
        organization=org_a,
        site=site,
        started_at=started_at,
        ended_at=started_at.replace(hour=18),
        duration_s=10 * 3600,
        energy_kwh=100.0,
    )
    _certificate(org_a, "C", zone, date(2026, 1, 15), date(2026, 12, 31), 1)
    q1 = _summary(org_a, "2026-Q1")
    assert q1["scope_2_location_kg"] == pytest.approx(944.0)
    assert q1["scope_2_market_kg"] == pytest.approx(544.0)
    jan, feb, mar = (_summary(org_a, f"2026-0{m}") for m in (1, 2, 3))
    assert jan["scope_2_location_kg"] == pytest.approx(144.0)
    assert jan["scope_2_market_kg"] == pytest.approx(40 + 1456 / 31)  # 86.968 kg
    assert feb["scope_2_market_kg"] == pytest.approx(1768 / 31)  # 57.032 kg (68.0 kg before)
    assert mar["scope_2_market_kg"] == pytest.approx(400.0)
    assert sum(m["scope_2_market_kg"] for m in (jan, feb, mar)) == pytest.approx(q1["scope_2_market_kg"])


@pytest.mark.django_db
def test_a_certificate_whose_vintage_ends_mid_month_covers_that_month_pro_rata_by_days(org_a, dataset):
    """Defect 3 (pro rata): location and residual mix 400 g/kWh; March metered 310 kWh (10 kWh a day over 31 days).
    Certificate E (1 MWh, 0 g) has vintage 1 Jan–15 Mar: it covers 310 × 15/31 = 150 kWh of March, although it
    holds 1,000. Location 310 × 0.4 = 124 kg; market (310 − 150) × 0.4 = 160 × 0.4 = 64 kg."""
    zone = GridZoneFactory(code="ZE", name="Ends mid-month")
    _factor(dataset, zone, 400, year=2025)
    _factor(dataset, zone, 400, year=2025, kind=FactorKind.RESIDUAL_MIX)
    _reading(_site(org_a, zone), date(2025, 3, 1), date(2025, 3, 31), 310)
    _certificate(org_a, "E", zone, date(2025, 1, 1), date(2025, 3, 15), 1)
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-03"))
    summary = inventory_summary(calculation=calculation)
    assert summary["scope_2_location_kg"] == pytest.approx(124.0)
    assert summary["scope_2_market_kg"] == pytest.approx(64.0)
    market = EmissionRecord.objects.get(calculation=calculation, scope=2).factors["market"]
    assert [(i["id"], i["kwh"]) for i in market["instruments"]] == [("E", pytest.approx(150.0))]
    assert (market["remainder_kwh"], market["remainder_basis"]) == (pytest.approx(160.0), "residual_mix")


@pytest.mark.django_db
def test_every_fallback_is_a_gap_with_its_size(org_a, dataset):
    """Defect 7: each fallback or missing factor is one gap per zone, fuel or gas, with what it leaves out.
    Zone ZG: location 200 g (2025), no residual mix, upstream or T&D factor. Site g metered 1,000 kWh in January;
    an off-site run on the organization's own equipment in ZG, 50 kWh on 10 January (Scope 2 at the grid
    average: it was only a record flag); an own-equipment run of 20 kWh in ZN, a zone with no factor at all.
    Diesel with no combustion factor, 10 + 20 = 30 litres; 2.5 kg of a gas with no GWP, leaked at site g.
      grid average:  1,000 + 50 = 1,050.0 kWh in ZG (it said 1,000.0)
      Cat 3b, 3c:    1,000 + 50 = 1,050.0 kWh of ZG each (no size before)
      no location:   20.0 kWh of ZN (it said only "its electricity")
      fuel, gas:     30.00 litre of diesel-x, 2.50 kg of R-999"""
    from emissions.choices import OffsiteRunsScope
    from emissions.models import FuelUse, RefrigerantLoss

    zg, zn = GridZoneFactory(code="ZG", name="Grid average"), GridZoneFactory(code="ZN", name="No factor")
    _factor(dataset, zg, 200, year=2025)
    site = _site(org_a, zg, "g")
    _reading(site, date(2025, 1, 1), date(2025, 1, 31), 1000)
    org_a.offsite_runs_scope = OffsiteRunsScope.OWN_EQUIPMENT
    org_a.save()
    for zone, kwh, day in ((zg, 50.0, 10), (zn, 20.0, 11)):
        started_at = datetime(2025, 1, day, 8, tzinfo=UTC)
        ended_at = started_at.replace(hour=10)
        RunFactory(organization=org_a, grid_zone=zone, started_at=started_at, ended_at=ended_at, energy_kwh=kwh)
    for day, litres in ((5, 10), (6, 20)):
        used_on = date(2025, 1, day)
        FuelUse.objects.create(
            organization=org_a, site=site, used_on=used_on, fuel="diesel-x", unit="litre", quantity=litres
        )
    leak = {"occurred_on": date(2025, 1, 7), "gas": "R-999", "kg_leaked": 2.5}
    RefrigerantLoss.objects.create(organization=org_a, site=site, **leak)
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-01"))
    assert inventory_summary(calculation=calculation)["scope_2_market_kg"] == pytest.approx((1000 + 50) * 0.2)
    gaps = set(calculation.data_gaps)
    assert {
        "market-based: 1,050.0 kWh not covered by instruments valued at the grid average, in zone(s) ZG "
        "(1,050.0 kWh): no residual mix is loaded (Scope 2 Guidance 6.11)",
        "no upstream (Cat 3b) factor for zone ZG: upstream of 1,050.0 kWh not computed",
        "no T&D loss (Cat 3c) factor for zone ZG: losses on 1,050.0 kWh not computed",
        "no location-based grid factor for zone ZN: 20.0 kWh of electricity not in the ledger",
        "no combustion factor for diesel-x per litre: 30.00 litre not in the ledger",
        "no GWP for gas R-999: 2.50 kg leaked not in the ledger",
    } <= gaps, gaps
    # One line per zone, fuel and gas, however many blocks, runs and uses it touched.
    assert sum("factor for zone ZG" in gap for gap in gaps) == 2


@pytest.mark.django_db
def test_national_certificate_covers_a_subnational_site_and_site_bound_contracts_stay_home(org_a, dataset):
    """Defect 4: a US REC (1 MWh) covers a site in US-VA (the US is one market): 1,000 kWh at 300 g → market 0 kg,
    location 300 kg. A green tariff bound to site s2 (1 MWh, US-VA) is not consumed by s3's kWh, although s3's
    reading comes first: s3 (1,000 kWh in February) pays 300 kg, s2 (1,000 kWh in March) 0 kg."""
    us = GridZoneFactory(code="US", name="United States", country_iso3="USA")
    va = GridZoneFactory(code="US-VA", name="Virginia", country_iso3="USA", parent=us)
    _factor(dataset, va, 300, year=2025)
    s1, s2, s3 = _site(org_a, va, "s1"), _site(org_a, va, "s2"), _site(org_a, va, "s3")
    _reading(s1, date(2025, 1, 1), date(2025, 1, 31), 1000)
    _reading(s3, date(2025, 2, 1), date(2025, 2, 28), 1000)
    _reading(s2, date(2025, 3, 1), date(2025, 3, 31), 1000)
    _certificate(org_a, "US-REC", us, date(2025, 1, 1), date(2025, 1, 31), 1)
    _certificate(org_a, "tariff-s2", va, date(2025, 1, 1), date(2025, 12, 31), 1, site=s2)
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-Q1"))
    market = {r.site.slug: r.emissions_kg_co2e_market for r in EmissionRecord.objects.filter(calculation=calculation,
                                                                                               scope=2)}  # fmt: skip
    assert market == {"s1": pytest.approx(0.0), "s2": pytest.approx(0.0), "s3": pytest.approx(300.0)}


@pytest.mark.django_db
def test_eu_guarantees_of_origin_follow_the_organization_policy(org_a, dataset):
    """Defect 4: a German GO (1 MWh) and a French site (1,000 kWh at 50 g). By default each country is its own
    market: market-based 50 kg. With ``eu_go_single_market`` the GO covers it: 0 kg."""
    de = GridZoneFactory(code="DE", name="Germany", country_iso3="DEU")
    fr = GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    _factor(dataset, fr, 50, year=2025)
    _reading(_site(org_a, fr), date(2025, 1, 1), date(2025, 1, 31), 1000)
    _certificate(org_a, "GO-DE", de, date(2025, 1, 1), date(2025, 12, 31), 1)
    assert _summary(org_a, "2025-01")["scope_2_market_kg"] == pytest.approx(50.0)
    org_a.eu_go_single_market = True
    org_a.save()
    assert _summary(org_a, "2025-01")["scope_2_market_kg"] == pytest.approx(0.0)


@pytest.mark.django_db
def test_a_run_across_a_quarter_end_is_split_by_time_or_by_its_samples(org_a, dataset):
    """Defect 5: an unmetered site run from 31 March 18:00 to 1 April 06:00 (12 h), 12 kWh, PUE 1.0, at 100 g:
    by time 6 kWh in Q1 and 6 kWh in Q2 (0.6 kg each); it was booked whole in Q1. A run with samples of 9 kWh on
    31 March and 3 kWh on 1 April splits 9 / 3 (0.9 kg / 0.3 kg)."""
    zone = GridZoneFactory(code="ZS", name="Split")
    _factor(dataset, zone, 100, year=2025)
    site = _site(org_a, zone)
    start, end = datetime(2025, 3, 31, 18, tzinfo=UTC), datetime(2025, 4, 1, 6, tzinfo=UTC)
    RunFactory(organization=org_a, site=site, started_at=start, ended_at=end, duration_s=12 * 3600, energy_kwh=12.0)
    assert _summary(org_a, "2025-Q1")["energy_kwh"] == pytest.approx(6.0)
    assert _summary(org_a, "2025-Q2")["energy_kwh"] == pytest.approx(6.0)
    sampled = RunFactory(organization=org_a, site=site, started_at=start, ended_at=end, duration_s=12 * 3600,
                         energy_kwh=12.0)  # fmt: skip
    for at, kwh in ((datetime(2025, 3, 31, 23, tzinfo=UTC), 9.0), (datetime(2025, 4, 1, 5, tzinfo=UTC), 3.0)):
        RunSample.objects.create(run=sampled, recorded_at=at, dedupe_key=str(at), energy_kwh=kwh)
    assert _summary(org_a, "2025-Q1")["scope_2_location_kg"] == pytest.approx(0.6 + 0.9)
    assert _summary(org_a, "2025-Q2")["scope_2_location_kg"] == pytest.approx(0.6 + 0.3)


@pytest.mark.django_db
def test_organizations_own_factor_outranks_hourly_data(org_a, dataset):
    """Defect 7: with hourly intensities for every hour of January (all 700 g) and the organization's own
    January factor of 200 g, 1,000 kWh count 200 kg, not 700 kg (own › hourly › monthly › yearly)."""
    from datetime import timedelta

    from emissions.models import HourlyIntensity

    zone = GridZoneFactory(code="ZH", name="Hourly")
    _factor(dataset, zone, 900, year=2025)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    HourlyIntensity.objects.bulk_create(
        [
            HourlyIntensity(
                zone=zone, dataset=dataset, hour_start=first + timedelta(hours=h), intensity_g_per_kwh=700.0
            )
            for h in range(31 * 24)
        ]
    )
    _reading(_site(org_a, zone), date(2025, 1, 1), date(2025, 1, 31), 1000)
    assert _summary(org_a, "2025-01")["scope_2_location_kg"] == pytest.approx(700.0)
    own = FactorDataset.objects.create(organization=org_a, name="own", version="1", title="t", source="supplier",
                                       licence="own")  # fmt: skip
    _factor(own, zone, 200, year=2025, month=1, organization=org_a)
    assert _summary(org_a, "2025-01")["scope_2_location_kg"] == pytest.approx(200.0)


@pytest.mark.django_db
def test_scope_1_records_name_their_site_and_lifecycle_fallback_keeps_metered(org_a, dataset):
    """Defect 7: a fuel record and a refrigerant-loss record carry their site (1.5 kg of HFC-32 at GWP100 771 =
    1,156.5 kg); a metered block priced with a lifecycle factor (no direct one) stays ``metered`` with the
    ``lifecycle_factor`` flag (it became ``provider_reported``)."""
    from emissions.models import FuelFactor, FuelUse, GlobalWarmingPotential, RefrigerantLoss

    zone = GridZoneFactory(code="ZL", name="Lifecycle only")
    _factor(dataset, zone, 250, year=2025, kind=FactorKind.LIFECYCLE)
    site = _site(org_a, zone)
    _reading(site, date(2025, 1, 1), date(2025, 1, 31), 1000)
    fuel = FuelFactor.objects.filter(unit="litre").first()
    if fuel is None:
        fuel = FuelFactor.objects.create(dataset=dataset, fuel="diesel", unit="litre", kg_co2e_per_unit=2.5,
                                         source="hand", licence="CC0")  # fmt: skip
    FuelUse.objects.create(organization=org_a, site=site, used_on=date(2025, 1, 5), fuel=fuel.fuel, unit=fuel.unit,
                           quantity=10)  # fmt: skip
    GlobalWarmingPotential.objects.create(dataset=dataset, gas="HFC-32", gwp100=771, source="hand", licence="CC0")
    leak = {"occurred_on": date(2025, 1, 9), "gas": "HFC-32", "kg_leaked": 1.5}
    RefrigerantLoss.objects.create(organization=org_a, site=site, **leak)
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-01"))
    records = EmissionRecord.objects.filter(calculation=calculation)
    assert {r.site_id for r in records.filter(scope=1)} == {site.pk}
    fugitive = records.get(scope=1, scope3_subcategory="fugitive")
    assert (fugitive.site_id, fugitive.emissions_kg_co2e_location) == (site.pk, pytest.approx(1156.5))
    electricity = records.get(scope=2)
    assert electricity.quality == "metered" and "lifecycle_factor" in electricity.flags


@pytest.mark.django_db
def test_cat_3b_says_when_its_factor_is_of_another_year_or_would_be_negative(org_a, dataset):
    """Defect 7: zone ZU has a direct 300 g (2025) and a lifecycle 250 g (2024) factor: lifecycle − direct < 0, so
    upstream of 1,000 kWh is 0, flagged ``lifecycle_below_direct`` and ``year_mismatch`` and named in the gaps
    (it was silently 0). Zone ZV has an upstream factor of 2024 (40 g): 1,000 kWh → 40 kg, flagged
    ``year_mismatch`` (it carried no flag)."""
    zu, zv = GridZoneFactory(code="ZU", name="U"), GridZoneFactory(code="ZV", name="V")
    _factor(dataset, zu, 300, year=2025)
    _factor(dataset, zu, 250, year=2024, kind=FactorKind.LIFECYCLE)
    _factor(dataset, zv, 100, year=2025)
    _factor(dataset, zv, 40, year=2024, kind=FactorKind.UPSTREAM)
    _reading(_site(org_a, zu, "u"), date(2025, 1, 1), date(2025, 1, 31), 1000)
    _reading(_site(org_a, zv, "v"), date(2025, 1, 1), date(2025, 1, 31), 1000)
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-01"))
    upstream = {r.site.slug: r for r in EmissionRecord.objects.filter(calculation=calculation, scope3_subcategory="3b")}
    assert upstream["u"].emissions_kg_co2e_location == 0.0
    assert {"lifecycle_below_direct", "year_mismatch"} <= set(upstream["u"].flags)
    assert upstream["v"].emissions_kg_co2e_location == pytest.approx(40.0) and "year_mismatch" in upstream["v"].flags
    assert any("lifecycle factor 250 < direct 300" in gap for gap in calculation.data_gaps)


@pytest.mark.django_db
def test_demo_quarters_equal_their_months_and_last_years_figures_survive_this_year(reference):
    """The demo organization (sites, meters, certificates, runs): every 2025 quarter's market-based and
    location-based Scope 2 equal the sum of its months', and the 2025 figures are the same after 2026 is
    calculated."""
    from frontend.demo import demo_organization_seed

    org = demo_organization_seed()
    year_before = _summary(org, "2025")
    for quarter in range(1, 5):
        total = _summary(org, f"2025-Q{quarter}")
        months = [_summary(org, f"2025-{m:02d}") for m in range(3 * quarter - 2, 3 * quarter + 1)]
        for key in ("scope_2_market_kg", "scope_2_location_kg"):
            assert total[key] == pytest.approx(sum(m[key] for m in months), rel=1e-9, abs=1e-9)
    _summary(org, "2026")
    year_after = _summary(org, "2025")
    for key in ("scope_2_market_kg", "scope_2_location_kg", "total_market_kg", "total_location_kg"):
        assert year_after[key] == pytest.approx(year_before[key], rel=1e-12)


@pytest.mark.django_db
def test_certificate_claims_of_an_issued_year_are_recorded_once_and_never_move(org_a, dataset):
    """Persistent allocation. The chained scenario above (300 kWh a month at 400 g; A: 2025, 3 MWh; B: Jul 2025 –
    Jun 2026, 1 MWh): 2025 is issued with A on Jan–Oct and B on Nov–Dec (600 kWh), B keeping 400 kWh for 2026.
    Then November's reading is corrected from 300 to 600 kWh.
    - Replayed (the old rule), B would cover all 600 kWh of November and 300 of December: 100 kWh left for 2026,
      so 2026-Q1 = (200 + 300 + 300) × 0.4 = 320 kg, and 2026 would have changed because 2025's data changed.
    - Recorded: November keeps its issued 300 kWh of B; its other 300 kWh are uncovered: 300 × 0.4 = 120 kg
      (a gap names the changed block); B still has 400 kWh for 2026: 2026-Q1 = (200 + 300) × 0.4 = 200 kg.
    A certificate imported afterwards with a 2025 vintage cannot re-cover an issued month either."""
    from emissions.services.certificates import certificate_uses_record

    zone = GridZoneFactory(code="ZC", name="Chained")
    for year in (2025, 2026):
        _factor(dataset, zone, 400, year=year)
    site = _site(org_a, zone)
    _monthly_readings(site, 2025, range(1, 13), 300)
    _monthly_readings(site, 2026, range(1, 7), 300)
    _certificate(org_a, "A", zone, date(2025, 1, 1), date(2025, 12, 31), 3)
    _certificate(org_a, "B", zone, date(2025, 7, 1), date(2026, 6, 30), 1)
    issued = inventory_calculate(organization=org_a, period=period_parse("2025"))
    # 24 blocks (a reading's months: its runs' blocks and its idle block): 12 idle blocks of 2025 recorded.
    assert certificate_uses_record(calculation=issued) == 12
    assert certificate_uses_record(calculation=issued) == 0  # recorded once
    MeterReading.objects.filter(site=site, period_start=date(2025, 11, 1)).update(energy_kwh=600)
    _certificate(org_a, "LATE", zone, date(2025, 1, 1), date(2025, 12, 31), 1)
    year_2025 = _summary(org_a, "2025")
    assert year_2025["scope_2_location_kg"] == pytest.approx(3900 * 0.4)
    assert year_2025["scope_2_market_kg"] == pytest.approx(120.0)  # November's extra 300 kWh, uncovered
    assert any("changed since issue (+300.0 kWh" in gap for gap in year_2025["data_gaps"])
    assert _summary(org_a, "2026-Q1")["scope_2_market_kg"] == pytest.approx(200.0)


@pytest.mark.django_db
def test_a_runs_hourly_factor_is_the_mean_over_the_hours_it_ran(org_a, dataset):
    """Per-hour factors: hourly intensities for every hour of 5 January 2026 in zone ZH: 100 g/kWh 00:00–11:59,
    500 g/kWh 12:00–23:59 (the day's mean is 300). An off-site run on own equipment from 02:00 to 04:30 (10 kWh)
    ran only in 100 g hours: 10 × 0.1 = 1.0 kg (the day's or the month's mean would give 3.0 kg). A run from 11:30
    to 12:30 (10 kWh): half an hour at 100 and half at 500 → 300 g → 3.0 kg. A run on 6 January has no hourly
    data: the yearly factor (400 g) → 4.0 kg."""
    from emissions.models import HourlyIntensity

    zone = GridZoneFactory(code="ZH", name="Hourly")
    _factor(dataset, zone, 400, year=2026)
    hourly = FactorDataset.objects.create(name="hourly-t", version="1", title="t", source="t", licence="t")
    HourlyIntensity.objects.bulk_create(
        HourlyIntensity(
            dataset=hourly,
            zone=zone,
            hour_start=datetime(2026, 1, 5, h, tzinfo=UTC),
            intensity_g_per_kwh=100.0 if h < 12 else 500.0,
        )
        for h in range(24)
    )
    spans = {
        "early": (datetime(2026, 1, 5, 2, tzinfo=UTC), datetime(2026, 1, 5, 4, 30, tzinfo=UTC)),
        "noon": (datetime(2026, 1, 5, 11, 30, tzinfo=UTC), datetime(2026, 1, 5, 12, 30, tzinfo=UTC)),
        "next-day": (datetime(2026, 1, 6, 2, tzinfo=UTC), datetime(2026, 1, 6, 3, tzinfo=UTC)),
    }
    energy = {"energy_kwh": 10.0, "gpu_energy_kwh": 10.0, "cpu_energy_kwh": 0.0, "ram_energy_kwh": 0.0}
    runs = {
        name: RunFactory(
            organization=org_a,
            external_id=name,
            grid_zone=zone,
            started_at=start,
            ended_at=end,
            duration_s=(end - start).total_seconds(),
            **energy,
        )
        for name, (start, end) in spans.items()
    }
    calculation = inventory_calculate(organization=org_a, period=period_parse("2026-01"))
    kg = {
        name: sum(
            r.emissions_kg_co2e_location
            for r in EmissionRecord.objects.filter(calculation=calculation, run=run, basis="operational")
            if r.energy_kwh
        )
        for name, run in runs.items()
    }
    assert kg == {"early": pytest.approx(1.0), "noon": pytest.approx(3.0), "next-day": pytest.approx(4.0)}
    # A run at an own site (PUE 1.0, no meter, no residual mix) in the same hours: Scope 2 location 1.0 kg, and its
    # market-based figure falls back to the same hourly factor (not the month's): 1.0 kg.
    site = _site(org_a, zone)
    at_site = RunFactory(
        organization=org_a,
        external_id="site",
        site=site,
        started_at=spans["early"][0],
        ended_at=spans["early"][1],
        duration_s=9000.0,
        **energy,
    )
    calculation = inventory_calculate(organization=org_a, period=period_parse("2026-01"))
    scope_2 = EmissionRecord.objects.get(calculation=calculation, run=at_site, scope=2)
    assert scope_2.emissions_kg_co2e_location == pytest.approx(1.0)
    assert scope_2.emissions_kg_co2e_market == pytest.approx(1.0)
    early = EmissionRecord.objects.get(calculation=calculation, run=runs["early"], energy_kwh__isnull=False)
    assert early.factors["location"]["kind"] == "hourly_run"
    assert early.factors["location"]["period"] == "2026-01-05T02:00Z..2026-01-05T04:30Z"
    assert early.factors["location"]["dataset"] == "hourly-t 1"
