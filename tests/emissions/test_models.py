"""Database constraints back the domain's invariants."""

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from emissions.choices import ActivityKind, Basis, QualityTier
from emissions.models import Calculation, EmissionRecord, MeterReading, Run
from tests.factories import RunFactory, SiteFactory


def _violates(factory, **kwargs) -> bool:
    try:
        with transaction.atomic():
            factory(**kwargs)
    except IntegrityError:
        return True
    return False


@pytest.mark.django_db
def test_run_rejects_negative_energy(org_a):
    assert _violates(RunFactory, organization=org_a, energy_kwh=-1.0)
    assert _violates(RunFactory, organization=org_a, gpu_energy_kwh=-0.1)


@pytest.mark.django_db
def test_run_external_id_unique_per_source_and_org(org_a, org_b):
    RunFactory(organization=org_a, source="native", external_id="x")
    assert _violates(RunFactory, organization=org_a, source="native", external_id="x")
    RunFactory(organization=org_a, source="codecarbon_api", external_id="x")
    RunFactory(organization=org_b, source="native", external_id="x")
    assert Run.objects.filter(external_id="x").count() == 3


@pytest.mark.django_db
def test_run_period_must_be_ordered(org_a):
    run = RunFactory.build(organization=org_a)
    assert _violates(RunFactory, organization=org_a, started_at=run.ended_at, ended_at=run.started_at)


@pytest.mark.django_db
def test_meter_reading_period_and_energy(org_a):
    site = SiteFactory(organization=org_a)

    def reading(**kwargs):
        values = {"site": site, "period_start": date(2025, 1, 1), "period_end": date(2025, 1, 31), "energy_kwh": 5.0}
        return MeterReading.objects.create(**{**values, **kwargs})

    assert _violates(reading, energy_kwh=-1)
    assert _violates(reading, period_start=date(2025, 2, 1))
    reading()
    assert _violates(reading)  # the same site and period twice


def _record(organization, calculation, **kwargs) -> EmissionRecord:
    values = {
        "organization": organization,
        "calculation": calculation,
        "scope": 2,
        "activity_kind": ActivityKind.SITE_ELECTRICITY,
        "period_start": date(2025, 1, 1),
        "period_end": date(2025, 12, 31),
        "emissions_kg_co2e_location": 10.0,
        "emissions_kg_co2e_market": 8.0,
        "emissions_low_kg_co2e": 9.0,
        "emissions_high_kg_co2e": 11.0,
        "quality": QualityTier.METERED,
        "methodology_version": "test",
    }
    return EmissionRecord.objects.create(**{**values, **kwargs})


@pytest.mark.django_db
def test_emission_record_scope_category_pairs(org_a):
    calculation = Calculation.objects.create(
        organization=org_a, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), methodology_version="t"
    )
    _record(org_a, calculation)
    same = {"emissions_kg_co2e_market": 10.0}
    _record(org_a, calculation, scope=3, scope3_category=2, basis=Basis.CAPITAL_GOODS, **same)
    assert _violates(_record, organization=org_a, calculation=calculation, scope=2, scope3_category=1)
    assert _violates(_record, organization=org_a, calculation=calculation, scope=3, **same)
    assert _violates(_record, organization=org_a, calculation=calculation, scope=3, scope3_category=16, **same)
    # Outside Scope 2 there is one figure: location and market must agree.
    assert _violates(_record, organization=org_a, calculation=calculation, scope=1)
    # The range must contain the central figure.
    assert _violates(_record, organization=org_a, calculation=calculation, emissions_low_kg_co2e=10.5)
