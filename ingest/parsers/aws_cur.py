"""AWS Cost and Usage Report → ``CloudUsageRecord``: legacy CUR CSV (``lineItem/UsageStartDate``), its
Athena/Parquet snake_case form (``line_item_usage_start_date``, ``resource_tags_user_team``) and CUR 2.0
(Data Exports: ``line_item_*`` columns plus ``product`` and ``resource_tags`` maps, JSON text in CSV).

Meaning of the fields: ``billing_account`` the payer account, ``account_id`` the usage account, ``service`` the
product code (AmazonEC2), ``usage_type`` ``lineItem/UsageType``, ``sku`` ``product/sku`` when exported, cost
the unblended cost in ``lineItem/CurrencyCode``; the quantity is ``lineItem/UsageAmount`` in ``pricing/unit``
converted by billing_units. ``line_item_key`` is ``identity/LineItemId`` with the usage interval
(``<id>@<start>@<end>``: AWS repeats the id for every hour or day of a line), a row digest when absent.
"""

from __future__ import annotations

import re
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
    interval_key,
    key_values,
    month_start,
    normalize,
    parse_timestamp,
    usage_or_correction,
)

# field → normalized column names (legacy ``category/Name`` and snake_case normalize alike).
ALIASES: dict[str, tuple[str, ...]] = {
    "line_item_id": ("identitylineitemid",),
    "billing_account": ("billpayeraccountid",),
    "account_id": ("lineitemusageaccountid",),
    "billing_period_start": ("billbillingperiodstartdate",),
    "line_item_type": ("lineitemlineitemtype",),
    "usage_start": ("lineitemusagestartdate",),
    "usage_end": ("lineitemusageenddate",),
    "service": ("lineitemproductcode", "productservicecode"),
    "usage_type": ("lineitemusagetype",),
    "description": ("lineitemlineitemdescription",),
    "billing_entity": ("billbillingentity",),
    "product_name": ("productproductname",),
    "sku": ("productsku",),
    "resource_id": ("lineitemresourceid",),
    "quantity": ("lineitemusageamount",),
    "unit": ("pricingunit",),
    "cost": ("lineitemunblendedcost", "lineitemnetunblendedcost", "lineitemblendedcost"),
    "currency": ("lineitemcurrencycode",),
    "instance_type": ("productinstancetype",),
    "region": ("productregion", "productregioncode", "lineitemregion"),
    "vcpu": ("productvcpu",),
    "gpu": ("productgpu",),
    "memory": ("productmemory",),
    "product_map": ("product",),
    "tags_map": ("resourcetags",),
}

# lineItem/LineItemType → charge category; anything not listed is an adjustment (e.g. SavingsPlanNegation).
CHARGE_CATEGORIES: dict[str, str] = {
    "usage": "usage",
    "discountedusage": "usage",
    "savingsplancoveredusage": "usage",
    "tax": "tax",
    "credit": "credit",
    "refund": "credit",
    "bundleddiscount": "credit",
    "edpdiscount": "credit",
    "privaterateDiscount".lower(): "credit",
    "fee": "purchase",
    "rifee": "purchase",
    "savingsplanrecurringfee": "purchase",
    "savingsplanupfrontfee": "purchase",
}

# The product map of CUR 2.0 holds what legacy CUR has as product/* columns.
_PRODUCT_MAP_KEYS = {
    "instance_type": "instancetype",
    "region": "regioncode",
    "vcpu": "vcpu",
    "gpu": "gpu",
    "memory": "memory",
}
_FIRST_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _lenient_number(value: Any) -> float | None:
    """``1152 GiB`` → 1152.0; ``NA``/empty → None (product attributes are descriptive text)."""
    if value is None:
        return None
    match = _FIRST_NUMBER.search(str(value).replace(",", ""))
    return float(match.group()) if match else None


def _tags(row: Row) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    cells = row.cells
    # legacy resourceTags/user:team, Athena resource_tags_user_team
    for prefix, user in (("resourcetags/", "user:"), ("resource_tags_", "user_")):
        for column, key in row.schema.prefixed(prefix):
            value = str(cells[column] or "").strip() if column in cells else ""
            if value:
                pairs.append((key.removeprefix(user), value))
    map_column = row.column("tags_map")
    if map_column is not None:  # CUR 2.0: resource_tags = {"user_team": "x"}
        pairs += [
            (k.removeprefix("user_").removeprefix("user:"), v) for k, v in key_values(row.raw("tags_map"), map_column)
        ]
    return pairs


def _product(row: Row) -> dict[str, Any]:
    column = row.column("product_map")
    if column is None:
        return {}
    return {normalize(k): v for k, v in key_values(row.raw("product_map"), column)}


def build(row: Row) -> CloudUsageRecord:
    """One CUR line; raises CellError for a bad cell."""
    product = _product(row)

    def attribute(field: str) -> Any:
        return row.text(field) or product.get(_PRODUCT_MAP_KEYS[field], "")

    item_type = row.text("line_item_type")
    category = CHARGE_CATEGORIES.get(item_type.lower(), "adjustment")
    start = row.timestamp("usage_start")
    end = row.timestamp("usage_end") if row.text("usage_end") else start
    quantity = row.number("quantity", default=None if category == "usage" else 0.0)
    category = usage_or_correction(category, quantity)
    unit, quantity = billing_units.convert(row.text("unit"), quantity)
    period = row.raw("billing_period_start")
    usage_type = row.text("usage_type")
    marketplace = row.text("billing_entity").lower() == "aws marketplace" or "softwareusage" in usage_type.lower()
    instance_type = attribute("instance_type") or instance_type_in(usage_type, row.text("description"))
    return CloudUsageRecord(
        provider="aws",
        billing_account=row.text("billing_account"),
        account_id=row.text("account_id"),
        billing_period=month_start(
            parse_timestamp(period, row.column("billing_period_start") or "") if period else start
        ),
        line_item_key=interval_key(line_id, start, end) if (line_id := row.text("line_item_id")) else row.digest(),
        charge_category=category,
        service=row.text("service"),
        sku=row.text("sku"),
        usage_type=usage_type,
        instance_type=instance_type,
        region=attribute("region"),
        usage_start=start,
        usage_end=end,
        usage_quantity=quantity,
        usage_unit=unit,
        cost=row.number("cost", default=0.0),
        currency=row.text("currency") or "USD",
        resource_id=row.text("resource_id"),
        tags=tuple(sorted(_tags(row))),
        vcpu_count=_lenient_number(attribute("vcpu")),
        gpu_count=_lenient_number(attribute("gpu")),
        memory_gb=_lenient_number(attribute("memory")),
        marketplace=marketplace,
    )


DIALECT = Dialect(
    name="AWS CUR",
    aliases=ALIASES,
    required=("usage_start", "quantity", "cost"),
    build=build,
    line_fields=LineFields(tag_prefixes=("resourcetags/", "resource_tags_")),
)


# The generic batch path and the streaming path, as the PARSERS table expects them.
read_chunks = DIALECT.read_chunks
read_lines = partial(dialect_lines, DIALECT)
parse = DIALECT.parse
