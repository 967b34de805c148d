"""The demo's hourly Scope 2 data (issue 21): Frankfurt's meter read hour by hour for 2026-Q3, hourly
certificates of a solar PPA in its grid zone, and an hourly grid intensity of zone DE for the quarter with
its residual mix and carbon-free share (the organization's own dataset, labelled synthetic).

Everything is drawn from its own random stream and written through the import services, so the rest of the
demo is unchanged. The hourly readings add up, month by month, to the monthly readings the inventory books,
so the hourly and the 2015 figures rest on the same kWh.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from emissions.hourly_records import GranularCertificateRecord, GridIntensityHourlyRecord, HourlyMeterReadingRecord
from emissions.models import Organization, Site
from emissions.records import MeterReadingRecord, UpsertOutcome
from emissions.services.inventory import (
    granular_certificate_upsert_many,
    hourly_intensity_upsert_many,
    hourly_meter_reading_upsert_many,
)
from frontend.demo_data import SEED

HOURLY_QUARTER = (date(2026, 7, 1), date(2026, 9, 30))
# The PPA's solar park delivers about this share of Frankfurt's quarter, all of it in daylight hours.
SOLAR_SHARE_OF_LOAD = 0.35
# First and last UTC hour of solar output per month in Germany (CEST is UTC+2; days shorten into September).
DAYLIGHT_UTC = {7: (4, 19), 8: (5, 18), 9: (5, 17)}
HOUR = timedelta(hours=1)


def demo_hourly_seed(
    *, organization: Organization, site: Site, readings: Sequence[MeterReadingRecord]
) -> list[tuple[UpsertOutcome, str, int]]:
    """Write the zone's hourly grid, the site's hourly meter data and the PPA's certificates for
    ``HOURLY_QUARTER``; returns each service's outcome with what it stored and how many records it was given
    (the demo checks them)."""
    rng = random.Random(SEED + 21)
    first, last = HOURLY_QUARTER
    months = [r for r in readings if r.site == site.slug and first <= r.period_start and r.period_end <= last]
    hourly: list[HourlyMeterReadingRecord] = []
    for reading in months:
        hourly.extend(_month_hours(rng, site.slug, reading))
    load_kwh = sum(record.energy_kwh for record in hourly)
    bought = _solar_certificates(rng, site, total_kwh=SOLAR_SHARE_OF_LOAD * load_kwh)
    grid = _grid_hours(rng, site.zone.code)
    return [
        (hourly_intensity_upsert_many(organization=organization, records=grid), "hourly intensities", len(grid)),
        (hourly_meter_reading_upsert_many(organization=organization, records=hourly), "hourly readings", len(hourly)),
        (granular_certificate_upsert_many(organization=organization, records=bought), "certificates", len(bought)),
    ]


def _month_hours(rng: random.Random, slug: str, reading: MeterReadingRecord) -> list[HourlyMeterReadingRecord]:
    """The month's metered kWh over its hours: a machine-room base with an afternoon peak (cooling, daytime
    jobs) and noise, scaled so the hours add up to the reading (to the Wh; the last hour takes the rounding)."""
    start = datetime(reading.period_start.year, reading.period_start.month, 1, tzinfo=UTC)
    hours = (reading.period_end - reading.period_start).days * 24 + 24
    shape = [
        1.0 + 0.12 * math.sin(2 * math.pi * ((start + i * HOUR).hour - 9) / 24) + rng.uniform(-0.04, 0.04)
        for i in range(hours)
    ]
    scale = reading.energy_kwh / sum(shape)
    values = [round(weight * scale, 3) for weight in shape]
    values[-1] = round(reading.energy_kwh - sum(values[:-1]), 3)
    return [HourlyMeterReadingRecord(slug, start + i * HOUR, kwh) for i, kwh in enumerate(values)]


def _grid_hours(rng: random.Random, zone: str) -> list[GridIntensityHourlyRecord]:
    """A synthetic summer grid for every hour of the quarter, shaped like Germany's: solar lowers the
    intensity and raises the carbon-free share around 11:00 UTC; windy days lower both; the residual mix (what
    is left once certificates are claimed) is the intensity × 1.6, capped at lignite's ~1,100 g."""
    first, last = HOURLY_QUARTER
    at, end = (
        datetime(first.year, first.month, first.day, tzinfo=UTC),
        datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1),
    )
    records, wind = [], 0.0
    while at < end:
        if at.hour == 0:
            wind = rng.uniform(0.0, 0.35)  # a day's wind share
        sun = max(0.0, math.sin(math.pi * (at.hour + 0.5 - 4) / 15))
        cfe_pct = min(95.0, 100 * (0.33 + wind + 0.35 * sun))
        intensity = round(700 * (1 - cfe_pct / 100) + rng.uniform(-15, 15), 1)
        records.append(
            GridIntensityHourlyRecord(zone, at, intensity, min(1100.0, round(1.6 * intensity, 1)), round(cfe_pct, 1))
        )
        at += HOUR
    return records


def _solar_certificates(rng: random.Random, site: Site, *, total_kwh: float) -> list[GranularCertificateRecord]:
    """One certificate per daylight hour of the quarter: a sine over the month's daylight hours times a
    day's cloudiness, scaled to ``total_kwh``; ids name the hour, so re-seeding replaces, never adds."""
    first, last = HOURLY_QUARTER
    weights: list[tuple[datetime, float]] = []
    day = first
    while day <= last:
        sunrise, sunset = DAYLIGHT_UTC[day.month]
        clear_sky = rng.uniform(0.35, 1.0)
        for hour in range(sunrise, sunset + 1):
            weight = math.sin(math.pi * (hour + 0.5 - sunrise) / (sunset + 1 - sunrise)) * clear_sky
            weights.append((datetime(day.year, day.month, day.day, hour, tzinfo=UTC), weight))
        day += timedelta(days=1)
    scale = total_kwh / sum(weight for _, weight in weights)
    return [
        GranularCertificateRecord(
            certificate_id=f"PPA-DE-SOLAR-{at:%Y%m%d%H}",
            zone_code=site.zone.code,
            hour_start=at,
            energy_kwh=round(weight * scale, 3),
            energy_source="solar",
            emission_factor_g_per_kwh=0.0,
            carbon_free=True,
            site=site.slug,
        )
        for at, weight in weights
    ]
