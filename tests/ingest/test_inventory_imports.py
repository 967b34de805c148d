"""The inventory CSV imports (meter readings, own factors, instruments, fleet, fuel, refrigerants,
credits, disposal factors) through the batch path: counts, row errors, idempotency, tenant isolation."""

from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from emissions.choices import AssetClass, SiteOwnership
from emissions.models import (
    CarbonCredit,
    DisposalFactor,
    EnergyInstrument,
    FactorDataset,
    FuelFactor,
    FuelUse,
    GlobalWarmingPotential,
    GridFactor,
    HardwareAsset,
    HardwareModel,
    MeterReading,
    RefrigerantLoss,
)
from emissions.records import MeterReadingRecord
from emissions.services.inventory import meter_reading_upsert_many
from ingest.models import ImportBatch
from ingest.parsers import PARSERS, energy_instruments, grid_factors, site_electricity
from ingest.parsers.csv_rows import CellError, date_cell, int_cell, optional, text_cell
from ingest.records import ParsedRow, ParseError, RowIssue
from ingest.services import import_batch_create, import_batch_process
from tests.factories import GridZoneFactory, SiteFactory

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"

# What each good fixture stores, read back for one organization.
STORED = {
    "site_electricity": lambda org: MeterReading.objects.for_org(org),
    "grid_factors": lambda org: GridFactor.objects.filter(organization=org),
    "energy_instruments": lambda org: EnergyInstrument.objects.for_org(org),
    "hardware_assets": lambda org: HardwareAsset.objects.for_org(org),
    "fuel": lambda org: FuelUse.objects.for_org(org),
    "refrigerant": lambda org: RefrigerantLoss.objects.for_org(org),
    "carbon_credits": lambda org: CarbonCredit.objects.for_org(org),
    "disposal_factors": lambda org: DisposalFactor.objects.filter(organization=org),
}
GOOD_ROWS = {
    "site_electricity": 3,
    "grid_factors": 5,
    "energy_instruments": 4,
    "hardware_assets": 3,
    "fuel": 3,
    "refrigerant": 3,
    "carbon_credits": 3,
    "disposal_factors": 3,
}
# {source: (loaded rows, {row number: (column, part of the reason)})}; loader rejections have no column.
BAD_ROWS = {
    "site_electricity": (
        2,
        {
            3: ("site", "site is empty"),
            4: ("period_start", "'01/03/2025' is not a date in the format YYYY-MM-DD"),
            5: ("period_end", "2025-04-01 is before period_start 2025-04-30"),
            6: ("energy_kwh", "below the minimum 0"),
            7: ("energy_kwh", "not a finite number"),
            8: ("", "unknown site 'oslo-lab'"),
            9: ("", "unknown site 'Nowhere'"),
            10: ("", "overlaps the stored reading 2025-01-01–2025-01-31 of site 'Frankfurt DC'"),
            11: ("period_start", "'2025-02-30' is not a valid date (YYYY-MM-DD)"),
        },
    ),
    "grid_factors": (
        2,
        {
            3: ("month", "13 is above the maximum 12"),
            4: ("kind", "'market' is not one of location, lifecycle, residual_mix, td_loss, upstream"),
            5: ("year", "'twenty' is not a number"),
            6: ("intensity_g_per_kwh", "below the minimum 0"),
            7: ("", "unknown grid zone 'XX'"),
            8: ("intensity_g_per_kwh", "not a finite number"),
            9: ("source", "source is empty"),
            11: ("month", "'1.5' is not a whole number"),
        },
    ),
    "energy_instruments": (
        1,
        {
            3: ("emission_factor_g_per_kwh", "a go certificate is renewable: its factor must be 0"),
            4: ("emission_factor_g_per_kwh", "is empty; a supplier_rate instrument needs its factor"),
            5: ("kind", "'voucher' is not one of rec, go, irec"),
            6: ("vintage_end", "2025-01-01 is before vintage_start 2025-12-31"),
            7: ("bundled", "'maybe' is not true/false"),
            8: ("", "unknown grid zone 'XX'"),
            9: ("", "unknown site 'oslo-lab'"),
            10: ("energy_mwh", "below the minimum 0"),
        },
    ),
    "hardware_assets": (
        2,
        {
            3: ("quantity", "0 is below the minimum 1"),
            4: ("quantity", "'2.5' is not a whole number"),
            5: ("in_service_on", "2024-01-02 is before acquired_on 2024-01-10"),
            6: ("retired_on", "2023-12-31 is before in_service_on 2024-01-02"),
            7: ("lifetime_years", "must be greater than 0"),
            8: ("disposal_route", "'shredder' is not one of recycling, landfill, incineration, resale"),
            9: ("", "unknown hardware model 'B Secret Board'"),
            10: ("", "unknown hardware model 'Abacus 3000'"),
            11: ("", "unknown site 'oslo-lab'"),
            12: ("embodied_kg_co2e_per_unit", "below the minimum 0"),
        },
    ),
    "fuel": (
        1,
        {
            3: (
                "",
                "unknown fuel 'gasoline'; known fuels (units): diesel (gas/diesel oil) (kWh (net CV), litre); "
                "natural gas (kWh (net CV))",
            ),
            4: ("", "no factor for fuel 'diesel (gas/diesel oil)' per 'gallon'; its units are: kWh (net CV), litre"),
            5: ("", "unknown fuel 'B biodiesel'"),
            6: ("quantity", "below the minimum 0"),
            7: ("date", "'2025-13-01' is not a valid date (YYYY-MM-DD)"),
            8: ("unit", "unit is empty"),
            9: ("", "unknown site 'oslo-lab'"),
            10: ("quantity", "'12,5' is not a number"),
        },
    ),
    "refrigerant": (
        1,
        {
            3: ("", "unknown gas 'R-22': it has no global warming potential; known gases: HFC-134a, R-410A, SF6"),
            4: ("kg_leaked", "below the minimum 0"),
            5: ("date", "'2025/03/04' is not a date in the format YYYY-MM-DD"),
            6: ("", "unknown site 'oslo-lab'"),
            7: ("gas", "gas is empty"),
        },
    ),
    "carbon_credits": (
        1,
        {
            3: ("tonnes_co2e", "must be greater than 0"),
            4: ("kind", "'offset' is not one of removal, reduction"),
            5: ("cancelled_on", "cancelled_on is empty"),
            6: ("tonnes_co2e", "'abc' is not a number"),
            7: ("credit_id", "credit_id is empty"),
        },
    ),
    "disposal_factors": (
        1,
        {
            3: ("asset_class", "'toaster' is not one of gpu"),
            4: ("disposal_route", "disposal_route is empty"),
            5: ("kg_co2e_per_unit", "below the minimum 0"),
            6: ("source", "source is empty"),
        },
    ),
}


