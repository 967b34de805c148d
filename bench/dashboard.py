"""Benchmark of the overview, team and project pages on PostgreSQL with 5,000,000 ledger rows for one organization.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gg_bench_dashboard .venv/bin/python bench/dashboard.py

Drops and recreates that database (its name must start with ``gg_bench`` or ``greenguild_bench``),
migrates, COPYs a synthetic organization (10 teams, 60 projects, 5 sites, 1,250,000 runs over
2025–2026, each with a Scope 2, two Cat 3 and one amortized embodied line: 5,000,000 EmissionRecords
in 8 quarterly Calculations), rebuilds the rollups (daily and per run), then times server-side (Django
test client, after a warm-up) the overview view for several filter sets, and the team and project pages
of the team and the project with the most runs, and prints median and p95 in ms.
Options: BENCH_RECORDS (default 5,000,000), BENCH_ITERATIONS (default 50), BENCH_REUSE=1 (time the
already loaded database again, skipping the load; it migrates first, and rebuilds the rollups when the
per-run rollup is empty, e.g. a database loaded before it existed). Not part of the test run.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RECORDS = int(os.environ.get("BENCH_RECORDS", "5000000"))
ITERATIONS = int(os.environ.get("BENCH_ITERATIONS", "50"))
LINES_PER_RUN = 4
FIRST_DAY, DAYS = date(2025, 1, 1), 730
TEAMS, PROJECTS_PER_TEAM, SITES = 10, 6, 5


def _database_fresh(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path[1:]
    if not name.startswith(("gg_bench", "greenguild_bench")):
        sys.exit("the benchmark drops its database: use a name starting with gg_bench")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _copy(model, columns: list[str], rows) -> int:
    """COPY ``rows`` (tuples in ``columns`` order) into ``model``'s table; returns the row count."""
    from django.db import connection

    table = model._meta.db_table
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _structure():
    from django.contrib.auth import get_user_model

    from emissions.choices import Role, SiteOwnership
    from emissions.models import GridZone, Membership, Organization, Project, Site, Team
    from reporting.models import CarbonBudget

    zone = GridZone.objects.create(code="DE", name="Germany", country_iso3="DEU")
    org = Organization.objects.create(name="Bench AI", slug="bench")
    teams = [Team.objects.create(organization=org, name=f"Team {t}", slug=f"team-{t}") for t in range(TEAMS)]
    projects = [
        Project.objects.create(organization=org, team=team, name=f"Project {t}.{p}", slug=f"project-{t}-{p}")
        for t, team in enumerate(teams)
        for p in range(PROJECTS_PER_TEAM)
    ]
    sites = [
        Site.objects.create(
            organization=org,
            name=f"Site {s}",
            slug=f"site-{s}",
            ownership=SiteOwnership.OWNED,
            zone=zone,
            pue=1.2 + 0.05 * s,
            wue_l_per_kwh=1.0 + 0.2 * s,
        )
        for s in range(SITES)
    ]
    for team in teams:
        for quarter in range(8):
            start = date(2025 + quarter // 4, 3 * (quarter % 4) + 1, 1)
            end = (date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)) - timedelta(days=1)
            CarbonBudget.objects.create(organization=org, team=team, period_start=start, period_end=end,
                                        budget_kg_co2e=50_000.0)  # fmt: skip
    user = get_user_model().objects.create_user("bench", password="bench-password")  # noqa: S106 - a throwaway bench database
    Membership.objects.create(user=user, organization=org, role=Role.GUILD_MEMBER)
    return org, projects, sites, user


