"""The demo organization: its shape, physical consistency, login, idempotency and determinism."""

import hashlib
from collections import defaultdict
from datetime import date

import pytest
from django.db import transaction
from django.db.models import Max, Min, Sum
from django.test import override_settings

from emissions.choices import Role
from emissions.models import (
    EnergyInstrument,
    FuelUse,
    GranularCertificate,
    HardwareAsset,
    HourlyIntensity,
    HourlyMeterReading,
    Membership,
    MeterReading,
    Organization,
    Project,
    RefrigerantLoss,
    Run,
    RunSample,
    Team,
)
from emissions.periods import period_parse
from frontend.demo import DIESEL_FUEL, ORG_SLUG, demo_organization_delete, demo_organization_seed
from reporting.models import CarbonBudget
from reporting.selectors.scope2_hourly import scope2_hourly_dashboard

QUARTER_STARTS = [date(year, month, 1) for year in (2025, 2026) for month in (1, 4, 7, 10)]


@pytest.fixture(scope="module")
def acme(django_db_setup, django_db_blocker):
    """Seed once per module inside an outer transaction that is rolled back at the end.

    Each test's own transaction nests inside it (a savepoint), so tests see the seeded data, may change
    it freely, and leave nothing behind in the test database.
    """
    fast_hashing = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hashing, transaction.atomic():
        yield demo_organization_seed()
        transaction.set_rollback(True)


def _fingerprint(org: Organization) -> tuple:
    """Energy total and a digest of every run's identity and energy, in a stable order."""
    runs = Run.objects.for_org(org).order_by("source", "external_id")
    digest = hashlib.sha256()
    for source, external_id, started_at, energy_kwh in runs.values_list(
        "source", "external_id", "started_at", "energy_kwh"
    ):
        digest.update(f"{source}|{external_id}|{started_at.isoformat()}|{energy_kwh!r}\n".encode())
    samples = RunSample.objects.for_org(org).order_by("dedupe_key").values_list("dedupe_key", flat=True)
    digest.update("".join(samples).encode())
    total = runs.aggregate(total=Sum("energy_kwh"))["total"]
    return round(total, 6), digest.hexdigest(), _counts(org)


def _counts(org: Organization) -> dict[str, int]:
    models = (Team, Project, Run, HardwareAsset, EnergyInstrument, FuelUse, RefrigerantLoss, CarbonBudget, Membership)
    counts = {model.__name__: model.objects.for_org(org).count() for model in models}
    counts["RunSample"] = RunSample.objects.for_org(org).count()
    counts["MeterReading"] = MeterReading.objects.for_org(org).count()
    counts["HourlyMeterReading"] = HourlyMeterReading.objects.for_org(org).count()
    counts["GranularCertificate"] = GranularCertificate.objects.for_org(org).count()
    counts["HourlyIntensity"] = HourlyIntensity.objects.filter(dataset__organization=org).count()
    return counts


@pytest.mark.django_db
def test_it_creates_the_organization_structure(acme):
    assert (acme.slug, acme.currency, acme.fiscal_year_start_month, acme.default_pue) == ("acme", "EUR", 1, 1.4)
    assert acme.net_revenues.count() == 8
    teams = Team.objects.for_org(acme)
    assert teams.count() == 6
    assert teams.filter(parent__isnull=False).exists()
    assert 13 <= Project.objects.for_org(acme).count() <= 17
    assert set(teams.values_list("projects__team", flat=True)) == set(teams.values_list("id", flat=True))
    demo_experiment = acme.projects.get(experiments__is_default_demo_id=True).experiments.get(is_default_demo_id=True)
    assert demo_experiment.external_id == "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"