@pytest.fixture
def catalogue(org_a, org_b):
    """Zones, sites of both organizations and the few catalogue rows the fixtures refer to.

    Org B owns a site, a hardware model and a fuel factor that org A's files name: they must stay invisible to A.
    """
    de = GridZoneFactory(code="DE", name="Germany")
    us_va = GridZoneFactory(code="US-VA", name="Virginia", country_iso3="USA")
    no = GridZoneFactory(code="NO", name="Norway", country_iso3="NOR")
    SiteFactory(organization=org_a, name="Frankfurt DC", slug="frankfurt-dc", zone=de)
    SiteFactory(
        organization=org_a, name="Ashburn colo", slug="ashburn-colo", zone=us_va, ownership=SiteOwnership.COLOCATION
    )
    SiteFactory(organization=org_b, name="Oslo lab", slug="oslo-lab", zone=no)
    shipped = FactorDataset.objects.create(name="test-shipped", version="1", title="t", source="s", licence="l")
    b_own = FactorDataset.objects.create(
        organization=org_b, name="b-own", version="1", title="t", source="s", licence="l"
    )
    for fuel, unit, kg in [
        ("diesel (gas/diesel oil)", "litre", 2.6922),
        ("diesel (gas/diesel oil)", "kWh (net CV)", 0.26832),
        ("natural gas", "kWh (net CV)", 0.20254),
    ]:
        FuelFactor.objects.create(dataset=shipped, fuel=fuel, unit=unit, kg_co2e_per_unit=kg, source="s", licence="l")
    FuelFactor.objects.create(
        dataset=b_own, fuel="B biodiesel", unit="litre", kg_co2e_per_unit=0.2, source="s", licence="l"
    )
    for gas, gwp in [("R-410A", 2255.5), ("HFC-134a", 1530), ("SF6", 24300)]:
        GlobalWarmingPotential.objects.create(dataset=shipped, gas=gas, gwp100=gwp, source="s", licence="l")

    def hardware_model(name, organization=None, lifetime=5.0, embodied=1000.0):
        return HardwareModel.objects.create(
            organization=organization,
            name=name,
            asset_class=AssetClass.GPU_SERVER,
            embodied_kg_co2e=embodied,
            embodied_low_kg_co2e=embodied,
            embodied_high_kg_co2e=embodied,
            default_lifetime_years=lifetime,
            source="s",
            licence="l",
        )

    hardware_model("NVIDIA H100 SXM5 80GB", embodied=1312.0)
    hardware_model("A Custom Node", organization=org_a, lifetime=6.0)
    hardware_model("B Secret Board", organization=org_b)