def _load(org, projects, sites) -> dict:
    """COPY the runs, the 8 quarterly Calculations and their EmissionRecords; returns counts and seconds."""
    from django.db import connection

    from emissions.models import Calculation, EmissionRecord, Run

    rng = random.Random(20261123)  # noqa: S311 - synthetic data, not security
    runs = RECORDS // LINES_PER_RUN
    started = time.perf_counter()
    now = datetime.now(UTC)
    run_columns = [
        "organization_id", "project_id", "source", "external_id", "kind", "started_at", "ended_at", "duration_s",
        "cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh", "energy_kwh", "cpu_model", "cpu_count", "gpu_model",
        "gpu_count", "gpu_utilization_pct", "site_id", "country_iso3", "tracker_name", "tracker_version", "user_name",
        "tags", "efficiency_techniques", "flags", "created_at", "updated_at", "component_quality", "location_source",
        "tracker_region",
    ]  # fmt: skip
    home_site = {project.pk: sites[i % len(sites)].pk for i, project in enumerate(projects)}
    plan = []  # (run index, day, project id, site id, kWh, gpu count, duration s)

    def run_rows():
        for i in range(runs):
            project = projects[rng.randrange(len(projects))]
            day = FIRST_DAY + timedelta(days=i * DAYS // runs)
            duration_s = rng.uniform(600, 36_000)
            gpus = rng.choice((1, 2, 4, 8))
            kwh = gpus * 0.4 * duration_s / 3600
            begin = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
            plan.append((day, project.pk, project.team_id, home_site[project.pk], kwh, rng.uniform(20, 95)))
            yield (org.pk, project.pk, "bench", f"run-{i}", "training", begin, begin + timedelta(seconds=duration_s),
                   duration_s, kwh * 0.1, kwh * 0.85, kwh * 0.05, kwh, "", 0, "H100", gpus, plan[-1][5],
                   home_site[project.pk], "DEU", "bench", "1", "", "{}", "[]", "[]", now, now, "{}", "site",
                   "")  # fmt: skip

    _copy(Run, run_columns, run_rows())
    run_ids = list(Run.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))
    calculations = {}
    for quarter in range(8):
        start = date(2025 + quarter // 4, 3 * (quarter % 4) + 1, 1)
        end = date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1) - timedelta(days=1)
        calculations[quarter] = Calculation.objects.create(
            organization=org, period_start=start, period_end=end, methodology_version="bench"
        ).pk
    record_columns = [
        "organization_id", "calculation_id", "scope", "scope3_category", "scope3_subcategory", "basis",
        "activity_kind", "activity_id", "team_id", "project_id", "run_id", "site_id", "period_start", "period_end",
        "energy_kwh", "emissions_kg_co2e_location", "emissions_kg_co2e_market", "emissions_low_kg_co2e",
        "emissions_high_kg_co2e", "quality", "factors", "factor_dataset_version", "methodology_version", "flags",
    ]  # fmt: skip
    metered_sites = {site.pk for site in sites[:3]}

    def record_rows():
        for run_id, (day, project_id, team_id, site_id, kwh, _) in zip(run_ids, plan, strict=True):
            calc = calculations[(day.year - 2025) * 4 + (day.month - 1) // 3]
            quality = "metered" if site_id in metered_sites else "measured"
            facility_kwh = kwh * 1.3
            location, market = facility_kwh * 0.38, facility_kwh * 0.21
            common = (org.pk, calc)
            owner = (run_id, team_id, project_id, run_id, site_id, day, day)
            lines = (
                (2, None, "", "operational", facility_kwh, location, market, quality),
                (3, 3, "3b", "operational", None, facility_kwh * 0.06, facility_kwh * 0.06, quality),
                (3, 3, "3c", "operational", None, facility_kwh * 0.02, facility_kwh * 0.02, quality),
                (3, 2, "", "embodied_amortized", None, kwh * 0.05, kwh * 0.05, "default"),
            )
            for scope, category, sub, basis, energy, loc, mkt, tier in lines:
                yield (*common, scope, category, sub, basis, "run", *owner, energy, loc, mkt, loc, loc, tier,
                       "{}", "bench", "bench", "[]")  # fmt: skip

    records = _copy(EmissionRecord, record_columns, record_rows())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"runs": runs, "records": records, "load_s": time.perf_counter() - started}


