"""The ledger services against the hand-computed figures of the accounting issue."""

import json
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from emissions.choices import AssetClass, Basis, FactorKind, InstrumentKind
from emissions.models import (
    Calculation,
    EmissionRecord,
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
from emissions.periods import period_parse
from emissions.selectors import calculation_restatement, inventory_summary
from emissions.services.ledger import inventory_calculate, inventory_ensure
from tests.factories import GridZoneFactory, RunFactory, SiteFactory


@pytest.fixture
def grid(db):
    """Zone DE with a 300 g/kWh location factor and a 400 g/kWh residual mix for 2025 (test dataset)."""
    zone = GridZoneFactory(code="DE")
    GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    dataset = FactorDataset.objects.create(name="test", version="1", title="t", source="test", licence="test")
    for kind, value in [(FactorKind.LOCATION, 300.0), (FactorKind.RESIDUAL_MIX, 400.0)]:
        GridFactor.objects.create(
            dataset=dataset, zone=zone, kind=kind, year=2025, intensity_g_per_kwh=value, source="test", licence="test"
        )
    return zone


@pytest.fixture
def site(org_a, grid):
    site = SiteFactory(organization=org_a, zone=grid, pue=1.25, name="Lab", slug="lab")
    MeterReading.objects.create(site=site, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), energy_kwh=1e5)
    return site


def _go(org, **overrides):
    values = {
        "organization": org, "instrument_id": "GO-1", "kind": InstrumentKind.GO, "zone": org.sites.get().zone,
        "vintage_start": date(2025, 1, 1), "vintage_end": date(2025, 12, 31), "energy_mwh": 40.0,
    }  # fmt: skip
    return EnergyInstrument.objects.create(**{**values, **overrides})


def _inventory(org, label: str) -> dict:
    # Parsed as if in 2029: the fleet's five-year life runs to 2030 (the bound itself: test_period_bounds.py).
    period = period_parse(label, today=date(2029, 1, 1))
    return inventory_summary(calculation=inventory_calculate(organization=org, period=period))


@pytest.mark.django_db
def test_scope2_location_and_market_with_a_go(org_a, site):
    _go(org_a)
    summary = _inventory(org_a, "2025")
    assert summary["scope_2_location_kg"] == pytest.approx(30_000)
    assert summary["scope_2_market_kg"] == pytest.approx(24_000)
    assert summary["energy_kwh"] == pytest.approx(100_000)


@pytest.mark.django_db
@pytest.mark.parametrize("other", [{"vintage_start": date(2023, 1, 1), "vintage_end": date(2023, 12, 31)}, "zone"])
def test_go_of_another_vintage_or_zone_covers_nothing(org_a, site, grid, other):
    overrides = {"zone": GridZoneFactory(code="FR")} if other == "zone" else other
    _go(org_a, **overrides)
    summary = _inventory(org_a, "2025")
    assert summary["scope_2_location_kg"] == pytest.approx(30_000)
    assert summary["scope_2_market_kg"] == pytest.approx(40_000)


@pytest.mark.django_db
def test_quarters_sum_to_the_year_with_an_instrument(org_a, site):
    _go(org_a)
    year = _inventory(org_a, "2025")
    quarters = [_inventory(org_a, f"2025-Q{q}") for q in range(1, 5)]
    for key in ("scope_2_location_kg", "scope_2_market_kg", "energy_kwh", "total_location_kg", "total_market_kg"):
        assert sum(q[key] for q in quarters) == pytest.approx(year[key]), key
    # The GO is used up by the first quarters' consumption, never twice.
    assert quarters[0]["scope_2_market_kg"] == 0.0


@pytest.mark.django_db
def test_metered_site_apportions_to_runs_and_keeps_the_meter(org_a, site):
    """Metered 100,000 kWh; runs 60,000 kWh IT at PUE 1.25 → 75,000 allocated, 25,000 unallocated."""
    for index, month in enumerate((2, 5, 9)):
        RunFactory(
            organization=org_a, site=site, energy_kwh=20_000, external_id=f"r{index}",
            started_at=datetime(2025, month, 3, tzinfo=UTC), ended_at=datetime(2025, month, 4, tzinfo=UTC),
        )  # fmt: skip
    summary = _inventory(org_a, "2025")
    run_kwh = EmissionRecord.objects.filter(scope=2, run__isnull=False).values_list("energy_kwh", flat=True)
    assert sum(run_kwh) == pytest.approx(75_000)
    assert summary["management"]["unallocated_energy_kwh"] == pytest.approx(25_000)
    assert summary["energy_kwh"] == pytest.approx(100_000)
    assert summary["scope_2_location_kg"] == pytest.approx(30_000)


@pytest.mark.django_db
def test_pue_is_not_applied_twice_to_a_tracker_that_applied_one(org_a, grid):
    unmetered = SiteFactory(organization=org_a, zone=grid, pue=1.5, slug="edge")
    RunFactory(organization=org_a, site=unmetered, energy_kwh=12.0, tracker_pue=1.2)
    summary = _inventory(org_a, "2025")
    assert summary["energy_kwh"] == pytest.approx(15.0)  # 12 / 1.2 × 1.5
    record = EmissionRecord.objects.get(scope=2)
    assert record.quality == "measured" and "no_meter" in record.flags