def _import(org, source: str, path: Path) -> ImportBatch:
    batch = import_batch_create(organization=org, source=source, filename=path.name, content=path.read_bytes())
    return import_batch_process(batch=batch)


def _counts(batch: ImportBatch) -> tuple[int, int, int, int]:
    return batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected


def _snapshot(source: str, org) -> list[dict]:
    return list(STORED[source](org).order_by("pk").values())


def test_every_inventory_source_is_registered():
    assert set(GOOD_ROWS) <= set(PARSERS)


@pytest.mark.django_db
@pytest.mark.parametrize("source", list(GOOD_ROWS))
def test_good_file_loads_every_row(source, org_a, catalogue, media_root):
    batch = _import(org_a, source, FIXTURES / f"{source}.csv")
    assert batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.PARTIAL), batch.error
    assert list(batch.row_errors.values_list("row_number", "reason")) == []
    rows = GOOD_ROWS[source]
    assert _counts(batch) == (rows, rows, 0, 0)
    assert STORED[source](org_a).count() == rows


@pytest.mark.django_db
@pytest.mark.parametrize("source", list(GOOD_ROWS))
def test_reimport_is_all_duplicates_and_changes_nothing(source, org_a, catalogue, media_root):
    _import(org_a, source, FIXTURES / f"{source}.csv")
    before = _snapshot(source, org_a)
    datasets_before = list(FactorDataset.objects.order_by("pk").values())
    again = _import(org_a, source, FIXTURES / f"{source}.csv")
    rows = GOOD_ROWS[source]
    assert _counts(again) == (rows, 0, rows, 0)
    assert _snapshot(source, org_a) == before
    assert list(FactorDataset.objects.order_by("pk").values()) == datasets_before


@pytest.mark.django_db
@pytest.mark.parametrize("source", list(BAD_ROWS))
def test_bad_rows_are_reported_and_good_rows_still_load(source, org_a, catalogue, media_root):
    path = FIXTURES / f"{source}_with_errors.csv"
    loaded, expected = BAD_ROWS[source]
    total = len(path.read_text().strip().splitlines()) - 1
    batch = _import(org_a, source, path)
    assert batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.PARTIAL)
    assert _counts(batch) == (total, loaded, 0, total - loaded)
    errors = {error.row_number: (error.column, error.reason) for error in batch.row_errors.all()}
    assert set(errors) == set(expected)
    for row_number, (column, reason) in expected.items():
        assert errors[row_number][0] == column, (row_number, errors[row_number])
        assert reason in errors[row_number][1], (row_number, errors[row_number])
    assert STORED[source](org_a).count() == loaded


