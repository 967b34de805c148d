"""A small organization whose 2025-Q1 ESRS E1 figures are computed by hand in the tests.

Zone DE: location 300, residual mix 400, upstream 50, T&D 20 gCO2e/kWh; mix 40 % fossil, 10 % nuclear,
50 % renewable. Zone FR: location 60 gCO2e/kWh; mix 10/70/20.
- ``lab`` (owned, DE, buys its electricity): 9,000 kWh metered in Q1; a 2 MWh unbundled GO.
  Scope 2 location 2,700 kg, market 2,000 kWh × 0 + 7,000 × 0.4 = 2,800 kg; Cat 3b 450 kg, 3c 180 kg.
- ``colo`` (colocation, FR, electricity in the fee): 1,000 kWh metered → Cat 1 colocation 60 kg.
- A cloud run in aws eu-central-1 (DE, PUE 1.2): 100 kWh IT → 120 kWh × 300 g = 36 kg Cat 1 cloud.
- Scope 1: 100 L diesel × 2.6922 = 269.22 kg (1,003.354 kWh at 0.26832 kg/kWh NCV) and 1 kg R-410A
  × 2,255.5 = 2,255.5 kg.
- Cat 2: 8 GPUs at the supplier's own 200 kg each = 1,600 kg (provider-reported, primary data).
- Net revenue Q1 EUR 1,000,000; credits cancelled: 2 t removal + 3 t reduction.
"""

from datetime import UTC, date, datetime

import pytest

from emissions.choices import AssetClass, FactorKind, InstrumentKind, SiteOwnership
from emissions.models import (
    CarbonCredit,
    CloudRegion,
    EnergyInstrument,
    FactorDataset,
    FuelFactor,
    FuelUse,
    GlobalWarmingPotential,
    GridEnergyMix,
    GridFactor,
    HardwareAsset,
    HardwareModel,
    MeterReading,
    NetRevenue,
    Project,
    RefrigerantLoss,
)
from tests.factories import GridZoneFactory, RunFactory, SiteFactory


def _grid_factor(dataset, zone, kind, value):
    GridFactor.objects.create(
        dataset=dataset, zone=zone, kind=kind, year=2025, intensity_g_per_kwh=value, source="test", licence="CC-BY"
    )


@pytest.fixture
def small_org(org_a):
    de = GridZoneFactory(code="DE", name="Germany", country_iso3="DEU")
    fr = GridZoneFactory(code="FR", name="France", country_iso3="FRA")
    grid = FactorDataset.objects.create(
        name="test-grid", version="2025.1", title="Test grid factors", source="hand-made", licence="CC-BY-4.0"
    )
    for kind, value in [
        (FactorKind.LOCATION, 300.0),
        (FactorKind.RESIDUAL_MIX, 400.0),
        (FactorKind.UPSTREAM, 50.0),
        (FactorKind.TD_LOSS, 20.0),
    ]:
        _grid_factor(grid, de, kind, value)
    _grid_factor(grid, fr, FactorKind.LOCATION, 60.0)
    for zone, shares in [(de, (40.0, 10.0, 50.0)), (fr, (10.0, 70.0, 20.0))]:
        GridEnergyMix.objects.create(
            dataset=grid, zone=zone, year=2025, fossil_share_pct=shares[0], nuclear_share_pct=shares[1],
            renewable_share_pct=shares[2], source="test", licence="CC-BY-4.0",
        )  # fmt: skip
    lab = SiteFactory(organization=org_a, zone=de, pue=1.25, name="Lab", slug="lab")
    colo = SiteFactory(
        organization=org_a,
        zone=fr,
        name="Colo",
        slug="colo",
        ownership=SiteOwnership.COLOCATION,
        buys_electricity=False,
    )
    for site, kwh in [(lab, 9000.0), (colo, 1000.0)]:
        MeterReading.objects.create(
            site=site, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31), energy_kwh=kwh
        )
    EnergyInstrument.objects.create(
        organization=org_a, instrument_id="GO-1", kind=InstrumentKind.GO, zone=de, vintage_start=date(2025, 1, 1),
        vintage_end=date(2025, 12, 31), energy_mwh=2.0, bundled=False,
    )  # fmt: skip
    scope_1 = FactorDataset.objects.create(
        name="test-scope1", version="1", title="IPCC 2006 defaults", source="IPCC", licence="IPCC"
    )
    FuelFactor.objects.create(
        dataset=scope_1, fuel="diesel", unit="litre", kg_co2e_per_unit=2.6922, source="t", licence="t"
    )
    FuelFactor.objects.create(
        dataset=scope_1, fuel="diesel", unit="kWh (net CV)", kg_co2e_per_unit=0.26832, source="t", licence="t"
    )
    GlobalWarmingPotential.objects.create(dataset=scope_1, gas="R-410A", gwp100=2255.5, source="t", licence="t")
    FuelUse.objects.create(
        organization=org_a, site=lab, used_on=date(2025, 2, 1), fuel="diesel", quantity=100, unit="litre"
    )
    RefrigerantLoss.objects.create(
        organization=org_a, site=lab, occurred_on=date(2025, 3, 1), gas="R-410A", kg_leaked=1.0
    )
    region = CloudRegion.objects.create(
        dataset=grid, provider="aws", region="eu-central-1", zone=de, pue=1.2, licence="t"
    )
    project = Project.objects.get(organization=org_a, slug="a-project")
    RunFactory(
        organization=org_a, project=project, cloud_region=region, energy_kwh=100.0, external_id="cloud-1",
        started_at=datetime(2025, 3, 10, 8, tzinfo=UTC), ended_at=datetime(2025, 3, 10, 10, tzinfo=UTC),
    )  # fmt: skip
    gpu = HardwareModel.objects.create(
        name="GPU T", asset_class=AssetClass.GPU, gpu_count=1, embodied_kg_co2e=164, embodied_low_kg_co2e=150,
        embodied_high_kg_co2e=575, default_lifetime_years=5, source="t", licence="t",
    )  # fmt: skip
    HardwareAsset.objects.create(
        organization=org_a, asset_id="gpus", hardware_model=gpu, quantity=8, site=lab, acquired_on=date(2025, 1, 1),
        in_service_on=date(2025, 1, 1), lifetime_years=5, embodied_kg_co2e_per_unit=200.0,
    )  # fmt: skip
    NetRevenue.objects.create(
        organization=org_a,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        amount=1_000_000,
        currency="EUR",
    )
    CarbonCredit.objects.create(
        organization=org_a, credit_id="C-1", cancelled_on=date(2025, 2, 1), tonnes_co2e=2, kind="removal"
    )
    CarbonCredit.objects.create(
        organization=org_a, credit_id="C-2", cancelled_on=date(2025, 2, 2), tonnes_co2e=3, kind="reduction"
    )
    return org_a
