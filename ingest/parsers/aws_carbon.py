"""AWS Customer Carbon Footprint Tool: the Data Exports "Carbon emissions" CSV (one row per payer, usage
account, region, product and month).

Columns read: ``payer_account_id``, ``usage_account_id``, ``region_code``, ``product_code``,
``usage_period_start``, ``usage_period_end``, ``total_lbm_emissions_value`` / ``_unit`` (location-based)
``total_mbm_emissions_value`` / ``_unit`` (market-based) and ``model_version``; ``location`` and
``last_refresh_timestamp`` are ignored, other extra columns are tolerated.

Units: the export states MTCO2e (metric tonnes) per value; a value is stored in kgCO2e as value × 1000,
computed on the decimal text so ``1.027`` becomes exactly ``1027.0``. Any other unit rejects the row.
The CCFT v2 figures cover Scopes 1 and 2 only (no scope split in the export), so the scope fields
stay empty; ``model_version`` (e.g. ``v2.0.0``) is kept so a v3 restatement (adds Scope 3) is visible.

Period: ``usage_period_start`` must be midnight UTC on the first day of a month and
``usage_period_end`` the first day of the next month (AWS writes an *exclusive* end,
``2025-04-01 00:00:00Z`` for March); ``billing_period`` is the start's date.

``source_row_key`` is a digest of (payer, usage account, region, product, month), so a re-imported
file is all duplicates and a restated month (new values, or a new model version) updates its rows.
Also holds the small helpers (``row_key``, ``month_cell``, ``decimal_text_cell``) shared with
gcp_carbon and azure_carbon. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from emissions.choices import CloudProvider
from emissions.records import ProviderCarbonRecord
from ingest.parsers.csv_rows import CellError, csv_dict_rows, row_issue, text_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = [
    "payer_account_id",
    "usage_account_id",
    "region_code",
    "product_code",
    "usage_period_start",
    "usage_period_end",
    "total_lbm_emissions_value",
    "total_lbm_emissions_unit",
    "total_mbm_emissions_value",
    "total_mbm_emissions_unit",
    "model_version",
]
# Accepted spellings of the export's unit (metric tonnes of CO2e), compared case-insensitively.
TONNE_UNITS = {"mtco2e", "tco2e"}
KG_PER_TONNE = Decimal(1000)
PROVIDER = CloudProvider.AWS.value


def row_key(provider: str, *parts: str) -> str:
    """A stable digest (64 hex characters) of a row's identifying columns; unambiguous for any text."""
    payload = json.dumps([provider, *parts], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def decimal_text_cell(row: dict[str, str], column: str) -> Decimal:
    """A required, finite, non-negative number cell, read exactly as written."""
    value = text_cell(row, column)
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise CellError(column, f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise CellError(column, f"{value!r} is not a finite number")
    if number < 0:
        raise CellError(column, f"{value} is below the minimum 0")
    return number


def rounding_allowance(*numbers: Decimal) -> float:
    """Half a unit in the last written digit of each number, summed: how far a sum of rounded values
    may honestly differ from a total rounded the same way."""
    # A written exponent above 300 (``1e309``) would overflow a float: such a value is rejected anyway.
    return sum(0.5 * 10.0 ** min(number.as_tuple().exponent, 300) for number in numbers)


def month_cell(row: dict[str, str], column: str) -> date:
    """A month written as the ISO date of its first day (``2025-03-01``)."""
    value = text_cell(row, column)
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise CellError(column, f"{value!r} is not a date in the format YYYY-MM-DD") from exc
    if day.day != 1:
        raise CellError(column, f"{value} is not the first day of a month")
    return day


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _utc_midnight_cell(row: dict[str, str], column: str) -> date:
    """``YYYY-MM-DD HH:mm:ssZ`` (or ISO 8601 with ``T``/offset, or a bare date) at 00:00:00 UTC."""
    value = text_cell(row, column)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CellError(column, f"{value!r} is not a timestamp like 2025-03-01 00:00:00Z") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if moment.time() != datetime.min.time():
        raise CellError(column, f"{value} is not midnight UTC: a monthly export starts and ends at 00:00:00Z")
    return moment.date()


def _kg_cell(row: dict[str, str], value_column: str, unit_column: str) -> float:
    unit = text_cell(row, unit_column)
    if unit.lower() not in TONNE_UNITS:
        raise CellError(unit_column, f"{unit!r} is not MTCO2e, the unit of the CCFT export")
    return float(decimal_text_cell(row, value_column) * KG_PER_TONNE)


def _record(row: dict[str, str]) -> ProviderCarbonRecord:
    start = _utc_midnight_cell(row, "usage_period_start")
    if start.day != 1:
        raise CellError("usage_period_start", f"{row['usage_period_start']} is not the first day of a month")
    end = _utc_midnight_cell(row, "usage_period_end")
    if end != _next_month(start):
        raise CellError(
            "usage_period_end",
            f"{row['usage_period_end']} is not {_next_month(start)} 00:00:00Z, the exclusive end of the month "
            f"starting {start}",
        )
    location_kg = _kg_cell(row, "total_lbm_emissions_value", "total_lbm_emissions_unit")
    market_kg = _kg_cell(row, "total_mbm_emissions_value", "total_mbm_emissions_unit")
    payer = row["payer_account_id"]
    account = text_cell(row, "usage_account_id", max_length=100)
    region = row["region_code"]
    if len(region) > 64:
        raise CellError("region_code", f"is {len(region)} characters long; the maximum is 64")
    product = text_cell(row, "product_code", max_length=200)
    return ProviderCarbonRecord(
        provider=PROVIDER,
        account_id=account,
        billing_period=start,
        region=region,
        service=product,
        total_location_kg_co2e=location_kg,
        total_market_kg_co2e=market_kg,
        source_row_key=row_key(PROVIDER, payer, account, region, product, start.isoformat()),
        model_version=row["model_version"][:50],
    )


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield one ProviderCarbonRecord per row, or a RowIssue naming the row, column and reason.

    A row repeating an earlier row's key is rejected (it would silently overwrite it).
    """
    return carbon_rows(content, required=REQUIRED_COLUMNS, build=_record)


def carbon_rows(content: bytes, *, required: list[str], build) -> Iterator[ParsedRow | RowIssue]:
    """The row loop of the provider carbon parsers: build each row, refuse cell errors and repeated keys."""
    seen: dict[str, int] = {}
    for row_number, row in csv_dict_rows(content, required=required):
        try:
            record = build(row)
        except CellError as exc:
            yield row_issue(row_number, row, exc)
            continue
        issue = repeated_key_issue(seen, row_number, row, record)
        if issue is not None:
            yield issue
            continue
        yield ParsedRow(row_number=row_number, record=record)


def repeated_key_issue(
    seen: dict[str, int], row_number: int, row: dict[str, str], record: ProviderCarbonRecord
) -> RowIssue | None:
    """A RowIssue when ``record``'s key was already used by an earlier row of the file, else remember it."""
    first = seen.setdefault(record.source_row_key, row_number)
    if first == row_number:
        return None
    return RowIssue(
        row_number=row_number,
        column="",
        reason=(
            f"repeats row {first}: same account, region, service and month "
            f"({record.account_id or '-'}, {record.region or '-'}, {record.service or '-'}, "
            f"{record.billing_period:%Y-%m}); a month has one figure per key"
        ),
        raw=str(row),
    )