@pytest.mark.django_db
def test_org_b_site_is_rejected_for_org_a_and_left_alone(org_a, org_b, catalogue, media_root, tmp_path):
    path = tmp_path / "oslo.csv"
    path.write_text("site,period_start,period_end,energy_kwh\nOslo lab,2025-01-01,2025-01-31,900\n")
    assert _counts(_import(org_b, "site_electricity", path)) == (1, 1, 0, 0)
    batch = _import(org_a, "site_electricity", path)
    assert _counts(batch) == (1, 0, 0, 1)
    assert "unknown site 'Oslo lab'" in batch.row_errors.get().reason
    assert MeterReading.objects.for_org(org_a).count() == 0
    assert MeterReading.objects.for_org(org_b).get().energy_kwh == 900


# --- site_electricity ---


def test_site_electricity_parse_gives_records():
    rows = list(site_electricity.parse((FIXTURES / "site_electricity.csv").read_bytes()))
    assert all(isinstance(row, ParsedRow) for row in rows)
    assert [row.row_number for row in rows] == [2, 3, 4]
    assert rows[0].record == MeterReadingRecord(
        site="frankfurt-dc", period_start=date(2025, 1, 1), period_end=date(2025, 1, 31), energy_kwh=120500.5
    )


def test_site_electricity_parse_rejects_missing_columns():
    with pytest.raises(ParseError, match="missing column"):
        list(site_electricity.parse(b"site,start,end,kwh\nx,2025-01-01,2025-01-31,1\n"))


@pytest.mark.django_db
def test_site_electricity_matches_slug_and_name_case_insensitively(org_a, catalogue, media_root):
    batch = _import(org_a, "site_electricity", FIXTURES / "site_electricity.csv")
    readings = MeterReading.objects.for_org(org_a).order_by("site__slug", "period_start")
    assert [(r.site.slug, r.period_start, r.energy_kwh) for r in readings] == [
        ("ashburn-colo", date(2025, 1, 1), 300000.0),
        ("frankfurt-dc", date(2025, 1, 1), 120500.5),
        ("frankfurt-dc", date(2025, 2, 1), 110200.0),
    ]
    assert {r.source_batch_id for r in readings} == {batch.pk}


@pytest.mark.django_db
def test_site_electricity_changed_energy_updates_the_reading(org_a, catalogue, media_root, tmp_path):
    _import(org_a, "site_electricity", FIXTURES / "site_electricity.csv")
    reading = MeterReading.objects.for_org(org_a).get(site__slug="frankfurt-dc", period_start=date(2025, 1, 1))
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "site,period_start,period_end,energy_kwh\n"
        "frankfurt-dc,2025-01-01,2025-01-31,125000\n"
        "frankfurt-dc,2025-02-01,2025-02-28,110200\n"
    )
    batch = _import(org_a, "site_electricity", changed)
    assert _counts(batch) == (2, 1, 1, 0)
    reading.refresh_from_db()
    assert (reading.energy_kwh, reading.source_batch_id) == (125000.0, batch.pk)
    assert MeterReading.objects.for_org(org_a).count() == 3


@pytest.mark.django_db
def test_site_electricity_ambiguous_name_asks_for_the_slug(org_a, catalogue):
    SiteFactory(organization=org_a, name="Lab", slug="lab-1")
    SiteFactory(organization=org_a, name="lab", slug="lab-2")
    record = MeterReadingRecord(site="LAB", period_start=date(2025, 1, 1), period_end=date(2025, 1, 31), energy_kwh=1)
    outcome = meter_reading_upsert_many(organization=org_a, records=[record])
    assert outcome.rejected == {0: "site 'LAB' names 2 sites; write the slug instead (lab-1, lab-2)"}


# --- grid_factors ---


