"""The hourly-matched Scope 2 of an organization's sites, read from the database and computed by hand."""

from datetime import UTC, date, datetime, timedelta

import pytest

from emissions.choices import FactorKind, InstrumentKind
from emissions.models import (
    EnergyInstrument,
    FactorDataset,
    GranularCertificate,
    GridEnergyMix,
    GridFactor,
    HourlyIntensity,
    HourlyMeterReading,
    MeterReading,
)
from emissions.periods import Period
from emissions.services.hourly_scope2 import organization_hourly_scope2
from tests.factories import GridZoneFactory, SiteFactory

DAY = datetime(2026, 6, 1, tzinfo=UTC)
JUNE_1 = Period(label="2026-06-01", start=date(2026, 6, 1), end=date(2026, 6, 1))


@pytest.fixture
def grid(db):
    """DE 2026: location 300 g, residual mix 400 g, half the generation carbon-free (fossil 50 %)."""
    de = GridZoneFactory(code="DE")
    GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    dataset = FactorDataset.objects.create(name="grid", version="1", title="t", source="t", licence="t")
    for kind, value in [(FactorKind.LOCATION, 300.0), (FactorKind.RESIDUAL_MIX, 400.0)]:
        GridFactor.objects.create(
            dataset=dataset, zone=de, kind=kind, year=2026, intensity_g_per_kwh=value, source="t", licence="t"
        )
    GridEnergyMix.objects.create(
        dataset=dataset,
        zone=de,
        year=2026,
        fossil_share_pct=50,
        nuclear_share_pct=10,
        renewable_share_pct=40,
        source="t",
        licence="t",
    )
    return dataset


def _flat_day(site, kwh: float = 10.0):
    for h in range(24):
        HourlyMeterReading.objects.create(site=site, hour_start=DAY + timedelta(hours=h), energy_kwh=kwh)


def _solar(org, zone: str = "DE", prefix: str = "pv"):
    from emissions.models import GridZone

    for h in range(6, 18):
        GranularCertificate.objects.create(
            organization=org,
            certificate_id=f"{prefix}-{h}",
            zone=GridZone.objects.get(code=zone),
            hour_start=DAY + timedelta(hours=h),
            energy_kwh=20.0,
            energy_source="solar",
        )


@pytest.mark.django_db
def test_one_site_flat_load_and_solar_certificates(org_a, grid):
    lab = SiteFactory(organization=org_a, slug="lab")
    _flat_day(lab)
    _solar(org_a)
    _solar(org_a, zone="FR", prefix="fr")  # another market boundary: never matched
    result = organization_hourly_scope2(organization=org_a, period=JUNE_1)
    [site] = result.sites
    assert site.load_kwh == 240 and site.matched_kwh == 120
    assert site.market_kg_co2e == pytest.approx(48.0)  # the night's 120 kWh at the 400 g residual mix
    assert site.location_kg_co2e == pytest.approx(72.0)
    assert site.cfe_score == pytest.approx(0.75)  # 120 matched + 0.5 × 120 kWh of grid, of 240
    assert site.hours_without_hourly_factor == 24 and site.hours_without_hourly_cfe == 24  # yearly factors only


@pytest.mark.django_db
def test_two_sites_of_one_boundary_share_the_certificates_once(org_a, grid):
    a, b = SiteFactory(organization=org_a, slug="a"), SiteFactory(organization=org_a, slug="b")
    _flat_day(a)
    _flat_day(b)
    _solar(org_a)
    result = organization_hourly_scope2(organization=org_a, period=JUNE_1)
    assert result.total("matched_kwh") == pytest.approx(240.0)  # the certificates' 240 kWh, claimed once
    assert result.boundaries["DE"].surplus_kwh == 0
    assert result.total("market_kg_co2e") == pytest.approx(2 * 120 * 0.4)  # both sites' nights at the residual mix
    assert [s.market_kg_co2e for s in result.sites] == [pytest.approx(48.0), pytest.approx(48.0)]


