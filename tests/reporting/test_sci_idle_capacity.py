"""Issue 16, defect 9: SCI puts idle capacity in its boundary (ISO/IEC 21031:2024), or says what it leaves out."""

from datetime import UTC, date, datetime, timedelta

import pytest

from emissions.choices import AssetClass, FactorKind
from emissions.models import FactorDataset, GridFactor, HardwareAsset, HardwareModel, MeterReading
from emissions.periods import period_parse
from emissions.services.ledger import inventory_calculate
from reporting.reports.figures import calculation_figures
from tests.factories import GridZoneFactory, RunFactory, SiteFactory

LIFE_DAYS = 5 * 365.25


@pytest.fixture
def lab_with_idle_gpus(org_a):
    """Zone DE at 300 g/kWh. ``lab`` (PUE 1.25): 1,000 kWh metered in 2025-Q1 and 8 GPUs of 100 kg embodied
    each (5 years); two GPU runs. ``spare``: 100 kWh metered, no runs."""
    zone = GridZoneFactory(code="DE")
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    GridFactor.objects.create(
        dataset=dataset, zone=zone, kind=FactorKind.LOCATION, year=2025, intensity_g_per_kwh=300.0, source="t",
        licence="t",
    )  # fmt: skip
    lab = SiteFactory(organization=org_a, zone=zone, pue=1.25, slug="lab")
    spare = SiteFactory(organization=org_a, zone=zone, pue=1.25, slug="spare")
    for site, kwh in [(lab, 1000.0), (spare, 100.0)]:
        MeterReading.objects.create(
            site=site, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31), energy_kwh=kwh
        )
    gpu = HardwareModel.objects.create(
        name="GPU S", asset_class=AssetClass.GPU, gpu_count=1, embodied_kg_co2e=100, embodied_low_kg_co2e=100,
        embodied_high_kg_co2e=100, default_lifetime_years=5, source="t", licence="t",
    )  # fmt: skip
    HardwareAsset.objects.create(
        organization=org_a, site=lab, asset_id="gpus", hardware_model=gpu, quantity=8, lifetime_years=5,
        acquired_on=date(2025, 1, 1), in_service_on=date(2025, 1, 1),
    )  # fmt: skip
    start = datetime(2025, 2, 3, 8, tzinfo=UTC)
    for gpu_count, hours, kwh in [(4, 2, 10.0), (2, 6, 20.0)]:
        RunFactory(
            organization=org_a, site=lab, gpu_count=gpu_count, duration_s=hours * 3600.0, energy_kwh=kwh,
            started_at=start, ended_at=start + timedelta(hours=hours),
        )  # fmt: skip
    return org_a


@pytest.mark.django_db
def test_sci_per_gpu_hour_carries_the_sites_idle_capacity(lab_with_idle_gpus):
    """Hand computation for 2025-Q1 (90 days):

    Runs: A 4 GPUs × 2 h = 8 GPU-h, 10 kWh IT × 1.25 = 12.5 kWh × 0.3 = 3.75 kg; B 2 GPUs × 6 h = 12 GPU-h,
    20 × 1.25 = 25 kWh × 0.3 = 7.5 kg. Lab meter 1,000 kWh − 37.5 kWh of runs = 962.5 kWh idle × 0.3 =
    288.75 kg. Amortized embodied 800 kg × 90 / 1,826.25 = 39.425051 kg, of which the runs carry 20/17,280
    (8 GPUs × 90 days × 24 h) = 0.045631 kg and 39.379420 kg is idle.
    Lab numerator: 3.75 + 7.5 + 288.75 + 39.425051 = 339.425051 kg over 20 GPU-hours = 16,971.25 g/GPU-h
    (without idle capacity: (11.25 + 0.045631) / 20 = 564.78 g/GPU-h); per run: 169,712.53 g.
    Idle in the scores: 288.75 + 39.379420 = 328.129420 kg. Not in them: the spare site's 100 kWh × 0.3 = 30 kg.
    """
    calculation = inventory_calculate(organization=lab_with_idle_gpus, period=period_parse("2025-Q1"))
    values = calculation_figures(calculation=calculation).values
    amortized = 800 * 90 / LIFE_DAYS
    lab_kg = 3.75 + 7.5 + 962.5 * 0.3 + amortized
    assert values["M.sci-gpu-hour"] == pytest.approx(lab_kg * 1000 / 20)
    assert values["M.sci-gpu-hour"] == pytest.approx(16_971.25, abs=0.01)
    assert values["M.sci-run"] == pytest.approx(169_712.53, abs=0.01)
    assert values["M.sci-idle-in"] == pytest.approx((288.75 + amortized * (1 - 20 / 17_280)) / 1000)
    assert values["M.sci-idle-out"] == pytest.approx(0.030)


@pytest.mark.django_db
def test_idle_capacity_without_gpu_runs_is_disclosed_not_scored(lab_with_idle_gpus):
    """2025-Q2 (91 days) has no run and no meter reading: the lab's amortized embodied,
    800 kg × 91 / 1,826.25 = 39.863107 kg, is all idle; no run carries it, so no score and all of it disclosed."""
    calculation = inventory_calculate(organization=lab_with_idle_gpus, period=period_parse("2025-Q2"))
    values = calculation_figures(calculation=calculation).values
    assert values["M.sci-gpu-hour"] is None
    assert values["M.sci-idle-in"] == 0.0
    assert values["M.sci-idle-out"] == pytest.approx(800 * 91 / LIFE_DAYS / 1000)
    assert values["M.sci-idle-out"] == pytest.approx(0.039863107, abs=1e-9)