@pytest.mark.django_db
def test_grid_factors_go_into_the_organizations_own_dataset(org_a, org_b, catalogue, media_root):
    _import(org_a, "grid_factors", FIXTURES / "grid_factors.csv")
    dataset = FactorDataset.objects.get(organization=org_a)
    assert (dataset.name, dataset.version, dataset.title) == ("organization-factors", "1", "Org A's own factors")
    assert (dataset.source, dataset.licence) == ("imported by the organization", "as stated per row")
    factors = GridFactor.objects.filter(dataset=dataset)
    assert factors.count() == 5 and set(factors.values_list("organization", flat=True)) == {org_a.pk}
    yearly = factors.get(zone__code="DE", kind="location", month__isnull=True)
    monthly = factors.get(zone__code="DE", kind="location", month=1)
    assert (yearly.year, yearly.intensity_g_per_kwh, yearly.licence) == (2024, 380.5, "CC BY 4.0")
    assert (monthly.intensity_g_per_kwh, monthly.licence) == (420.0, "not stated")
    assert factors.get(kind="residual_mix").zone.code == "DE"  # "de" in the file
    # Org B's import gets its own dataset; org A's values are not touched.
    _import(org_b, "grid_factors", FIXTURES / "grid_factors.csv")
    assert FactorDataset.objects.filter(name="organization-factors").count() == 2
    assert GridFactor.objects.filter(dataset=dataset).count() == 5


@pytest.mark.django_db
def test_grid_factor_changed_value_updates_in_place(org_a, catalogue, media_root, tmp_path):
    _import(org_a, "grid_factors", FIXTURES / "grid_factors.csv")
    yearly = GridFactor.objects.get(organization=org_a, kind="location", month__isnull=True)
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "zone,year,kind,intensity_g_per_kwh,source,licence\n"
        "DE,2024,location,375,Supplier disclosure 2025-04,CC BY 4.0\n"
    )
    assert _counts(_import(org_a, "grid_factors", changed)) == (1, 1, 0, 0)
    yearly.refresh_from_db()
    assert (yearly.intensity_g_per_kwh, yearly.source) == (375.0, "Supplier disclosure 2025-04")
    assert GridFactor.objects.filter(organization=org_a).count() == 5


