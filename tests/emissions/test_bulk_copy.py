"""``copy_insert`` (PostgreSQL COPY) stores exactly what ``bulk_create`` stores, awkward values included."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from bench.billing_ingest import GENERATORS
from emissions.models import Calculation, EmissionRecord
from emissions.periods import period_parse
from emissions.services import ledger_draft
from emissions.services.bulk_copy import copy_insert
from emissions.services.ledger import inventory_calculate
from ingest.loaders import cloud_usage_load_lines
from ingest.parsers import azure_cost
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


@pytest.mark.django_db
def test_a_ledger_inserted_in_batches_equals_one_inserted_at_once(reference, tmp_path, monkeypatch):
    """The ledger inserts its records every RECORDS_IN_MEMORY (a month of a million Azure resources, a record
    each, held 3.4 GB of records before): the same records, in the same order, whatever the batch."""
    organization = OrganizationFactory(slug="batches", name="Batches")
    path = tmp_path / "azure.csv"
    GENERATORS["azure_cost"](path, 300)
    # A subscription a line: a billing group, hence a record, each.
    rows = list(csv.reader(path.read_text().splitlines()))
    at = rows[0].index("SubscriptionId")
    for number, row in enumerate(rows[1:]):
        row[at] = f"subscription-{number}"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with path.open("rb") as handle:
        for lines in azure_cost.read_lines(handle):
            cloud_usage_load_lines(organization=organization, lines=lines)
    at_once = inventory_calculate(organization=organization, period=period_parse("2025-03"))
    monkeypatch.setattr(ledger_draft, "RECORDS_IN_MEMORY", 7)
    in_batches = inventory_calculate(organization=organization, period=period_parse("2025-03"))
    stored = _stored(at_once)
    assert len(stored) > 100 and _stored(in_batches) == stored
