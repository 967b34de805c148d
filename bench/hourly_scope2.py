"""Benchmark of the hourly-matched Scope 2 for a year of 8,760 hours × 50 sites on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gg_bench_hourly .venv/bin/python bench/hourly_scope2.py

Drops and recreates that database (its name must start with ``gg_bench``), migrates, and COPYs one
organization with 50 sites in 5 grid zones (10 per market boundary): every site's hourly meter readings
for 2026 (438,000 rows), each zone's hourly intensity with its carbon-free share (43,800 rows) and
solar-shaped granular certificates for each zone's daylight hours (21,900 rows); yearly location and
residual factors. Then times ``organization_hourly_scope2`` for the year (reads, matching and the per-site
split) and, apart, the pure matching (``hourly_match``) of one boundary, and prints median and max in ms.
Options: BENCH_ITERATIONS (default 5), BENCH_REUSE=1 (time an already loaded database again).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ITERATIONS = int(os.environ.get("BENCH_ITERATIONS", "5"))
ZONES = ["DE", "FR", "NL", "SE", "PL"]
SITES_PER_ZONE = 10
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
HOURS = 8760


def _database_fresh(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path[1:]
    if not name.startswith("gg_bench"):
        sys.exit("the benchmark drops its database: use a name starting with gg_bench")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _copy(model, columns: list[str], rows) -> int:
    from django.db import connection

    count = 0
    table = model._meta.db_table
    with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _load() -> int:
    """The organization, its sites and a year of hourly data; returns the rows copied."""
    from emissions.choices import FactorKind
    from emissions.models import (
        FactorDataset,
        GranularCertificate,
        GridFactor,
        GridZone,
        HourlyIntensity,
        HourlyMeterReading,
        Organization,
        Site,
    )

    org = Organization.objects.create(name="Bench Hourly", slug="bench-hourly")
    dataset = FactorDataset.objects.create(name="bench", version="1", title="bench", source="bench", licence="bench")
    zones = {code: GridZone.objects.create(code=code, name=code, country_iso3=code + "X") for code in ZONES}
    for zone in zones.values():
        for kind, value in ((FactorKind.LOCATION, 300.0), (FactorKind.RESIDUAL_MIX, 450.0)):
            GridFactor.objects.create(
                dataset=dataset,
                zone=zone,
                kind=kind,
                year=2026,
                intensity_g_per_kwh=value,
                source="bench",
                licence="bench",
            )
    sites = [
        Site.objects.create(
            organization=org, name=f"Site {code} {n}", slug=f"site-{code.lower()}-{n}", zone=zone, ownership="owned"
        )
        for code, zone in zones.items()
        for n in range(SITES_PER_ZONE)
    ]
    hours = [YEAR_START + timedelta(hours=h) for h in range(HOURS)]
    copied = _copy(
        HourlyMeterReading,
        ["site_id", "hour_start", "energy_kwh"],
        ((site.pk, hour, 40.0 + 10.0 * math.sin(hour.hour / 24 * 2 * math.pi)) for site in sites for hour in hours),
    )
    copied += _copy(
        HourlyIntensity,
        ["dataset_id", "zone_id", "hour_start", "intensity_g_per_kwh", "carbon_free_share_pct"],
        (
            (dataset.pk, zone.pk, hour, 250.0 + 100.0 * math.cos(hour.hour / 24 * 2 * math.pi), 40.0)
            for zone in zones.values()
            for hour in hours
        ),
    )
    copied += _copy(
        GranularCertificate,
        [
            "organization_id",
            "certificate_id",
            "zone_id",
            "hour_start",
            "energy_kwh",
            "emission_factor_g_per_kwh",
            "carbon_free",
            "energy_source",
        ],
        (
            (
                org.pk,
                f"pv-{code}-{hour:%Y%m%d%H}",
                zone.pk,
                hour,
                600.0 * math.sin((hour.hour - 6) / 12 * math.pi),
                0.0,
                True,
                "solar",
            )
            for code, zone in zones.items()
            for hour in hours
            if 6 < hour.hour < 18
        ),
    )
    return copied


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL=postgres://…/gg_bench_hourly")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")
    reuse = os.environ.get("BENCH_REUSE") == "1"
    if not reuse:
        _database_fresh(database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from emissions.models import Organization
    from emissions.periods import Period
    from emissions.services.hourly_scope2 import organization_hourly_scope2

    call_command("migrate", verbosity=0)
    if not reuse:
        started = time.perf_counter()
        copied = _load()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"loaded {copied:,} rows in {time.perf_counter() - started:.1f} s")
    org = Organization.objects.get(slug="bench-hourly")
    year = Period(label="2026", start=date(2026, 1, 1), end=date(2026, 12, 31))
    timings, result = [], None
    for _ in range(ITERATIONS + 1):  # the first run warms the caches and is not counted
        started = time.perf_counter()
        result = organization_hourly_scope2(organization=org, period=year)
        timings.append((time.perf_counter() - started) * 1000)
    timings = timings[1:]
    hours = sum(len(site.boundary.hours) for site in result.sites)
    print(
        f"sites {len(result.sites)}, site-hours {hours:,}, load {result.total('load_kwh') / 1000:,.1f} MWh, "
        f"matched {result.total('matched_kwh') / 1000:,.1f} MWh, hourly market "
        f"{result.total('market_kg_co2e') / 1000:,.1f} t, CFE {100 * (result.cfe_score or 0):.1f} %"
    )
    print(
        f"organization_hourly_scope2, a year × 50 sites, {ITERATIONS} runs: median "
        f"{statistics.median(timings):,.0f} ms, max {max(timings):,.0f} ms"
    )


if __name__ == "__main__":
    main()