@pytest.mark.django_db
def test_grid_factors_file_of_rejects_creates_no_dataset(org_a, catalogue, media_root, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("zone,year,kind,intensity_g_per_kwh,source\nXX,2024,location,1,s\n")
    assert _counts(_import(org_a, "grid_factors", path)) == (1, 0, 0, 1)
    assert not FactorDataset.objects.filter(organization=org_a).exists()


def test_grid_factors_parse_optional_month_and_licence():
    rows = list(grid_factors.parse(b"zone,year,kind,intensity_g_per_kwh,source\nus-va,2024.0,upstream,12,EIA\n"))
    record = rows[0].record
    assert (record.zone_code, record.year, record.month, record.licence) == ("US-VA", 2024, None, "not stated")


# --- energy_instruments ---


@pytest.mark.django_db
def test_energy_instruments_store_factor_site_and_bundling(org_a, catalogue, media_root):
    batch = _import(org_a, "energy_instruments", FIXTURES / "energy_instruments.csv")
    by_id = {i.instrument_id: i for i in EnergyInstrument.objects.for_org(org_a).select_related("site", "zone")}
    go = by_id["GO-2025-0001"]
    assert (go.kind, go.zone.code, go.site.slug, go.emission_factor_g_per_kwh, go.bundled) == (
        "go",
        "DE",
        "frankfurt-dc",
        0.0,
        False,
    )
    assert by_id["REC-VA-77"].site is None
    assert (by_id["PPA-DE-WIND"].site.slug, by_id["PPA-DE-WIND"].bundled) == ("frankfurt-dc", True)
    supplier = by_id["SUP-VA-2025"]
    assert (supplier.zone.code, supplier.emission_factor_g_per_kwh, supplier.energy_mwh) == ("US-VA", 310.5, 3000.0)
    assert {i.source_batch_id for i in by_id.values()} == {batch.pk}


def test_energy_instruments_certificate_with_zero_factor_parses():
    content = b"instrument_id,kind,zone,vintage_start,vintage_end,energy_mwh,emission_factor_g_per_kwh\n"
    content += b"I-1,irec,IN,2025-01-01,2025-12-31,5,0.0\n"
    (row,) = energy_instruments.parse(content)
    assert isinstance(row, ParsedRow) and row.record.emission_factor_g_per_kwh == 0.0


# --- hardware_assets ---


@pytest.mark.django_db
def test_hardware_assets_take_catalogue_defaults(org_a, catalogue, media_root):
    _import(org_a, "hardware_assets", FIXTURES / "hardware_assets.csv")
    assets = {a.asset_id: a for a in HardwareAsset.objects.for_org(org_a).select_related("hardware_model", "site")}
    first = assets["FRA-H100-01"]
    assert (first.hardware_model.name, first.quantity, first.lifetime_years) == ("NVIDIA H100 SXM5 80GB", 16, 5.0)
    assert (first.embodied_kg_co2e_per_unit, first.embodied_per_unit_kg_co2e, first.retired_on) == (None, 1312.0, None)
    assert first.disposal_route == ""
    second = assets["FRA-H100-02"]
    assert (second.lifetime_years, second.retired_on, second.embodied_kg_co2e_per_unit) == (
        4.0,
        date(2026, 12, 31),
        1500,
    )
    assert second.disposal_route == "recycling"
    own = assets["ASH-NODE-01"]
    assert (own.hardware_model.organization_id, own.site.slug, own.disposal_route) == (
        org_a.pk,
        "ashburn-colo",
        "resale",
    )


@pytest.mark.django_db
def test_hardware_assets_prefer_the_organizations_own_model_of_the_same_name(org_a, catalogue, media_root):
    own = HardwareModel.objects.create(
        organization=org_a,
        name="nvidia h100 sxm5 80gb",
        asset_class=AssetClass.GPU_SERVER,
        embodied_kg_co2e=900,
        embodied_low_kg_co2e=900,
        embodied_high_kg_co2e=900,
        default_lifetime_years=3,
        source="own PCF",
        licence="internal",
    )
    _import(org_a, "hardware_assets", FIXTURES / "hardware_assets.csv")
    asset = HardwareAsset.objects.for_org(org_a).get(asset_id="FRA-H100-01")
    assert (asset.hardware_model_id, asset.lifetime_years) == (own.pk, 3.0)


# --- fuel and refrigerant ---


@pytest.mark.django_db
def test_fuel_is_stored_with_the_factors_spelling(org_a, catalogue, media_root, tmp_path):
    _import(org_a, "fuel", FIXTURES / "fuel.csv")
    uses = FuelUse.objects.for_org(org_a).order_by("used_on", "site__slug")
    assert [(u.site.slug, u.used_on, u.fuel, u.unit, u.quantity) for u in uses] == [
        ("frankfurt-dc", date(2025, 1, 15), "diesel (gas/diesel oil)", "litre", 400.0),
        ("ashburn-colo", date(2025, 1, 20), "natural gas", "kWh (net CV)", 1200.0),
        ("frankfurt-dc", date(2025, 2, 15), "diesel (gas/diesel oil)", "litre", 350.5),
    ]
    same_row_other_case = tmp_path / "upper.csv"
    same_row_other_case.write_text(
        "site,date,fuel,quantity,unit\nFRANKFURT DC,2025-01-15,DIESEL (GAS/DIESEL OIL),400,LITRE\n"
    )
    assert _counts(_import(org_a, "fuel", same_row_other_case)) == (1, 0, 1, 0)


@pytest.mark.django_db
def test_refrigerant_gas_is_stored_with_the_gwp_spelling(org_a, catalogue, media_root):
    _import(org_a, "refrigerant", FIXTURES / "refrigerant.csv")
    losses = RefrigerantLoss.objects.for_org(org_a).order_by("occurred_on", "gas")
    assert [(loss.site.slug, loss.gas, loss.kg_leaked) for loss in losses] == [
        ("frankfurt-dc", "HFC-134a", 1.2),
        ("frankfurt-dc", "R-410A", 2.5),
        ("ashburn-colo", "SF6", 0.05),
    ]


# --- carbon_credits and disposal_factors ---


@pytest.mark.django_db
def test_carbon_credits_are_per_organization(org_a, org_b, catalogue, media_root):
    _import(org_a, "carbon_credits", FIXTURES / "carbon_credits.csv")
    credit = CarbonCredit.objects.for_org(org_a).get(credit_id="VCS-1234-2024-0001")
    assert (credit.tonnes_co2e, credit.kind, credit.standard, credit.project) == (
        150.0,
        "reduction",
        "Verra VCS",
        "Kariba REDD+, Zimbabwe",
    )
    assert CarbonCredit.objects.for_org(org_a).get(credit_id="GS-42").kind == "reduction"  # "Reduction" in the file
    # The same credit ids in org B's file are org B's own rows.
    assert _counts(_import(org_b, "carbon_credits", FIXTURES / "carbon_credits.csv")) == (3, 3, 0, 0)
    assert CarbonCredit.objects.count() == 6


@pytest.mark.django_db
def test_disposal_factors_share_the_own_dataset_with_grid_factors(org_a, catalogue, media_root):
    _import(org_a, "grid_factors", FIXTURES / "grid_factors.csv")
    _import(org_a, "disposal_factors", FIXTURES / "disposal_factors.csv")
    dataset = FactorDataset.objects.get(organization=org_a)
    factors = DisposalFactor.objects.filter(dataset=dataset)
    assert {(f.asset_class, f.disposal_route, f.kg_co2e_per_unit) for f in factors} == {
        ("gpu", "recycling", 2.1),
        ("gpu_server", "recycling", 35.0),
        ("gpu_server", "landfill", 80.0),
    }
    assert set(factors.values_list("organization", flat=True)) == {org_a.pk}


# --- csv_rows helpers ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-02-29", date(2024, 2, 29)), ("2023-02-29", "not a valid date"), ("2024-1-5", "YYYY-MM-DD")],
)
def test_date_cell(value, expected):
    if isinstance(expected, date):
        assert date_cell({"d": value}, "d") == expected
    else:
        with pytest.raises(CellError, match=expected):
            date_cell({"d": value}, "d")


