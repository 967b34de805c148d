"""The carbon-aware recommendation: hourly data only from enough hours, and the window in the zone's local time;
the daily profile read at local hours (recommendation and hour replay).

Hand-computed values. The daily profile's lowest 4-hour window is local 01:00–05:00: raw weights
0.80 + 0.78 + 0.77 + 0.78 = 3.13, mean 0.7825, normalized × 24 / 23.64 (sum of the raw weights) = 0.794416.
Every project below has one run of 100 kWh and 40 kgCO2e: a baseline of 400 gCO2e/kWh.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from emissions.choices import FactorKind
from emissions.models import FactorDataset, GridFactor, HourlyIntensity
from emissions.periods import period_parse
from reporting.guild.advice import MIN_HOURLY_VALUES_PER_LOCAL_HOUR, whatif_recommendation
from reporting.guild.whatif import whatif_replay
from tests.factories import GridZoneFactory, RunFactory, SiteFactory
from tests.frontend.dashboard_data import calculation_add, record_add

PROFILE_LOW_WINDOW = 0.7825 * 24 / 23.64  # mean weight of local 01:00–05:00


def _project_in(org, *, code: str, annual_g_per_kwh: float, run_day: date):
    """a-project with a site in zone ``code`` (location-based factor ``annual_g_per_kwh`` for 2026) and one run
    there on ``run_day``: 100 kWh, 40 kgCO2e."""
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    zone = GridZoneFactory(code=code, name=code)
    GridFactor.objects.create(
        dataset=dataset,
        zone=zone,
        kind=FactorKind.LOCATION,
        year=2026,
        intensity_g_per_kwh=annual_g_per_kwh,
        source="t",
        licence="t",
    )
    site = SiteFactory(organization=org, slug="dc", zone=zone)
    project = org.projects.get(slug="a-project")
    start = datetime(run_day.year, run_day.month, run_day.day, tzinfo=UTC)
    run = RunFactory(
        organization=org,
        project=project,
        site=site,
        external_id="r",
        started_at=start,
        ended_at=start + timedelta(hours=2),
        duration_s=7200,
    )
    calculation = calculation_add(org, (run_day, run_day))
    record_add(
        calculation,
        start=run_day,
        location=40.0,
        energy_kwh=100.0,
        run=run,
        project=project,
        team=project.team,
        site=site,
    )
    return project


def _hourly_add(code: str, first_hour: datetime, hours: int, intensity) -> None:
    """``hours`` hourly rows of zone ``code`` from ``first_hour`` (UTC), ``intensity(hour_start)`` g/kWh each."""
    dataset = FactorDataset.objects.get(name="t")
    zone = GridZoneFactory(code=code)
    HourlyIntensity.objects.bulk_create(
        HourlyIntensity(dataset=dataset, zone=zone, hour_start=hour, intensity_g_per_kwh=intensity(hour))
        for hour in (first_hour + timedelta(hours=n) for n in range(hours))
    )


def _advice(project, period: str):
    return whatif_recommendation(organization=project.organization, project=project, period=period_parse(period))


def _low_at_utc_12_to_16(hour: datetime) -> float:
    """10 g/kWh from 12:00 to 16:00 UTC, 500 otherwise."""
    return 10.0 if 12 <= hour.hour < 16 else 500.0


def test_one_day_of_hourly_rows_is_not_hourly_data(org_a):
    project = _project_in(org_a, code="DE", annual_g_per_kwh=300.0, run_day=date(2026, 7, 1))
    _hourly_add("DE", datetime(2026, 7, 1, tzinfo=UTC), 24, _low_at_utc_12_to_16)
    advice = _advice(project, "2026-Q3")
    # All 24 hours have a value, but only one each (7 needed): the annual factor × the daily profile,
    # not 10 g/kWh at 12:00–16:00 UTC from a single day. 300 × 0.794416 = 238.32 g/kWh, at local 01:00–05:00.
    assert (
        advice["source"]
        == "annual factor × daily profile; 1.0 days of hourly data, under 7 values for some local hour of day"
    )
    assert advice["intensity_g_per_kwh"] == pytest.approx(300.0 * PROFILE_LOW_WINDOW)
    assert (advice["start_hour_local"], advice["hourly_days"]) == (1, 1.0)
    assert "(annual factor × daily profile; 1.0 days of hourly data" in advice["text"]


@pytest.mark.parametrize("missing_hours", [0, 1])
def test_seven_days_of_every_local_hour_are_hourly_data(org_a, missing_hours):
    project = _project_in(org_a, code="DE", annual_g_per_kwh=300.0, run_day=date(2026, 7, 1))
    # 7 × 24 hours from 1 July 00:00 UTC: each local hour of day (CEST, UTC+2) has exactly 7 values; without the
    # last row local 01:00 (23:00 UTC) has 6, and the profile is used instead: 167 h = 6.96 days, said as 6.9.
    _hourly_add("DE", datetime(2026, 7, 1, tzinfo=UTC), 7 * 24 - missing_hours, _low_at_utc_12_to_16)
    advice = _advice(project, "2026-Q3")
    assert MIN_HOURLY_VALUES_PER_LOCAL_HOUR == 7
    if missing_hours:
        assert advice["source"].startswith("annual factor × daily profile; 6.9 days of hourly data")
        assert advice["intensity_g_per_kwh"] == pytest.approx(300.0 * PROFILE_LOW_WINDOW)
        return
    # 12:00–16:00 UTC is 14:00–18:00 in Berlin in July: 10 g/kWh, −98% against 400.
    assert advice["source"] == "hourly data, 7 days"
    assert advice["intensity_g_per_kwh"] == pytest.approx(10.0)
    assert (advice["start_hour_local"], advice["end_hour_local"]) == (14, 18)
    assert (advice["start_hour"], advice["end_hour"]) == (12, 16)
    assert advice["text"] == (
        "Run in DE between 14:00 and 18:00 Europe/Berlin (12:00–16:00 UTC): −98% vs this project's average of "
        "400 gCO2e/kWh (hourly data, 7 days)"
    )


@pytest.mark.parametrize(
    ("period", "run_day", "utc_hours", "utc_text"),
    [
        # Q3: CEST (UTC+2) all along. Local 01:00–05:00 is 23:00–03:00 UTC; the old UTC profile said 01:00–05:00.
        ("2026-Q3", date(2026, 7, 1), (23, 3), "(23:00–03:00 UTC)"),
        # Q1: CET (UTC+1) on 87 days, CEST from 29 March (3 days): 00:00–04:00 UTC, named as CET.
        ("2026-Q1", date(2026, 2, 1), (0, 4), "(00:00–04:00 UTC in CET)"),
    ],
)
def test_the_daily_profile_is_applied_in_local_time_in_france(org_a, period, run_day, utc_hours, utc_text):
    project = _project_in(org_a, code="FR", annual_g_per_kwh=100.0, run_day=run_day)
    advice = _advice(project, period)
    # 100 × 0.794416 = 79.44 g/kWh: −80% against 400.
    assert (advice["start_hour"], advice["end_hour"]) == utc_hours
    assert advice["intensity_g_per_kwh"] == pytest.approx(100.0 * PROFILE_LOW_WINDOW)
    assert advice["time_zone"] == "Europe/Paris"
    assert (advice["start_hour_local"], advice["end_hour_local"]) == (1, 5)
    assert advice["text"] == (
        f"Run in FR between 01:00 and 05:00 Europe/Paris {utc_text}: −80% vs this project's average of "
        "400 gCO2e/kWh (annual factor × daily profile; no hourly data)"
    )


def test_the_daily_profile_in_virginia_is_shifted_the_other_way(org_a):
    project = _project_in(org_a, code="US-VA", annual_g_per_kwh=100.0, run_day=date(2026, 7, 1))
    advice = _advice(project, "2026")
    # New York time: EDT (UTC−4) on 238 days of 2026 (8 March – 31 October), EST on 127. Local 01:00–05:00 is
    # 05:00–09:00 UTC in EDT (06:00–10:00 in EST); the old UTC profile said 01:00–05:00.
    assert (advice["start_hour"], advice["end_hour"]) == (5, 9)
    assert (advice["time_zone"], advice["start_hour_local"], advice["end_hour_local"]) == ("America/New_York", 1, 5)
    assert "between 01:00 and 05:00 America/New_York (05:00–09:00 UTC in EDT): −80%" in advice["text"]


def test_hourly_data_is_averaged_by_local_hour_across_the_dst_change(org_a):
    project = _project_in(org_a, code="US-VA", annual_g_per_kwh=300.0, run_day=date(2026, 3, 10))
    new_york = ZoneInfo("America/New_York")
    # 1–14 March 2026 (clocks go forward on the 8th): 10 g/kWh at local 02:00–06:00 every day, else 500. By UTC
    # hour the low sits at 07:00–11:00 for a week, then at 06:00–10:00, and a UTC average smears it:
    # 06:00–10:00 UTC = (255 + 10 + 10 + 10) / 4 = 71.25. By local hour it is 10 exactly (every local hour has
    # 13 or 14 values; 02:00 does not exist on the 8th).
    _hourly_add(
        "US-VA",
        datetime(2026, 3, 1, tzinfo=UTC),
        14 * 24,
        lambda hour: 10.0 if 2 <= hour.astimezone(new_york).hour < 6 else 500.0,
    )
    advice = _advice(project, "2026-03")
    assert advice["intensity_g_per_kwh"] == pytest.approx(10.0)
    assert (advice["start_local"], advice["end_local"]) == ("02:00", "06:00")
    # EDT on 24 of March's 31 days: 06:00–10:00 UTC.
    assert (advice["start_hour"], advice["end_hour"]) == (6, 10)
    assert advice["source"] == "hourly data, 14 days"
    assert "between 02:00 and 06:00 America/New_York (06:00–10:00 UTC in EDT)" in advice["text"]


def test_a_zone_off_whole_hours_keeps_utc_hours_whole(org_a):
    project = _project_in(org_a, code="IN", annual_g_per_kwh=100.0, run_day=date(2026, 7, 1))
    advice = _advice(project, "2026-Q3")
    # India is UTC+5:30: UTC hours start at :30 local, so the profile's slots do too. Slot 1 is 01:30–05:30
    # IST = 20:00–00:00 UTC.
    assert (advice["start_hour"], advice["end_hour"]) == (20, 0)
    assert (advice["start_local"], advice["end_local"]) == ("01:30", "05:30")
    assert "between 01:30 and 05:30 Asia/Kolkata (20:00–00:00 UTC)" in advice["text"]


def test_a_zone_without_a_time_zone_on_file_says_utc(org_a):
    project = _project_in(org_a, code="XX-TEST", annual_g_per_kwh=100.0, run_day=date(2026, 7, 1))
    advice = _advice(project, "2026-Q3")
    # The profile stays at UTC hours, and the text says why.
    assert "between 01:00 and 05:00 UTC (no local time zone on file for XX-TEST)" in advice["text"]
    assert (advice["start_hour"], advice["start_hour_local"], advice["time_zone"]) == (1, 1, "UTC")


def test_the_hour_replay_reads_the_daily_profile_at_local_hours(org_a):
    project = _project_in(org_a, code="DE", annual_g_per_kwh=300.0, run_day=date(2026, 7, 1))
    result = whatif_replay(
        organization=org_a, project=project, period=period_parse("2026-Q3"), scenario="hour", options={"shift_h": "16"}
    )
    # The run's 00:00–02:00 UTC is 02:00–04:00 in Berlin (raw weights 0.78, 0.77); 16 h later, 18:00–20:00
    # (1.24, 1.20): 40 kg × 2.44 / 1.55 = 62.97 kg. Read at UTC hours it was 40 × (1.12 + 1.20) / (0.85 + 0.80).
    assert result.runs[0].replay_kg_co2e == pytest.approx(40.0 * 2.44 / 1.55)
    assert any("at the zone's local time" in line for line in result.assumptions)


def test_another_organizations_own_hourly_intensity_never_moves_the_advice(org_a, org_b):
    """Org B's own dataset holds a week of DE hours low at 02:00–06:00 UTC; org A sees only the shipped week
    (low at 12:00–16:00 UTC), so its window stays 14:00–18:00 Berlin at 10 g/kWh."""
    project = _project_in(org_a, code="DE", annual_g_per_kwh=300.0, run_day=date(2026, 7, 1))
    _hourly_add("DE", datetime(2026, 7, 1, tzinfo=UTC), 7 * 24, _low_at_utc_12_to_16)
    own = FactorDataset.objects.create(name="own", version="1", title="t", source="t", licence="t", organization=org_b)
    zone = GridZoneFactory(code="DE")
    HourlyIntensity.objects.bulk_create(
        HourlyIntensity(
            dataset=own, zone=zone, hour_start=hour, intensity_g_per_kwh=1.0 if 2 <= hour.hour < 6 else 900.0
        )
        for hour in (datetime(2026, 7, 1, tzinfo=UTC) + timedelta(hours=n) for n in range(7 * 24))
    )
    advice = _advice(project, "2026-Q3")
    assert (advice["start_hour"], advice["intensity_g_per_kwh"]) == (12, pytest.approx(10.0))