def _time(client, query: dict, path: str = "/") -> list[float]:
    for _ in range(3):  # warm-up: plotly's validators, connections, the planner's caches
        assert client.get(path, query).status_code == 200
    timings = []
    for _ in range(ITERATIONS):
        started = time.perf_counter()
        response = client.get(path, query)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return timings


def _print_timings(name: str, timings: list[float]) -> None:
    timings = sorted(timings)
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    print(f"  {name:<40} median {statistics.median(timings):6.1f}   p95 {p95:6.1f}   max {timings[-1]:6.1f}")


def _busiest(org):
    """The team and the project with the most runs: the pages with the most to read."""
    from django.db.models import Count

    from emissions.models import Project, Run, Team

    def most_runs(path: str) -> int:
        runs = Run.objects.filter(organization=org).values(path).annotate(runs=Count("id"))
        return runs.order_by("-runs", path).values_list(path, flat=True)[0]

    return Team.objects.get(pk=most_runs("project__team_id")), Project.objects.get(pk=most_runs("project_id"))


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL=postgres://…/gg_bench_dashboard")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontend.settings")
    reuse = os.environ.get("BENCH_REUSE") == "1"  # time an already loaded database again
    if not reuse:
        _database_fresh(database_url)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from emissions.models import DailyEmissionRollup, EmissionRecord, Organization, RunEmissionRollup
    from reporting.rollups import rollup_rebuild

    if reuse:
        call_command("migrate", verbosity=0)  # a database loaded by an older checkout gets the newer tables
        org, user = Organization.objects.get(slug="bench"), get_user_model().objects.get(username="bench")
        print(f"reusing {EmissionRecord.objects.filter(organization=org).count():,} ledger rows")
        if not RunEmissionRollup.objects.filter(organization=org).exists():
            started = time.perf_counter()
            rollup_rebuild(organization=org)
            print(f"rollups rebuilt (the per-run rollup was empty) in {time.perf_counter() - started:.1f} s")
    else:
        call_command("migrate", verbosity=0)
        org, projects, sites, user = _structure()
        loaded = _load(org, projects, sites)
        print(f"loaded {loaded['runs']:,} runs and {loaded['records']:,} ledger rows in {loaded['load_s']:.1f} s")
        started = time.perf_counter()
        rollup_rebuild(organization=org)
        print(f"rollup rebuilt in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        for model in (DailyEmissionRollup, RunEmissionRollup):  # what autovacuum does after a bulk load
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    rows = DailyEmissionRollup.objects.filter(organization=org).count()
    runs = RunEmissionRollup.objects.filter(organization=org).count()
    print(f"daily rollup: {rows:,} rows; per-run rollup: {runs:,} rows")
    client = Client()
    client.force_login(user)
    cases = {
        "default (latest quarter)": {},
        "quarter, one team, Scope 2": {"period": "2026-Q3", "team": "team-3", "scope": "2"},
        "year, management view": {"period": "2025", "view": "management"},
        "htmx partial, quarter": {"period": "2026-Q2"},
    }
    print(f"overview view, {ITERATIONS} requests each after 3 warm-up requests (ms):")
    for name, query in cases.items():
        if name.startswith("htmx"):
            client.defaults["HTTP_HX_REQUEST"] = "true"
        _print_timings(name, _time(client, query))
    client.defaults.pop("HTTP_HX_REQUEST", None)
    team, project = _busiest(org)
    pages = {
        f"team {team.slug}, default (latest quarter)": (f"/teams/{team.slug}/", {}),
        f"team {team.slug}, year 2025": (f"/teams/{team.slug}/", {"period": "2025"}),
        # The project page has no period: its totals and runs table cover all the project's runs.
        f"project {project.slug}, default": (f"/projects/{project.slug}/", {}),
        f"project {project.slug}, by IT kWh, page 3": (f"/projects/{project.slug}/", {"sort": "-energy", "page": "3"}),
    }
    print(f"team and project pages, {ITERATIONS} requests each after 3 warm-up requests (ms):")
    for name, (path, query) in pages.items():
        _print_timings(name, _time(client, query, path))


if __name__ == "__main__":
    main()
