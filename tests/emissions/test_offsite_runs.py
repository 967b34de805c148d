"""Every run has a location: off-site runs enter the inventory at the grid the tracker reports.

Figures are hand-computed: kgCO2e = kWh × g/kWh / 1000 with the organization's own factors.
"""

from pathlib import Path

import pytest

from emissions.choices import LocationSource, OffsiteRunsScope
from emissions.models import EmissionRecord, GridZone, Run
from emissions.periods import period_parse
from emissions.selectors import inventory_summary
from emissions.services.ledger import inventory_calculate
from emissions.services.offsite import organization_offsite_update
from ingest.services import import_batch_create, import_batch_process
from tests.factories import GridZoneFactory

CAPTURED = Path(__file__).parents[1] / "ingest" / "fixtures" / "trackers" / "captured"
# A real codecarbon 2.8.4 CSV (OfflineEmissionsTracker, country_iso_code="FRA"): captured/README.md.
FRANCE_2X = CAPTURED / "2.8.4" / "ranks4_machine" / "emissions_rank0.csv"
FRANCE_KWH = 8.547617463065139e-05  # its energy_consumed cell


def _import(org, source: str, content: bytes, **options):
    batch = import_batch_create(organization=org, source=source, filename="f.csv", content=content, options=options)
    return import_batch_process(batch=batch)


@pytest.fixture
def zones(db):
    france = GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    canada = GridZoneFactory(code="CA", name="Canada", country_iso3="CAN")
    GridZoneFactory(code="CA-QC", name="Québec", country_iso3="CAN", parent=canada)
    GridZoneFactory(code="CA-ON", name="Ontario", country_iso3="CAN", parent=canada)
    GridZoneFactory(code="DE", name="Germany", country_iso3="DEU")
    return france


@pytest.fixture
def own_factors(org_a, zones, media_root):
    """The organization's own location factors for 2026 (France 57, Québec 1.7, Canada 170, Germany 380 g/kWh)."""
    rows = ["zone,year,month,kind,intensity_g_per_kwh,source,licence"]
    rows += [f"{zone},2026,,location,{value},own,own" for zone, value in (("FR", 57), ("CA-QC", 1.7), ("CA", 170))]
    rows += ["DE,2026,,location,380,own,own"]
    assert _import(org_a, "grid_factors", "\n".join(rows).encode()).rows_loaded == 4


@pytest.mark.django_db
def test_a_2x_csv_run_in_france_with_no_site_counts_at_the_organizations_factor(org_a, own_factors):
    batch = _import(org_a, "codecarbon_csv", FRANCE_2X.read_bytes(), project="a-project")
    assert batch.rows_loaded == 1
    run = Run.objects.for_org(org_a).get()
    assert (run.grid_zone.code, run.location_source) == ("FR", LocationSource.TRACKER_COUNTRY)
    assert "location_from_tracker" in run.flags and run.site is None and run.cloud_region is None
    summary = inventory_summary(calculation=inventory_calculate(organization=org_a, period=period_parse("2026-Q4")))
    expected_kg = FRANCE_KWH * 57 / 1000  # third-party compute by default: Scope 3 Cat 1
    assert summary["scope_3_kg_by_category"]["1"] == pytest.approx(expected_kg, rel=1e-12)
    assert summary["total_location_kg"] == pytest.approx(expected_kg, rel=1e-12)
    record = EmissionRecord.objects.get(run=run)
    assert (record.scope3_subcategory, record.quality) == ("offsite_compute", "estimated_location")
    assert {"location_from_tracker", "offsite_run", "organization_override"} <= set(record.flags)
    assert summary["quality_shares_pct"] == {"estimated_location": 100.0}


@pytest.mark.django_db
def test_own_equipment_goes_to_scope_2_at_the_grid_average(org_a, own_factors):
    org_a.offsite_runs_scope = OffsiteRunsScope.OWN_EQUIPMENT
    org_a.save()
    _import(org_a, "codecarbon_csv", FRANCE_2X.read_bytes(), project="a-project")
    summary = inventory_summary(calculation=inventory_calculate(organization=org_a, period=period_parse("2026-Q4")))
    expected_kg = FRANCE_KWH * 57 / 1000
    assert summary["scope_2_location_kg"] == pytest.approx(expected_kg, rel=1e-12)
    assert summary["scope_2_market_kg"] == pytest.approx(expected_kg, rel=1e-12)  # no residual mix: grid average
    assert summary["energy_kwh"] == pytest.approx(FRANCE_KWH, rel=1e-12)
    record = EmissionRecord.objects.get(scope=2)
    assert "market_grid_average_fallback" in record.flags
    # A project may choose the other rule.
    project = Run.objects.get().project
    project.offsite_runs_scope = OffsiteRunsScope.THIRD_PARTY
    project.save()
    summary = inventory_summary(calculation=inventory_calculate(organization=org_a, period=period_parse("2026-Q4")))
    assert summary["scope_2_location_kg"] == 0 and summary["scope_3_kg_by_category"]["1"] == pytest.approx(expected_kg)


def _row(country: str, region: str) -> bytes:
    header = "timestamp,project_name,run_id,duration,cpu_energy,gpu_energy,ram_energy,energy_consumed,"
    header += "country_iso_code,region,cloud_provider,cloud_region\n"
    return (
        header + f"2026-11-02T10:00:00,p,run-{country}-{region},3600,0.5,1.5,0.0,2.0,{country},{region},,\n"
    ).encode()


