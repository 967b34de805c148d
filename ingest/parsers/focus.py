"""FOCUS 1.0/1.1/1.2 cost and usage export (FinOps Open Cost & Usage Spec) → ``CloudUsageRecord``.

Meaning of the fields: ``provider`` from ``ProviderName`` (aws, gcp, azure, else its lower-cased name),
``billing_account`` ``BillingAccountId``, ``account_id`` ``SubAccountId``, ``service`` ``ServiceName``, ``sku``
``SkuId``, ``usage_type`` ``x_UsageType`` (else ``SkuMeter``, else ``ChargeDescription``), ``region``
``RegionId`` (else ``RegionName``), as its region's code (cloud_region_names.provider_region). The quantity is
``ConsumedQuantity`` in ``ConsumedUnit`` (the measured use) when that unit is known to billing_units, else
``PricingQuantity`` in ``PricingUnit``. ``cost`` is ``EffectiveCost`` (amortized:
a commitment-covered line carries its share, a commitment purchase 0), else ``BilledCost``, in
``BillingCurrency``. ``SkuPriceDetails`` (1.1+, may be absent in 1.0) gives ``InstanceType``, ``CoreCount``,
``GpuCount`` and ``MemorySize`` (GiB). FOCUS has no line id: ``line_item_key`` is a row digest.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from emissions.records import CloudUsageRecord
from ingest.parsers import billing_units
from ingest.parsers.billing_columns import dialect_lines
from ingest.parsers.billing_rows import (
    Dialect,
    LineFields,
    Row,
    instance_type_in,
    is_third_party,
    key_values,
    month_start,
    usage_or_correction,
)
from ingest.parsers.cloud_region_names import provider_region
from ingest.parsers.csv_rows import CellError

ALIASES: dict[str, tuple[str, ...]] = {
    "provider": ("providername", "provider", "invoiceissuername"),
    "billing_account": ("billingaccountid",),
    "account_id": ("subaccountid",),
    "charge_category": ("chargecategory",),
    "usage_start": ("chargeperiodstart",),
    "usage_end": ("chargeperiodend",),
    "billing_period_start": ("billingperiodstart",),
    "service": ("servicename",),
    "sku": ("skuid",),
    "usage_type": ("xusagetype", "skumeter", "chargedescription"),
    "description": ("chargedescription",),
    "publisher": ("publishername",),
    "sku_details": ("skupricedetails",),
    "instance_type": ("xinstancetype", "xskuinstancetype"),
    "consumed_quantity": ("consumedquantity",),
    "consumed_unit": ("consumedunit",),
    "pricing_quantity": ("pricingquantity",),
    "pricing_unit": ("pricingunit",),
    "cost": ("effectivecost", "billedcost"),
    "currency": ("billingcurrency",),
    "region": ("regionid", "regionname"),
    "resource_id": ("resourceid",),
    "tags": ("tags",),
}

CHARGE_CATEGORIES: dict[str, str] = {
    "usage": "usage",
    "purchase": "purchase",
    "tax": "tax",
    "credit": "credit",
    "adjustment": "adjustment",
}
PROVIDERS: dict[str, str] = {
    "aws": "aws",
    "amazon web services": "aws",
    "amazon": "aws",
    "google cloud": "gcp",
    "google cloud platform": "gcp",
    "gcp": "gcp",
    "google": "gcp",
    "microsoft": "azure",
    "azure": "azure",
    "microsoft azure": "azure",
}


def _details(row: Row) -> dict[str, Any]:
    column = row.column("sku_details") or "SkuPriceDetails"
    return {key.lower(): value for key, value in key_values(row.raw("sku_details"), column)}


def _number(details: dict[str, Any], key: str, column: str) -> float | None:
    value = details.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise CellError(column, f"{key} {value!r} is not a number") from None


def _quantity(row: Row, category: str) -> tuple[str, float]:
    if row.text("consumed_unit") and row.text("consumed_quantity"):
        unit, quantity = billing_units.convert(row.text("consumed_unit"), row.number("consumed_quantity"))
        if not unit.startswith("unknown:"):
            return unit, quantity
    default = None if category == "usage" else 0.0
    return billing_units.convert(row.text("pricing_unit"), row.number("pricing_quantity", default=default))


def build(row: Row) -> CloudUsageRecord:
    """One FOCUS charge row; raises CellError for a bad cell."""
    category = CHARGE_CATEGORIES.get(row.text("charge_category").lower(), "adjustment")
    start = row.timestamp("usage_start")
    end = row.timestamp("usage_end") if row.text("usage_end") else start
    unit, quantity = _quantity(row, category)
    category = usage_or_correction(category, quantity)
    details = _details(row)
    details_column = row.column("sku_details") or "SkuPriceDetails"
    usage_type = row.text("usage_type")
    provider_name = row.text("provider")
    provider = PROVIDERS.get(provider_name.lower(), provider_name.lower())
    instance_type = row.text("instance_type") or str(details.get("instancetype") or "")
    if not instance_type and provider == "aws":
        instance_type = instance_type_in(usage_type, row.text("description"))
    period = row.timestamp("billing_period_start") if row.text("billing_period_start") else start
    return CloudUsageRecord(
        provider=provider,
        billing_account=row.text("billing_account"),
        account_id=row.text("account_id"),
        billing_period=month_start(period),
        line_item_key=row.digest(),
        charge_category=category,
        service=row.text("service"),
        sku=row.text("sku"),
        usage_type=usage_type,
        instance_type=instance_type,
        region=provider_region(provider, row.text("region")),
        usage_start=start,
        usage_end=end,
        usage_quantity=quantity,
        usage_unit=unit,
        cost=row.number("cost", default=0.0),
        currency=row.text("currency") or "USD",
        resource_id=row.text("resource_id"),
        tags=tuple(sorted(key_values(row.raw("tags"), row.column("tags") or "Tags"))),
        vcpu_count=_number(details, "corecount", details_column),
        gpu_count=_number(details, "gpucount", details_column),
        memory_gb=_number(details, "memorysize", details_column),
        marketplace=is_third_party(row.text("publisher"), provider_name),
    )


DIALECT = Dialect(
    name="FOCUS",
    aliases=ALIASES,
    required=("charge_category", "usage_start", "cost", "billing_account"),
    build=build,
    # Plain or gzip CSV is read column-wise: no line id (the key is the row digest); the quantity is the
    # consumed one, or the pricing one for kinds whose consumed unit we do not convert (as ``_quantity``).
    line_fields=LineFields(key=None, quantity="consumed_quantity", quantity_else="pricing_quantity"),
)


# The generic batch path and the streaming path, as the PARSERS table expects them.
read_chunks = DIALECT.read_chunks
read_lines = partial(dialect_lines, DIALECT)
parse = DIALECT.parse