@pytest.mark.django_db
def test_hourly_factors_and_a_profiled_month(org_a, grid):
    lab = SiteFactory(organization=org_a, slug="lab")
    # No hourly meter data in June: June's 720 kWh reading spread flat, 1 kWh an hour, flagged as profiled.
    MeterReading.objects.create(site=lab, period_start=date(2026, 6, 1), period_end=date(2026, 6, 30), energy_kwh=720)
    for h in range(24):  # an hourly location factor and CFE share for June 1: 100 g at night, 50 g by day
        day = 6 <= h < 18
        HourlyIntensity.objects.create(
            dataset=grid,
            zone=lab.zone,
            hour_start=DAY + timedelta(hours=h),
            intensity_g_per_kwh=50.0 if day else 100.0,
            carbon_free_share_pct=80 if day else 20,
        )
    EnergyInstrument.objects.create(
        organization=org_a,
        instrument_id="go-2026",
        kind=InstrumentKind.GO,
        zone=lab.zone,
        vintage_start=date(2026, 1, 1),
        vintage_end=date(2026, 12, 31),
        energy_mwh=5,
    )
    result = organization_hourly_scope2(organization=org_a, period=JUNE_1)
    [site] = result.sites
    assert site.profiled_hours == 24 and site.load_kwh == pytest.approx(24.0)
    assert site.location_kg_co2e == pytest.approx((12 * 50 + 12 * 100) / 1000)  # the hours' own factors
    assert site.market_kg_co2e == pytest.approx(24 * 0.4)  # no granular certificate: all at residual
    assert site.cfe_score == pytest.approx((12 * 0.8 + 12 * 0.2) / 24)
    assert site.hours_without_hourly_factor == 0
    assert result.annual_instruments_kwh == 5000  # an annual GO never covers an hour


@pytest.mark.django_db
def test_the_hourly_page_shows_both_market_figures_and_the_heatmap(client, org_a, grid, django_user_model):
    from emissions.choices import Role
    from emissions.models import Membership
    from reporting.selectors.scope2_hourly import scope2_hourly_dashboard

    lab = SiteFactory(organization=org_a, slug="lab", name="Lab")
    _flat_day(lab)
    _solar(org_a)
    data = scope2_hourly_dashboard(organization=org_a, period=JUNE_1)
    [row] = data.facts["sites"]
    assert (row["hourly_market_kg_co2e"], row["cfe_pct"]) == (pytest.approx(48.0), pytest.approx(75.0))
    assert row["inventory_market_kg_co2e"] == 0  # no calculation of the day yet: the ledger has none
    heatmap = data.charts["cfe_heatmap"].set_index("hour_utc")["cfe_pct"]
    assert (heatmap[2], heatmap[12]) == (pytest.approx(50.0), pytest.approx(100.0))  # night: the grid's half
    user = django_user_model.objects.create_user("hourly", password="x")
    Membership.objects.create(organization=org_a, user=user, role=Role.VIEWER)
    client.force_login(user)
    page = client.get("/scope2-hourly/", {"period": "2026-06"}).content.decode()
    assert 'data-kpi="hourly-market">48.0 kg CO2e<' in page and 'data-kpi="cfe">75.0 %<' in page
    assert "cfe_heatmap" in page or "24/7 carbon-free share" in page


@pytest.mark.django_db
def test_a_zone_without_any_carbon_free_share_has_no_24_7_score(org_a, grid):
    from emissions.models import GridZone

    fr = GridZone.objects.get(code="FR")
    GridFactor.objects.create(
        dataset=grid, zone=fr, kind=FactorKind.LOCATION, year=2026, intensity_g_per_kwh=60.0, source="t", licence="t"
    )
    _flat_day(SiteFactory(organization=org_a, slug="paris", zone=fr))
    result = organization_hourly_scope2(organization=org_a, period=JUNE_1)
    [site] = result.sites
    assert site.hours_without_cfe_data == 24 and site.cfe_score is None and result.cfe_score is None
    assert site.market_kg_co2e == pytest.approx(240 * 0.060)  # no residual mix: the location factor, flagged


def test_the_heatmap_reads_months_as_categories():
    import pandas as pd

    from frontend.figures import heatmap_figure

    frame = pd.DataFrame({"month": ["2026-07", "2026-08"], "hour_utc": [0, 0], "cfe_pct": [40.0, 60.0]})
    figure = heatmap_figure(frame, x="hour_utc", y="month", z="cfe_pct", title="t", unit="%")
    assert figure.layout.yaxis.type == "category" and list(figure.data[0].y) == ["2026-07", "2026-08"]


def test_spread_over_hours_shapes_by_intervals_and_scales_to_the_total():
    from emissions.hourly_scope2 import spread_over_hours

    at = DAY + timedelta(hours=10, minutes=30)
    flat = spread_over_hours([(at, at + timedelta(hours=2), 1.0)], scale_to_kwh=2.5)
    assert flat == {DAY + timedelta(hours=10): 0.625, DAY + timedelta(hours=11): 1.25, DAY + timedelta(hours=12): 0.625}
    # Two samples (0.5 kWh then 1.5 kWh, an hour each): 0.25 / 0.25 + 0.75 / 0.75 kWh of 2.0, scaled to 2.5.
    shaped = spread_over_hours(
        [(at, at + timedelta(hours=1), 0.5), (at + timedelta(hours=1), at + timedelta(hours=2), 1.5)],
        scale_to_kwh=2.5,
    )
    assert [shaped[DAY + timedelta(hours=h)] for h in (10, 11, 12)] == [
        pytest.approx(0.3125),
        pytest.approx(1.25),
        pytest.approx(0.9375),
    ]
    assert spread_over_hours([], scale_to_kwh=1.0) == {}