@pytest.fixture
def fleet(org_a, site):
    gpu = HardwareModel.objects.create(
        name="GPU X", asset_class=AssetClass.GPU, gpu_count=1, embodied_kg_co2e=164, embodied_low_kg_co2e=150,
        embodied_high_kg_co2e=575, default_lifetime_years=5, source="t", licence="t",
    )  # fmt: skip
    node = HardwareModel.objects.create(
        name="Node X", asset_class=AssetClass.SERVER_NODE_WITHOUT_GPUS, embodied_kg_co2e=2500,
        embodied_low_kg_co2e=2500, embodied_high_kg_co2e=5733, default_lifetime_years=5, source="t", licence="t",
    )  # fmt: skip
    common = {"organization": org_a, "site": site, "acquired_on": date(2025, 1, 1), "in_service_on": date(2025, 1, 1)}
    HardwareAsset.objects.create(asset_id="gpus", hardware_model=gpu, quantity=8, lifetime_years=5, **common)
    HardwareAsset.objects.create(asset_id="node", hardware_model=node, quantity=1, lifetime_years=5, **common)


@pytest.mark.django_db
def test_capital_goods_and_amortization(org_a, fleet):
    assert _inventory(org_a, "2025")["scope_3_kg_by_category"]["2"] == pytest.approx(3812)
    assert "2" not in _inventory(org_a, "2026")["scope_3_kg_by_category"]
    q1 = _inventory(org_a, "2025-Q1")
    assert q1["management"]["embodied_amortized_kg"] == pytest.approx(3812 * 90 / (5 * 365.25))
    # Management view stays out of the inventory totals.
    assert q1["total_location_kg"] == pytest.approx(q1["scope_2_location_kg"] + 3812)


@pytest.mark.django_db
def test_early_retirement_writes_off_the_balance(org_a, fleet):
    HardwareAsset.objects.update(retired_on=date(2027, 1, 1))
    years = {year: _inventory(org_a, str(year)) for year in range(2025, 2031)}
    written_off = {year: s["management"]["embodied_written_off_kg"] for year, s in years.items()}
    assert written_off[2027] == pytest.approx(3812 - 3812 * 730 / 1826.25)
    assert [kg for year, kg in written_off.items() if year != 2027] == [0.0] * 5
    amortized = sum(s["management"]["embodied_amortized_kg"] for s in years.values())
    assert amortized + written_off[2027] == pytest.approx(3812)
    roll = years[2027]["management"]["roll_forward"]
    assert roll["opening_kg"] == pytest.approx(3812 - 3812 * 730 / 1826.25)
    assert roll["closing_kg"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.django_db
def test_amortization_is_shared_by_gpu_hours_with_an_idle_remainder(org_a, fleet, site):
    # 8 GPUs × 90 days × 24 h = 17,280 GPU-hours available in Q1; one run uses 4 GPUs × 2 h = 8 GPU-hours.
    run = RunFactory(organization=org_a, site=site)
    _inventory(org_a, "2025-Q1")
    amortized = 3812 * 90 / (5 * 365.25)
    records = EmissionRecord.objects.filter(basis=Basis.EMBODIED_AMORTIZED)
    assert records.get(run=run).emissions_kg_co2e_location == pytest.approx(amortized * 8 / 17_280)
    assert records.get(run__isnull=True).emissions_kg_co2e_location == pytest.approx(amortized * (1 - 8 / 17_280))


@pytest.mark.django_db
def test_totals_never_mix_location_and_market(org_a, site, fleet):
    _go(org_a)
    dataset = FactorDataset.objects.create(name="s1", version="1", title="t", source="t", licence="t")
    FuelFactor.objects.create(
        dataset=dataset, fuel="diesel", unit="litre", kg_co2e_per_unit=2.6922, source="t", licence="t"
    )
    GlobalWarmingPotential.objects.create(dataset=dataset, gas="R-410A", gwp100=2255.5, source="t", licence="t")
    FuelUse.objects.create(
        organization=org_a, site=site, used_on=date(2025, 3, 1), fuel="diesel", quantity=100, unit="litre"
    )
    RefrigerantLoss.objects.create(
        organization=org_a, site=site, occurred_on=date(2025, 7, 1), gas="R-410A", kg_leaked=3.2
    )
    summary = _inventory(org_a, "2025")
    assert summary["scope_1_kg"] == pytest.approx(269.22 + 7217.6)
    scope_3 = sum(summary["scope_3_kg_by_category"].values())
    assert summary["total_location_kg"] == pytest.approx(
        summary["scope_1_kg"] + summary["scope_2_location_kg"] + scope_3
    )
    assert summary["total_market_kg"] == pytest.approx(summary["scope_1_kg"] + summary["scope_2_market_kg"] + scope_3)
    assert summary["total_location_kg"] - summary["total_market_kg"] == pytest.approx(30_000 - 24_000)


@pytest.mark.django_db
def test_recalculation_supersedes_and_lists_the_restatement(org_a, site, grid):
    period = period_parse("2025")
    first = inventory_ensure(organization=org_a, period=period)
    assert inventory_ensure(organization=org_a, period=period) == first  # unchanged inputs: reused
    first_records = list(first.records.values_list("pk", "emissions_kg_co2e_location"))
    # A new version of the location factor lands: 250 g/kWh.
    dataset = FactorDataset.objects.create(name="test", version="2", title="t", source="t", licence="t")
    GridFactor.objects.filter(dataset__version="1", kind=FactorKind.LOCATION).delete()
    GridFactor.objects.create(dataset=dataset, zone=grid, kind=FactorKind.LOCATION, year=2025,
                              intensity_g_per_kwh=250.0, source="t", licence="t")  # fmt: skip
    second = inventory_ensure(organization=org_a, period=period)
    assert second != first
    first.refresh_from_db()
    assert first.superseded_by == second
    assert list(first.records.values_list("pk", "emissions_kg_co2e_location")) == first_records
    assert inventory_summary(calculation=second)["scope_2_location_kg"] == pytest.approx(25_000)
    scope_2 = [line for line in calculation_restatement(previous=first, current=second) if line["scope"] == 2]
    assert scope_2[0]["change_location_kg"] == pytest.approx(-5_000)
    assert Calculation.objects.filter(superseded_by__isnull=True).count() == 1


@pytest.mark.django_db
def test_organization_override_wins_and_is_flagged(org_a, org_b, site, grid):
    own = FactorDataset.objects.create(organization=org_a, name="own", version="1", title="t", source="t", licence="t")
    GridFactor.objects.create(dataset=own, organization=org_a, zone=grid, kind=FactorKind.LOCATION, year=2025,
                              intensity_g_per_kwh=200.0, source="regulator", licence="t")  # fmt: skip
    assert _inventory(org_a, "2025")["scope_2_location_kg"] == pytest.approx(20_000)
    for record in EmissionRecord.objects.filter(scope=2, organization=org_a):
        assert "organization_override" in record.flags and record.factors["location"]["value"] == 200.0
    # Org B does not see org A's factor.
    site_b = SiteFactory(organization=org_b, zone=grid, slug="b-lab")
    MeterReading.objects.create(
        site=site_b, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), energy_kwh=1e5
    )
    assert _inventory(org_b, "2025")["scope_2_location_kg"] == pytest.approx(30_000)


