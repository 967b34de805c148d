"""Azure Cost Management cost details → ``CloudUsageRecord``: EA PascalCase (``MeterCategory``, ``Quantity``,
``CostInBillingCurrency``), MCA camelCase (``meterCategory``, ``costInBillingCurrency``) and the legacy EA
names (``Instance ID``, ``Meter Category``, ``Consumed Quantity``, ``ExtendedCost``).

Meaning of the fields: ``billing_account`` the billing account (else the EA account name), ``account_id`` the
subscription, ``service`` ``MeterCategory``, ``sku`` ``MeterSubCategory``, ``usage_type`` ``MeterName``,
``region`` ``ResourceLocation`` (else ``MeterRegion``). Lines are daily: ``usage_end`` is the next midnight UTC.
The quantity is ``Quantity`` blocks of ``UnitOfMeasure`` (``10 Hours`` multiplies by 10) via billing_units;
cost ``CostInBillingCurrency``. ``Tags`` may be JSON without braces; ``AdditionalInfo`` gives the VM size
(``ServiceType``) and ``VCPUs``. The export has no line id, so ``line_item_key`` is a row digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

from emissions.records import CloudUsageRecord
from ingest.parsers import billing_units
from ingest.parsers.billing_read import DEFAULT_MAX_DECOMPRESSED_BYTES
from ingest.parsers.billing_rows import Dialect, Row, dialect_chunks, key_values, month_start, parse_bytes, row_digest
from ingest.parsers.csv_rows import CellError
from ingest.records import ParsedRow, RowIssue

ALIASES: dict[str, tuple[str, ...]] = {
    "billing_account": ("billingaccountid", "billingaccountname", "enrollmentnumber", "accountname"),
    "account_id": ("subscriptionid", "subscriptionguid"),
    "usage_date": ("date", "usagedatetime", "usagedate"),
    "billing_period_start": ("billingperiodstartdate",),
    "service": ("metercategory",),
    "sku": ("metersubcategory",),
    "meter_name": ("metername",),
    "unit": ("unitofmeasure",),
    "quantity": ("quantity", "consumedquantity", "usagequantity"),
    "cost": ("costinbillingcurrency", "extendedcost", "pretaxcost", "cost"),
    "currency": ("billingcurrencycode", "billingcurrency", "currency", "currencycode"),
    "charge_type": ("chargetype",),
    "region": ("resourcelocation", "meterregion", "location"),
    "resource_id": ("resourceid", "instanceid"),
    "tags": ("tags",),
    "additional_info": ("additionalinfo",),
}

# ChargeType → charge category; others (UnusedReservation, UnusedSavingsPlan, RoundingAdjustment) adjust.
CHARGE_CATEGORIES: dict[str, str] = {"usage": "usage", "purchase": "purchase", "refund": "credit", "tax": "tax"}


def _additional_info(row: Row) -> dict:
    info = row.json("additional_info")
    if info is None:
        return {}
    if not isinstance(info, dict):
        raise CellError(row.column("additional_info") or "AdditionalInfo", "is not a JSON object")
    return {key.lower(): value for key, value in info.items()}


def build(row: Row) -> CloudUsageRecord:
    """One Azure cost line; raises CellError for a bad cell."""
    # ChargeType is absent from the legacy EA usage export, which only lists usage.
    category = CHARGE_CATEGORIES.get((row.text("charge_type") or "usage").lower(), "adjustment")
    start = row.timestamp("usage_date")
    quantity = row.number("quantity", default=None if category == "usage" else 0.0)
    if category == "usage" and quantity < 0:
        raise CellError(row.column("quantity") or "Quantity", f"{quantity:g} is negative on a usage line")
    unit, quantity = billing_units.convert(row.text("unit"), quantity)
    info = _additional_info(row)
    service = row.text("service")
    instance_type = str(info.get("servicetype") or "")
    if not instance_type and service.lower() == "virtual machines":
        instance_type = row.text("meter_name")
    try:
        vcpu = float(info["vcpus"]) if info.get("vcpus") not in (None, "") else None
    except (TypeError, ValueError):
        raise CellError(row.column("additional_info") or "AdditionalInfo", "VCPUs is not a number") from None
    period = row.timestamp("billing_period_start") if row.text("billing_period_start") else start
    return CloudUsageRecord(
        provider="azure",
        billing_account=row.text("billing_account"),
        account_id=row.text("account_id"),
        billing_period=month_start(period),
        line_item_key=row_digest(row.cells),
        charge_category=category,
        service=service,
        sku=row.text("sku"),
        usage_type=row.text("meter_name"),
        instance_type=instance_type,
        region=row.text("region"),
        usage_start=start,
        usage_end=start + timedelta(days=1),
        usage_quantity=quantity,
        usage_unit=unit,
        cost=row.number("cost", default=0.0),
        currency=row.text("currency") or "USD",
        resource_id=row.text("resource_id"),
        tags=tuple(sorted(key_values(row.raw("tags"), row.column("tags") or "Tags"))),
        vcpu_count=vcpu,
    )


DIALECT = Dialect(name="Azure cost details", aliases=ALIASES, required=("usage_date", "quantity", "cost"), build=build)


def read_chunks(
    source: str | Path | IO[bytes],
    *,
    chunk_rows: int = 50_000,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> Iterator[list[ParsedRow | RowIssue]]:
    """Stream an Azure cost export (CSV, CSV.gz or Parquet) as chunks of parsed rows or issues.

    Row numbers: CSV line numbers (header = row 1); Parquet record index (1-based) + 1.
    """
    return dialect_chunks(DIALECT, source, chunk_rows=chunk_rows, max_decompressed_bytes=max_decompressed_bytes)


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """:func:`read_chunks` over in-memory bytes, one row at a time (the generic batch path)."""
    return parse_bytes(DIALECT, content, options)