def test_int_cell_and_optional():
    assert int_cell({"n": "7"}, "n", minimum=1) == 7
    assert int_cell({"n": "2024.0"}, "n") == 2024
    with pytest.raises(CellError, match="above the maximum 12"):
        int_cell({"n": "13"}, "n", maximum=12)
    assert optional(int_cell, {"n": ""}, "n") is None
    assert optional(int_cell, {}, "n") is None


def test_text_cell_max_length():
    assert text_cell({"t": "abc"}, "t", max_length=3) == "abc"
    with pytest.raises(CellError, match="4 characters long; the maximum is 3"):
        text_cell({"t": "abcd"}, "t", max_length=3)


def test_row_issue_names_row_and_column():
    rows = list(site_electricity.parse(b"site,period_start,period_end,energy_kwh\n\nx,2025-01-01,2025-01-31,-1\n"))
    assert rows == [
        RowIssue(
            row_number=3,
            column="energy_kwh",
            reason="energy_kwh -1 is below the minimum 0",
            raw=rows[0].raw,
            value="-1",
        )
    ]


# --- the management command ---


@pytest.mark.django_db(transaction=True)  # the command commits its batch; processing starts on commit
def test_ingest_command_imports_an_inventory_file(org_a, catalogue, media_root, capsys):
    path = str(FIXTURES / "hardware_assets_with_errors.csv")
    call_command("ingest", path, "--source", "hardware_assets", "--org", "org-a")
    out = capsys.readouterr().out
    assert "partial: 12 rows = 2 loaded + 0 duplicate + 10 rejected" in out
    assert "row 9: unknown hardware model 'B Secret Board'" in out
    call_command("ingest", path, "--source", "hardware_assets", "--org", "org-a")
    assert "partial: 12 rows = 0 loaded + 2 duplicate + 10 rejected" in capsys.readouterr().out