@pytest.mark.django_db
def test_it_spreads_runs_over_time_places_and_kinds(acme):
    runs = Run.objects.for_org(acme)
    assert 2500 <= runs.count() <= 4000
    span = runs.aggregate(first=Min("started_at"), last=Max("started_at"), end=Max("ended_at"))
    assert span["first"].date() < date(2025, 1, 8) and span["last"].date() > date(2026, 9, 20)
    assert span["end"].date() <= date(2026, 9, 30)
    assert runs.filter(started_at__date__lt=date(2025, 4, 1)).count() > 100
    assert runs.filter(started_at__year=2026).count() / 9 > runs.filter(started_at__year=2025).count() / 12
    assert runs.filter(site__isnull=False, cloud_region__isnull=False).count() == 0
    offsite = runs.filter(site__isnull=True, cloud_region__isnull=True)
    assert offsite.filter(grid_zone__isnull=True).count() == 0  # every run has a location
    assert {run.location_source for run in offsite} == {"tracker_country", "tracker_region", "organization_default"}
    assert runs.exclude(site=None).values("site").distinct().count() == 2
    regions = runs.exclude(cloud_region=None).values_list("cloud_region__provider", "cloud_region__region").distinct()
    assert len(regions) >= 3 and {provider for provider, _ in regions} == {"aws", "gcp", "azure"}
    assert set(runs.values_list("kind", flat=True)) == {
        "training",
        "fine_tuning",
        "inference",
        "evaluation",
        "development",
    }
    assert set(runs.values_list("source", flat=True)) == {"codecarbon_api", "codecarbon_csv", "native"}
    assert not runs.filter(source__startswith="codecarbon", tracker_emissions_kg_co2e=None).exists()
    assert not runs.filter(source__startswith="codecarbon", experiment=None).exists()
    assert runs.filter(gpu_count=0).exists() and runs.filter(gpu_count__gte=32).exists()
    assert not runs.filter(kind="inference", inferences_count=None).exists()


@pytest.mark.django_db
def test_run_and_sample_energies_are_consistent(acme):
    for run in Run.objects.for_org(acme).only("cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh", "energy_kwh"):
        assert abs(run.cpu_energy_kwh + run.gpu_energy_kwh + run.ram_energy_kwh - run.energy_kwh) < 1e-9
    sampled = Run.objects.for_org(acme).filter(samples__isnull=False).distinct()
    assert sampled.count() == 200
    sums = sampled.annotate(
        s_energy=Sum("samples__energy_kwh"), s_gpu=Sum("samples__gpu_energy_kwh"), s_duration=Sum("samples__duration_s")
    )
    for run in sums:
        assert run.s_energy == pytest.approx(run.energy_kwh, rel=1e-9, abs=1e-9)
        assert run.s_gpu == pytest.approx(run.gpu_energy_kwh, rel=1e-9, abs=1e-9)
        assert run.s_duration == run.duration_s
        assert 10 <= run.samples.count() <= 60


@pytest.mark.django_db
def test_meters_exceed_tracked_it_energy_times_pue(acme):
    tracked = defaultdict(float)
    for site_id, pue, started_at, energy_kwh in (
        Run.objects.for_org(acme).exclude(site=None).values_list("site_id", "site__pue", "started_at", "energy_kwh")
    ):
        tracked[site_id, started_at.year, started_at.month] += energy_kwh * pue
    readings = MeterReading.objects.for_org(acme)
    assert readings.count() == 2 * 21
    for reading in readings:
        assert reading.energy_kwh > tracked[reading.site_id, reading.period_start.year, reading.period_start.month]


@pytest.mark.django_db
def test_it_registers_fleet_instruments_scope1_and_budgets(acme):
    assets = HardwareAsset.objects.for_org(acme)
    retired = assets.get(retired_on__isnull=False)
    assert retired.disposal_route == "recycling"
    assert assets.filter(
        site=retired.site, acquired_on__gt=retired.acquired_on, in_service_on__lte=retired.retired_on
    ).exists()
    assert assets.values("site").distinct().count() == 2
    instruments = EnergyInstrument.objects.for_org(acme)
    assert instruments.count() == 2 and instruments.values("site").distinct().count() == 1
    go_2025 = instruments.get(vintage_start=date(2025, 1, 1))
    metered_2025 = MeterReading.objects.filter(site=go_2025.site, period_start__year=2025).aggregate(
        kwh=Sum("energy_kwh")
    )["kwh"]
    assert go_2025.energy_mwh * 1000 == pytest.approx(0.4 * metered_2025, rel=0.01)
    diesel = FuelUse.objects.for_org(acme)
    assert set(diesel.values_list("fuel", "unit")) == {(DIESEL_FUEL, "litre")} and diesel.count() >= 21
    assert RefrigerantLoss.objects.for_org(acme).get().gas == "R-410A"
    budgets = CarbonBudget.objects.for_org(acme)
    for team in Team.objects.for_org(acme):
        assert sorted(budgets.filter(team=team).values_list("period_start", flat=True)) == QUARTER_STARTS


