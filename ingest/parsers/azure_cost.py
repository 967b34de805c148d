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

from datetime import timedelta
from functools import partial

from emissions.records import CloudUsageRecord
from ingest.parsers import billing_units
from ingest.parsers.billing_columns import dialect_lines
from ingest.parsers.billing_rows import (
    Dialect,
    LineFields,
    Row,
    is_third_party,
    key_values,
    month_start,
    usage_or_correction,
)
from ingest.parsers.cloud_region_names import azure_region
from ingest.parsers.csv_rows import CellError

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
    "publisher_type": ("publishertype",),
    "publisher": ("publishername",),
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
    category = usage_or_correction(category, quantity)
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
        line_item_key=row.digest(),
        charge_category=category,
        service=service,
        sku=row.text("sku"),
        usage_type=row.text("meter_name"),
        instance_type=instance_type,
        region=azure_region(row.text("region")),
        usage_start=start,
        usage_end=start + timedelta(days=1),
        usage_quantity=quantity,
        usage_unit=unit,
        cost=row.number("cost", default=0.0),
        currency=row.text("currency") or "USD",
        resource_id=row.text("resource_id"),
        tags=tuple(sorted(key_values(row.raw("tags"), row.column("tags") or "Tags"))),
        vcpu_count=vcpu,
        marketplace=row.text("publisher_type").lower() == "marketplace"
        or service.lower() == "virtual machines licenses"
        or is_third_party(row.text("publisher")),
    )


DIALECT = Dialect(
    name="Azure cost details",
    aliases=ALIASES,
    required=("usage_date", "quantity", "cost"),
    build=build,
    # Plain CSV is read column-wise: no line id (the key is the row digest) and daily lines.
    line_fields=LineFields(key=None, start="usage_date", end=None, end_after=timedelta(days=1)),
)


# The generic batch path and the streaming path, as the PARSERS table expects them.
read_chunks = DIALECT.read_chunks
read_lines = partial(dialect_lines, DIALECT)
parse = DIALECT.parse