@pytest.mark.django_db
def test_inventory_command_json(org_a, site, capsys):
    _go(org_a)
    call_command("inventory", "--org", "org-a", "--period", "2025-Q1", "--json")
    summary = json.loads(capsys.readouterr().out)
    for key in ("scope_1_kg", "scope_2_location_kg", "scope_2_market_kg", "scope_3_kg_by_category",
                "total_location_kg", "total_market_kg", "energy_kwh"):  # fmt: skip
        assert key in summary
    assert set(summary["management"]) >= {"embodied_amortized_kg", "embodied_written_off_kg", "unallocated_energy_kwh"}
    assert set(summary["management"]["roll_forward"]) == {
        "opening_kg", "additions_kg", "amortized_kg", "written_off_kg", "closing_kg",
    }  # fmt: skip
    assert summary["scope_2_location_kg"] == pytest.approx(100_000 * 90 / 365 * 0.3)


@pytest.mark.django_db
def test_inventory_api_is_scoped(client, org_a, org_b, alice, charlie, site):
    client.force_login(alice)
    body = client.get("/api/v1/inventory/?period=2025").json()
    assert body["organization"] == "org-a" and body["scope_2_location_kg"] == pytest.approx(30_000)
    client.force_login(charlie)
    body = client.get("/api/v1/inventory/?period=2025").json()
    assert body["organization"] == "org-b" and body["scope_2_location_kg"] == 0
    assert client.get("/api/v1/inventory/?period=last-year").status_code == 400


@pytest.mark.django_db
def test_trackers_that_add_up_to_more_than_the_meter_are_scaled_to_it_and_flagged(org_a, grid):
    """Energy conservation: 4 runs of 10 kWh IT × PUE 1.25 = 50 kWh against a 40 kWh meter reading."""
    site = SiteFactory(organization=org_a, zone=grid, pue=1.25, slug="small")
    MeterReading.objects.create(site=site, period_start=date(2025, 2, 1), period_end=date(2025, 2, 28), energy_kwh=40)
    for _ in range(4):
        RunFactory(organization=org_a, site=site)
    calculation = inventory_calculate(organization=org_a, period=period_parse("2025-02"))
    runs = EmissionRecord.objects.filter(calculation=calculation, scope=2, run__isnull=False)
    assert sum(r.energy_kwh for r in runs) == pytest.approx(40.0)  # never more than the meter
    assert all("trackers_exceed_meter" in r.flags for r in runs)
    assert any("exceeds its meter" in gap and "scaled by 0.800" in gap for gap in calculation.data_gaps)