@pytest.mark.django_db
def test_frankfurt_has_a_quarter_of_hourly_data_that_adds_up_to_its_monthly_readings(acme):
    """Issue 21: one site, one quarter (2026-Q3) of hourly meter data, hourly solar certificates and the
    zone's hourly grid in the organization's own dataset; the hourly figure uses them, none profiled."""
    hours = HourlyMeterReading.objects.for_org(acme)
    assert hours.count() == 92 * 24 and set(hours.values_list("site__slug", flat=True)) == {"frankfurt-dc"}
    span = hours.aggregate(first=Min("hour_start"), last=Max("hour_start"))
    first_last = (span["first"].isoformat(), span["last"].isoformat())
    assert first_last == ("2026-07-01T00:00:00+00:00", "2026-09-30T23:00:00+00:00")
    for month in (7, 8, 9):
        monthly = MeterReading.objects.get(site__slug="frankfurt-dc", period_start=date(2026, month, 1)).energy_kwh
        assert hours.filter(hour_start__month=month).aggregate(kwh=Sum("energy_kwh"))["kwh"] == pytest.approx(
            monthly, abs=1e-6
        )
    certificates = GranularCertificate.objects.for_org(acme)
    assert set(certificates.values_list("zone__code", "energy_source", "carbon_free").distinct()) == {
        ("DE", "solar", True)
    }
    assert set(certificates.values_list("hour_start__hour", flat=True)) <= set(range(4, 20))
    load = hours.aggregate(kwh=Sum("energy_kwh"))["kwh"]
    assert certificates.aggregate(kwh=Sum("energy_kwh"))["kwh"] == pytest.approx(0.35 * load, rel=1e-4)
    assert HourlyIntensity.objects.filter(dataset__organization=acme, zone__code="DE").count() == 92 * 24
    page = scope2_hourly_dashboard(organization=acme, period=period_parse("2026-Q3"))
    frankfurt = next(row for row in page.facts["sites"] if row["slug"] == "frankfurt-dc")
    assert frankfurt["load_kwh"] == pytest.approx(load)
    assert frankfurt["profiled_hours"] == 0 and frankfurt["hours_without_hourly_factor"] == 0
    assert 0 < frankfurt["matched_kwh"] <= 0.35 * load and frankfurt["cfe_pct"] is not None


@pytest.mark.django_db
def test_demo_user_logs_in_as_guild_member(acme, client):
    # Through the sign-in page: django-axes refuses authenticate() calls without a request (client.login()).
    assert client.post("/login/", {"username": "demo", "password": "demo"}).status_code == 302
    membership = Membership.objects.get(user__username="demo")
    assert (membership.organization, membership.role) == (acme, Role.GUILD_MEMBER)
    assert Membership.objects.get(user__username="vision-lead").team.slug == "vision"
    client.logout()
    assert client.post("/login/", {"username": "acme-admin", "password": ""}).status_code == 200  # refused


@pytest.mark.django_db
def test_seeding_again_changes_nothing(acme):
    before = _fingerprint(acme)
    assert demo_organization_seed() == acme
    assert Organization.objects.filter(slug=ORG_SLUG).count() == 1
    assert _fingerprint(acme) == before


@pytest.mark.django_db
def test_seeding_from_scratch_is_deterministic(acme):
    before = _fingerprint(acme)
    assert demo_organization_delete()
    assert not Organization.objects.filter(slug=ORG_SLUG).exists()
    assert _fingerprint(demo_organization_seed()) == before