@pytest.mark.django_db
def test_a_month_without_meter_data_takes_its_tracker_runs_hour_by_hour(org_a, grid):
    """An unmetered site (PUE 1.25): a 2 kWh IT run 10:30–12:30 UTC on June 1 with two samples (0.5 and 1.5
    kWh) is 2.5 kWh facility, 0.3125 / 1.25 / 0.9375 kWh in hours 10–12, at the 400 g residual mix = 1.0 kg.
    Once June has a meter reading, the reading is the month's load and the run is not added to it."""
    from emissions.models import RunSample
    from tests.factories import RunFactory

    lab = SiteFactory(organization=org_a, slug="lab", pue=1.25)
    at = DAY + timedelta(hours=10, minutes=30)
    run = RunFactory(
        organization=org_a, site=lab, started_at=at, ended_at=at + timedelta(hours=2), duration_s=7200, energy_kwh=2.0
    )
    for index, kwh in enumerate((0.5, 1.5)):
        RunSample.objects.create(
            run=run,
            recorded_at=at + timedelta(hours=index + 1),
            dedupe_key=f"s{index}",
            duration_s=3600,
            energy_kwh=kwh,
        )
    result = organization_hourly_scope2(organization=org_a, period=JUNE_1)
    [site] = result.sites
    assert site.load_kwh == pytest.approx(2.5) and site.tracker_hours == 3 and site.profiled_hours == 0
    assert site.market_kg_co2e == pytest.approx(2.5 * 0.4)
    cells = {hour: cell for (month, hour), cell in site.cells.items()}
    assert [cells[h][1] for h in (10, 11, 12)] == [pytest.approx(0.3125), pytest.approx(1.25), pytest.approx(0.9375)]
    MeterReading.objects.create(site=lab, period_start=date(2026, 6, 1), period_end=date(2026, 6, 30), energy_kwh=720)
    [metered] = organization_hourly_scope2(organization=org_a, period=JUNE_1).sites
    assert metered.tracker_hours == 0 and metered.load_kwh == pytest.approx(24.0)  # the reading, flat: 1 kWh/h


@pytest.mark.django_db
def test_tracker_runs_summed_in_postgresql_equal_the_python_spread(org_a, grid):
    """Runs of every shape: several hours, inside one hour, of no length, still open (duration only), with a
    tracker PUE, and crossing the period's start and end; the database's sums equal Python's hour by hour."""
    from django.db import connection

    from emissions.services.hourly_tracker_load import tracker_loads
    from tests.factories import RunFactory

    if connection.vendor != "postgresql":
        pytest.skip("the SQL path runs on PostgreSQL only")
    lab = SiteFactory(organization=org_a, slug="lab", pue=1.3)
    shapes = [
        (DAY + timedelta(hours=1, minutes=20), timedelta(hours=3, minutes=10), None),
        (DAY + timedelta(hours=7, minutes=5), timedelta(minutes=20), None),
        (DAY + timedelta(hours=9), timedelta(0), None),
        (DAY + timedelta(hours=11, minutes=30), None, None),
        (DAY + timedelta(hours=13), timedelta(hours=2), 1.5),
        (DAY - timedelta(hours=2), timedelta(hours=4), None),
        (DAY + timedelta(hours=22), timedelta(hours=5), None),
    ]
    for index, (started_at, length, tracker_pue) in enumerate(shapes):
        RunFactory(
            organization=org_a,
            site=lab,
            external_id=f"r{index}",
            started_at=started_at,
            ended_at=None if length is None else started_at + length,
            duration_s=5400 if length is None else length.total_seconds(),
            energy_kwh=1.0 + index,
            tracker_pue=tracker_pue,
        )
    start, end = DAY, DAY + timedelta(days=1)
    in_sql = tracker_loads([lab], start, end, in_database=True)[lab.pk]
    in_python = tracker_loads([lab], start, end, in_database=False)[lab.pk]
    assert in_sql.keys() == in_python.keys()
    for hour, kwh in in_python.items():
        assert in_sql[hour] == pytest.approx(kwh), hour
    # By hand: the run of no length puts its 3 kWh × 1.3 in 09:00; the PUE 1.5 run is 5 / 1.5 × 1.3 over 2 h.
    assert in_python[DAY + timedelta(hours=9)] == pytest.approx(3 * 1.3)
    assert in_python[DAY + timedelta(hours=13)] == pytest.approx(5 / 1.5 * 1.3 / 2)
    assert sum(in_python.values()) == pytest.approx(
        1.3 * (1 + 2 + 3 + 4 + 5 / 1.5 + 6 * 2 / 4 + 7 * 2 / 5)  # the period keeps 2 of 4 h and 2 of 5 h
    )
