"""``copy_insert`` (PostgreSQL COPY) stores exactly what ``bulk_create`` stores, awkward values included."""

from __future__ import annotations

from datetime import date

import pytest

from emissions.models import Calculation, EmissionRecord
from emissions.services.bulk_copy import copy_insert
from tests.factories import OrganizationFactory


def _records(organization, calculation) -> list[EmissionRecord]:
    awkward = 'a "quoted", back\\slash, tab\there, new\nline, {braces}, comma, ünïcode, NULL'
    common = {
        "organization": organization,
        "calculation": calculation,
        "scope": 3,
        "period_start": date(2025, 3, 1),
        "period_end": date(2025, 3, 31),
        "methodology_version": "test",
    }
    return [
        EmissionRecord(
            **common,
            scope3_category=1,
            scope3_subcategory="cloud",
            activity_kind="cloud_usage",
            quality="billing_estimate",
            energy_kwh=1.0 / 3.0,
            emissions_kg_co2e_location=1e-300,
            emissions_kg_co2e_market=12345678.901234567,
            emissions_low_kg_co2e=0.0,
            emissions_high_kg_co2e=1e-299,
            factors={"note": awkward, "nested": {"list": [1, 2.5, None, True, awkward]}, "decimal": "1.10"},
            flags=[awkward, "", "NULL", "{x,y}"],
            factor_dataset_version=awkward,
        ),
        EmissionRecord(
            **common,
            scope3_category=1,
            scope3_subcategory="cloud",
            activity_kind="cloud_usage",
            quality="billing_estimate",
            energy_kwh=None,
            emissions_kg_co2e_location=0.0,
            emissions_kg_co2e_market=0.0,
            emissions_low_kg_co2e=0.0,
            emissions_high_kg_co2e=0.0,
        ),
    ]


def _stored(calculation) -> list[tuple]:
    fields = [f.attname for f in EmissionRecord._meta.concrete_fields if f.attname not in ("id", "calculation_id")]
    return list(EmissionRecord.objects.filter(calculation=calculation).order_by("id").values_list(*fields))


@pytest.mark.django_db
def test_copy_insert_stores_what_bulk_create_stores():
    organization = OrganizationFactory()
    by_copy, by_bulk = (
        Calculation.objects.create(
            organization=organization, period_start=date(2025, 3, 1), period_end=date(2025, 3, 31), reason=reason
        )
        for reason in ("copy", "bulk")
    )
    copy_insert(EmissionRecord, _records(organization, by_copy))
    EmissionRecord.objects.bulk_create(_records(organization, by_bulk))
    stored = _stored(by_copy)
    assert len(stored) == 2 and stored == _stored(by_bulk)
    first = EmissionRecord.objects.filter(calculation=by_copy).order_by("id").first()
    assert first.factors["nested"]["list"][4] == first.flags[0] == first.factor_dataset_version
