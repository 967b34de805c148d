"""Writes for the cloud providers' own carbon figures (AWS CCFT, GCP Carbon Footprint, Azure Carbon
Optimization): the inventory number of a provider month, kgCO2e.

A figure is keyed on (organization, provider, billing period, source row key). The loader is
keyword-only, atomic and idempotent: a record identical to the stored row is a duplicate and writes
nothing; a changed record (a restated month) updates that row in place and counts as loaded. An
invalid record (unknown provider, a period that is not the first day of a month, a negative or
non-finite value, an over-long field) is rejected with a reason; the loader never raises for bad input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import transaction

from emissions.choices import CloudProvider
from emissions.models import Organization, ProviderCarbon
from emissions.records import ProviderCarbonRecord, UpsertOutcome

# Record fields stored as values (compared to detect a duplicate); the key fields are set on creation.
VALUE_FIELDS = (
    "account_id",
    "region",
    "service",
    "total_location_kg_co2e",
    "total_market_kg_co2e",
    "scope1_kg_co2e",
    "scope2_location_kg_co2e",
    "scope2_market_kg_co2e",
    "scope3_kg_co2e",
    "model_version",
)
MAX_LENGTHS = {"account_id": 100, "region": 64, "service": 200, "source_row_key": 128, "model_version": 50}
OPTIONAL_AMOUNTS = ("scope1_kg_co2e", "scope2_location_kg_co2e", "scope2_market_kg_co2e", "scope3_kg_co2e")


def _problem(record: Any) -> str:
    """Why ``record`` cannot be stored, or "" when it can."""
    if not isinstance(record, ProviderCarbonRecord):
        return f"not a provider carbon record ({type(record).__name__})"
    if record.provider not in CloudProvider.values:
        return f"provider {record.provider!r} is not one of {', '.join(CloudProvider.values)}"
    if not isinstance(record.billing_period, date) or record.billing_period.day != 1:
        return f"billing_period {record.billing_period} is not the first day of a month"
    for name, maximum in MAX_LENGTHS.items():
        value = getattr(record, name)
        if not isinstance(value, str):
            return f"{name} is not text"
        if len(value) > maximum:
            return f"{name} is {len(value)} characters long; the maximum is {maximum}"
    if not record.source_row_key:
        return "source_row_key is empty"
    for name in ("total_location_kg_co2e", "total_market_kg_co2e", *OPTIONAL_AMOUNTS):
        value = getattr(record, name)
        if value is None and name in OPTIONAL_AMOUNTS:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"{name} {value!r} is not a finite number"
        if value < 0:
            return f"{name} {value:g} is below the minimum 0"
    return ""


@transaction.atomic
def provider_carbon_upsert_many(
    *,
    organization: Organization,
    records: Sequence[ProviderCarbonRecord],
    source_batch_id: int | None = None,
    options: dict | None = None,
) -> UpsertOutcome:
    """Upsert provider carbon figures on (provider, billing_period, source_row_key) within ``organization``.

    ``options`` (the batch's) are accepted like every import source's and not used.
    """
    outcome = UpsertOutcome()
    valid: list[tuple[int, ProviderCarbonRecord]] = []
    for index, record in enumerate(records):
        problem = _problem(record)
        if problem:
            outcome.rejected[index] = problem
        else:
            valid.append((index, record))
    periods = {record.billing_period for _, record in valid}
    existing: dict[tuple[str, date, str], ProviderCarbon] = {
        (row.provider, row.billing_period, row.source_row_key): row
        for row in ProviderCarbon.objects.for_org(organization).filter(billing_period__in=periods)
    }
    created: dict[tuple[str, date, str], ProviderCarbon] = {}
    updated: dict[int, ProviderCarbon] = {}
    for _, record in valid:
        key = (record.provider, record.billing_period, record.source_row_key)
        values = {name: getattr(record, name) for name in VALUE_FIELDS}
        row = existing.get(key)
        if row is None:
            row = ProviderCarbon(
                organization=organization,
                provider=record.provider,
                billing_period=record.billing_period,
                source_row_key=record.source_row_key,
                source_batch_id=source_batch_id,
                **values,
            )
            existing[key] = created[key] = row
            outcome.loaded += 1
            continue
        if all(getattr(row, name) == value for name, value in values.items()):
            outcome.duplicate += 1
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.source_batch_id = source_batch_id
        if row.pk is not None:
            updated[row.pk] = row
        outcome.loaded += 1
    ProviderCarbon.objects.bulk_create(created.values(), batch_size=1000)
    ProviderCarbon.objects.bulk_update(updated.values(), [*VALUE_FIELDS, "source_batch_id"], batch_size=1000)
    return outcome
