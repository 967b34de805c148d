"""Issue 16, defect 6: ``retired_on`` is the first day out of service, so capacity ends the day before."""

from datetime import UTC, date, datetime

import pytest

from emissions import calculations as calc
from emissions.choices import Basis
from emissions.models import EmissionRecord, HardwareAsset
from emissions.periods import period_parse
from emissions.services.ledger import inventory_calculate
from tests.factories import GpuModelFactory, GridZoneFactory, RunFactory, SiteFactory

MARCH = {"period_start": date(2026, 3, 1), "period_end": date(2026, 3, 31)}


def _asset(retired_on: date | None) -> calc.Asset:
    return calc.Asset(
        acquired_on=date(2026, 1, 1),
        in_service_on=date(2026, 1, 1),
        lifetime_years=5,
        embodied_kg_co2e=400.0,
        retired_on=retired_on,
    )


@pytest.mark.parametrize(
    ("retired_on", "days"),
    [
        (date(2026, 3, 11), 10),  # in service 1–10 March; the 11th is the first day out
        (date(2026, 3, 1), 0),  # out of service on the period's first day: no capacity at all
        (date(2026, 4, 1), 31),  # retired the day after the period: the whole month
        (None, 31),
    ],
)
def test_service_days_end_the_day_before_retirement(retired_on, days):
    assert calc.service_days(asset=_asset(retired_on), **MARCH) == days


@pytest.mark.django_db
def test_gpu_hours_available_stop_the_day_before_retirement(org_a):
    """4 GPUs retired on 2026-03-11 share March's amortization with one 8 GPU-hour run.

    Available: 4 GPUs × 10 days (1–10 March) × 24 h = 960 GPU-hours (the old rule counted the
    retirement day: 4 × 11 × 24 = 1,056). Amortized in March: 400 kg × 10 days / (5 × 365.25 days)
    = 2.190281 kg. The run (4 GPUs × 2 h = 8 GPU-hours) carries 2.190281 × 8 / 960 = 0.018252 kg
    (old: 0.016593 kg); the idle remainder is 2.190281 × 952 / 960 = 2.172028 kg.
    """
    site = SiteFactory(organization=org_a, zone=GridZoneFactory(code="DE"), slug="lab")
    gpu = GpuModelFactory()
    HardwareAsset.objects.create(
        organization=org_a, site=site, asset_id="retiring", hardware_model=gpu, quantity=4, lifetime_years=5,
        acquired_on=date(2026, 1, 1), in_service_on=date(2026, 1, 1), retired_on=date(2026, 3, 11),
    )  # fmt: skip
    run = RunFactory(
        organization=org_a, site=site, gpu_count=4, duration_s=7200.0,
        started_at=datetime(2026, 3, 5, 8, tzinfo=UTC), ended_at=datetime(2026, 3, 5, 10, tzinfo=UTC),
    )  # fmt: skip
    inventory_calculate(organization=org_a, period=period_parse("2026-03"))
    amortized = EmissionRecord.objects.filter(basis=Basis.EMBODIED_AMORTIZED)
    share = amortized.get(run=run)
    assert share.factors["gpu_hours_available"] == pytest.approx(960.0)
    assert share.emissions_kg_co2e_location == pytest.approx(400 * 10 / 1826.25 * 8 / 960)
    assert share.emissions_kg_co2e_location == pytest.approx(0.018252, abs=1e-6)
    idle = amortized.get(run__isnull=True)
    assert idle.emissions_kg_co2e_location == pytest.approx(2.172028, abs=1e-6)


@pytest.mark.django_db
def test_a_run_across_a_quarter_end_carries_embodied_in_both_quarters(org_a):
    """Issue 16, defect 5 (the embodied part): 4 GPUs of 100 kg in service since 2025-01-01 (5-year life); a run
    on 4 GPUs from 31 March 18:00 to 1 April 06:00 UTC = 48 GPU-hours, 24 in each quarter. Q1: 400 × 90 / 1,826.25
    = 19.712526 kg amortized over 4 × 90 × 24 = 8,640 GPU-hours → 24 GPU-hours carry 0.054757 kg; Q2: 400 × 91
    / 1,826.25 over 8,736 GPU-hours → the same 0.054757 kg (the rate per GPU-hour is constant). It used to put
    all 48 GPU-hours (0.109514 kg) in Q1 and nothing in Q2."""
    site = SiteFactory(organization=org_a, zone=GridZoneFactory(code="DE"), slug="lab")
    gpu = GpuModelFactory()
    HardwareAsset.objects.create(
        organization=org_a,
        site=site,
        asset_id="gpus",
        hardware_model=gpu,
        quantity=4,
        lifetime_years=5,
        acquired_on=date(2025, 1, 1),
        in_service_on=date(2025, 1, 1),
    )
    run = RunFactory(
        organization=org_a,
        site=site,
        gpu_count=4,
        duration_s=12 * 3600.0,
        started_at=datetime(2025, 3, 31, 18, tzinfo=UTC),
        ended_at=datetime(2025, 4, 1, 6, tzinfo=UTC),
    )
    for label, days in (("2025-Q1", 90), ("2025-Q2", 91)):
        calculation = inventory_calculate(organization=org_a, period=period_parse(label))
        share = EmissionRecord.objects.get(calculation=calculation, basis=Basis.EMBODIED_AMORTIZED, run=run)
        assert share.factors["gpu_hours"] == pytest.approx(24.0)
        assert share.emissions_kg_co2e_location == pytest.approx(400 * days / 1826.25 * 24 / (4 * days * 24))
        assert share.emissions_kg_co2e_location == pytest.approx(0.054757, abs=1e-6)
        assert (share.period_start, share.period_end) == (
            (date(2025, 3, 31), date(2025, 3, 31)) if label == "2025-Q1" else (date(2025, 4, 1), date(2025, 4, 1))
        )