@pytest.mark.parametrize(
    ("country", "region", "zone", "source", "g_per_kwh"),
    [
        ("CAN", "quebec", "CA-QC", LocationSource.TRACKER_REGION, 1.7),  # CodeCarbon's lower-case province
        ("CAN", "Québec", "CA-QC", LocationSource.TRACKER_REGION, 1.7),
        ("CAN", "QC", "CA-QC", LocationSource.TRACKER_REGION, 1.7),
        ("CAN", "ontario", "CA", LocationSource.TRACKER_COUNTRY, 170),  # no factor for Ontario: the country
        ("CAN", "", "CA", LocationSource.TRACKER_COUNTRY, 170),
    ],
)
@pytest.mark.django_db
def test_the_trackers_region_picks_a_subnational_grid_where_it_has_a_factor(
    org_a, own_factors, country, region, zone, source, g_per_kwh
):
    _import(org_a, "codecarbon_csv", _row(country, region))
    run = Run.objects.for_org(org_a).get()
    assert (run.grid_zone.code, run.location_source) == (zone, source)
    calculation = inventory_calculate(organization=org_a, period=period_parse("2026-11"))
    assert inventory_summary(calculation=calculation)["total_location_kg"] == pytest.approx(2.0 * g_per_kwh / 1000)


@pytest.mark.django_db
def test_runs_nothing_locates_follow_the_organizations_default_location(org_a, own_factors):
    _import(org_a, "codecarbon_csv", _row("", ""))
    run = Run.objects.for_org(org_a).get()
    assert (run.grid_zone, run.location_source) == (None, "")
    calculation = inventory_calculate(organization=org_a, period=period_parse("2026-11"))
    assert inventory_summary(calculation=calculation)["total_location_kg"] == 0
    assert any("no location at all" in gap for gap in calculation.data_gaps)
    moved = organization_offsite_update(
        organization=org_a, default_grid_zone=GridZone.objects.get(code="DE"), offsite_runs_scope="third_party"
    )
    run.refresh_from_db()
    assert moved == 1 and (run.grid_zone.code, run.location_source) == ("DE", "organization_default")
    assert "location_organization_default" in run.flags
    calculation = inventory_calculate(organization=org_a, period=period_parse("2026-11"))
    assert inventory_summary(calculation=calculation)["total_location_kg"] == pytest.approx(2.0 * 380 / 1000)
    # A run the tracker locates is not moved by the default.
    _import(org_a, "codecarbon_csv", _row("FRA", ""))
    organization_offsite_update(organization=org_a, default_grid_zone=None, offsite_runs_scope="third_party")
    assert sorted(Run.objects.values_list("location_source", flat=True)) == ["", "tracker_country"]


@pytest.mark.django_db
def test_a_token_site_still_wins_over_the_trackers_country(org_a, own_factors):
    from tests.factories import SiteFactory

    site = SiteFactory(organization=org_a, zone=GridZone.objects.get(code="DE"), slug="lab")
    _import(org_a, "codecarbon_csv", _row("FRA", ""), site="lab")
    run = Run.objects.for_org(org_a).get()
    assert (run.site, run.grid_zone, run.location_source) == (site, None, "site")


@pytest.mark.django_db
def test_the_overview_says_which_runs_cannot_be_counted_and_where_to_fix_it(client, alice, org_a, own_factors):
    _import(org_a, "codecarbon_csv", _row("", ""))  # a run that names no country: nothing locates it
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "1 run (2.000 kWh) cannot be counted yet" in page and 'href="/settings/#offsite"' in page
    organization_offsite_update(
        organization=org_a, default_grid_zone=GridZone.objects.get(code="DE"), offsite_runs_scope="third_party"
    )
    assert "cannot be counted yet" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_rank_member_that_counts_nothing_is_not_an_unlocated_run(org_a):
    from emissions.selectors import unlocated_runs_summary
    from tests.factories import RunFactory

    first = RunFactory(organization=org_a, energy_kwh=2.0)
    RunFactory(organization=org_a, project=first.project, rank_of=first, energy_kwh=0.0, gpu_energy_kwh=0.0,
               cpu_energy_kwh=0.0, ram_energy_kwh=0.0)  # fmt: skip
    RunFactory(organization=org_a, project=first.project, rank_of=first, energy_kwh=0.5)  # its own GPU
    assert unlocated_runs_summary(organization=org_a) == {"runs": 2, "energy_kwh": 2.5}


@pytest.mark.django_db
def test_only_an_organization_admin_changes_the_off_site_settings(client, alice, org_a, own_factors):
    from emissions.choices import Role
    from tests.factories import MembershipFactory

    client.force_login(alice)  # a guild member
    form = {"default_grid_zone": GridZone.objects.get(code="FR").pk, "offsite_runs_scope": "own_equipment"}
    assert client.post("/settings/", form).status_code == 403
    admin = MembershipFactory(organization=org_a, role=Role.ORG_ADMIN, user__username="root-admin").user
    client.force_login(admin)
    response = client.post("/settings/", form, follow=True)
    assert "Off-site run settings saved" in response.content.decode()
    org_a.refresh_from_db()
    assert (org_a.default_grid_zone.code, org_a.offsite_runs_scope) == ("FR", "own_equipment")
