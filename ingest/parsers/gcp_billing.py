"""GCP Cloud Billing export → ``CloudUsageRecord``: the BigQuery table as flattened CSV (dotted field paths,
REPEATED fields as JSON arrays), as newline-delimited JSON with nested objects, or as Parquet.

Meaning of the fields: ``billing_account`` the billing account id, ``account_id`` the project id, ``service``
``service.description``, ``sku`` ``sku.id``, ``usage_type`` ``sku.description``, ``region`` ``location.region``
(else ``location.location``, e.g. a multi-region ``us``). The quantity is ``usage.amount_in_pricing_units`` in
``usage.pricing_unit`` (hour, gibibyte month…) when its unit is known, else ``usage.amount`` in ``usage.unit``
(seconds, byte-seconds…), converted by billing_units. ``cost`` is the *net* cost, ``cost + Σ credits.amount``
(credits are negative), in ``currency``. ``billing_period`` is ``invoice.month`` when present. Tags: resource
``labels`` under their own key, ``project.labels`` as ``project_label:<key>`` (resource label > project label).
"""

from __future__ import annotations

from datetime import date
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
from ingest.parsers.csv_rows import CellError

ALIASES: dict[str, tuple[str, ...]] = {
    "billing_account": ("billingaccountid",),
    "service": ("servicedescription", "serviceid"),
    "sku_id": ("skuid",),
    "sku_description": ("skudescription",),
    "usage_start": ("usagestarttime",),
    "usage_end": ("usageendtime",),
    "project": ("projectid", "projectname"),
    "project_labels": ("projectlabels",),
    "labels": ("labels",),
    "system_labels": ("systemlabels",),
    "region": ("locationregion", "locationlocation"),
    "cost": ("cost",),
    "currency": ("currency",),
    "amount": ("usageamount",),
    "unit": ("usageunit",),
    "pricing_amount": ("usageamountinpricingunits",),
    "pricing_unit": ("usagepricingunit",),
    "credits": ("credits",),
    "invoice_month": ("invoicemonth",),
    "cost_type": ("costtype",),
    "resource": ("resourceglobalname", "resourcename"),
    "seller": ("sellername",),
}

# cost_type → charge category (credits ride on their line; there is no credit cost_type).
CHARGE_CATEGORIES: dict[str, str] = {"regular": "usage", "tax": "tax", "adjustment": "adjustment"}

_MACHINE_SPEC = "compute.googleapis.com/machine_spec"
_CORES = "compute.googleapis.com/cores"
_MEMORY_MB = "compute.googleapis.com/memory"  # MiB


def _quantity(row: Row, category: str) -> tuple[str, float]:
    default = None if category == "usage" else 0.0
    if row.text("pricing_unit"):
        unit, quantity = billing_units.convert(row.text("pricing_unit"), row.number("pricing_amount", default=default))
        if not unit.startswith("unknown:"):
            return unit, quantity
    return billing_units.convert(row.text("unit"), row.number("amount", default=default))


def _net_cost(row: Row) -> float:
    cost = row.number("cost", default=0.0)
    column = row.column("credits") or "credits"
    credits = row.json("credits") or []
    if not isinstance(credits, list):
        raise CellError(column, "is not a list of credits")
    for credit in credits:
        try:
            amount = float(credit.get("amount", 0) if isinstance(credit, dict) else credit)
        except (TypeError, ValueError):
            raise CellError(column, f"{credit!r} has no numeric amount") from None
        cost += amount
    return round(cost, 9)  # float sums of credits: keep 1061.88 - 300 = 761.88


def _billing_period(row: Row, start) -> date:
    month = row.text("invoice_month")
    if len(month) == 6 and month.isdigit() and 1 <= int(month[4:]) <= 12:
        return date(int(month[:4]), int(month[4:]), 1)
    return month_start(start)


def build(row: Row) -> CloudUsageRecord:
    """One GCP billing line; raises CellError for a bad cell."""
    category = CHARGE_CATEGORIES.get(row.text("cost_type").lower(), "adjustment")
    start = row.timestamp("usage_start")
    end = row.timestamp("usage_end") if row.text("usage_end") else start
    unit, quantity = _quantity(row, category)
    category = usage_or_correction(category, quantity)
    system = dict(key_values(row.raw("system_labels"), row.column("system_labels") or "system_labels"))
    labels = key_values(row.raw("labels"), row.column("labels") or "labels")
    project_labels = key_values(row.raw("project_labels"), row.column("project_labels") or "project_labels")
    cores, memory_mib = system.get(_CORES), system.get(_MEMORY_MB)
    try:
        vcpu = float(cores) if cores else None
        memory_gb = float(memory_mib) / 1024 if memory_mib else None
    except ValueError:
        raise CellError(row.column("system_labels") or "system_labels", "has a non-numeric cores/memory") from None
    return CloudUsageRecord(
        provider="gcp",
        billing_account=row.text("billing_account"),
        account_id=row.text("project"),
        billing_period=_billing_period(row, start),
        line_item_key=row.digest(),
        charge_category=category,
        service=row.text("service"),
        sku=row.text("sku_id"),
        usage_type=row.text("sku_description"),
        instance_type=system.get(_MACHINE_SPEC, ""),
        region=row.text("region"),
        usage_start=start,
        usage_end=end,
        usage_quantity=quantity,
        usage_unit=unit,
        cost=_net_cost(row),
        currency=row.text("currency") or "USD",
        resource_id=row.text("resource"),
        tags=tuple(sorted(labels + [(f"project_label:{k}", v) for k, v in project_labels])),
        vcpu_count=vcpu,
        memory_gb=memory_gb,
        marketplace=is_third_party(row.text("seller")),
    )


DIALECT = Dialect(
    name="GCP billing",
    aliases=ALIASES,
    required=("usage_start", "cost", "service"),
    build=build,
    allow_jsonl=True,
    # Plain or gzip CSV is read column-wise: no line id (row digest); the pricing-unit amount, or the usage
    # amount for kinds whose pricing unit we do not convert; credits per line; invoice.month in the kind.
    line_fields=LineFields(
        key=None,
        quantity="pricing_amount",
        quantity_else="amount",
        resource="resource",
        credits="credits",
        period_in_kind=True,
    ),
)


# The generic batch path and the streaming path, as the PARSERS table expects them.
read_chunks = DIALECT.read_chunks
read_lines = partial(dialect_lines, DIALECT)
parse = DIALECT.parse