def test_demo_inventory_quarters_sum_to_the_year(acme):
    """On the demo organization (instruments, meters, a refresh cycle), four quarters = the year."""
    from emissions.periods import period_parse
    from emissions.selectors import inventory_summary
    from emissions.services.ledger import inventory_calculate

    def summary(label: str) -> dict:
        return inventory_summary(calculation=inventory_calculate(organization=acme, period=period_parse(label)))

    year = summary("2025")
    quarters = [summary(f"2025-Q{q}") for q in range(1, 5)]
    keys = ["scope_1_kg", "scope_2_location_kg", "scope_2_market_kg", "total_location_kg", "total_market_kg"]
    for key in [*keys, "energy_kwh"]:
        assert sum(q[key] for q in quarters) == pytest.approx(year[key], rel=1e-9), key
    for category, kg in year["scope_3_kg_by_category"].items():
        assert sum(q["scope_3_kg_by_category"].get(category, 0.0) for q in quarters) == pytest.approx(kg, rel=1e-9)
    assert year["scope_2_market_kg"] < year["scope_2_location_kg"]  # the Frankfurt GO counts
    assert year["management"]["embodied_written_off_kg"] > 0  # the A100 generation retired early in 2025
    roll = year["management"]["roll_forward"]
    expected = roll["opening_kg"] + roll["additions_kg"] - roll["amortized_kg"] - roll["written_off_kg"]
    assert roll["closing_kg"] == pytest.approx(expected)
    assert roll["additions_kg"] == pytest.approx(year["scope_3_kg_by_category"]["2"])


@pytest.mark.django_db
def test_the_readme_states_the_demos_2025_inventory(acme):
    import re
    from pathlib import Path

    from emissions.periods import period_parse
    from emissions.selectors import inventory_summary
    from emissions.services.ledger import inventory_calculate

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme[readme.index("| kgCO2e | 2025 |") :].split("\n\n")[0]
    stated = [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*\.\d", table.split("|---|---:|")[1])]
    summary = inventory_summary(calculation=inventory_calculate(organization=acme, period=period_parse("2025")))
    by_category = summary["scope_3_kg_by_category"]
    computed = [
        summary["scope_1_kg"], summary["scope_2_location_kg"], summary["scope_2_market_kg"],
        by_category["1"], by_category["2"], by_category["3"],
        summary["total_location_kg"], summary["total_market_kg"],
        summary["management"]["embodied_amortized_kg"], summary["management"]["embodied_written_off_kg"],
    ]  # fmt: skip
    assert stated == [round(value, 1) for value in computed]


@pytest.mark.django_db
def test_the_seeds_example_moving_virginia_runs_to_quebec_is_replayed_as_the_readme_says(acme):
    import re
    from pathlib import Path

    from emissions.periods import period_parse
    from emissions.services.ledger import inventory_calculate
    from reporting.guild.whatif import whatif_replay

    year = period_parse("2025")
    inventory_calculate(organization=acme, period=year)
    result = whatif_replay(
        organization=acme, project=Project.objects.get(organization=acme, slug="query-ranker"), period=year,
        scenario="region", options={"zone": "CA-QC", "from_zone": "US-VA"},
    )  # fmt: skip
    assert all(run.note.startswith("US-VA → grid zone CA-QC at 2.565 gCO2e/kWh") for run in result.runs)
    assert result.saved_pct == pytest.approx(100 * (1 - 2.565 / 244.758), abs=1e-6)  # same kWh, other factor
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    stated = re.search(r"(\d+) runs,\s+([\d.]+) → ([\d.]+) kgCO2e, ([\d.]+) kg saved \(([\d.]+) %\)", readme)
    assert stated is not None
    assert [int(stated[1]), *(float(stated[i]) for i in range(2, 6))] == [
        len(result.runs), round(result.baseline_kg_co2e, 1), round(result.replay_kg_co2e, 1),
        round(result.saved_kg_co2e, 1), round(result.saved_pct, 1),
    ]  # fmt: skip
