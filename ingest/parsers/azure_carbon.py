"""Azure Carbon Optimization emission reports (``carbonEmissionReports``, API 2025-04-01), report rows
flattened to CSV with a ``date`` (the queried month) and a ``scope`` (the query's carbonScopeList).

Columns read: ``dataType``, ``date``, ``latestMonthEmissions``, ``itemName``, ``subscriptionId``,
``resourceGroup``, ``location`` and, when present, ``categoryType``, ``scope``, ``resourceId``.
``previousMonthEmissions`` and the change columns are not loaded: the previous month is imported
from its own export, so it is never counted from two files.

What is loaded, so nothing is counted twice: only the resource rows (``ResourceItemDetailsData``,
the ItemDetails report with categoryType Resource). Summary rows (``MonthlySummaryData``,
``OverallSummaryData``, the TopItems… rows) restate the same emissions and are never loaded;
``MonthlySummaryData`` serves as a check instead: when a month's summary rows do not add up to that
month's resource rows (within rounding), the first summary row is reported as a row error (the
resource rows are still loaded). Item rows of other categories (subscription, resource group,
location…) are rejected, since they would count the resource rows again.

Unit assumption: **kgCO2e**, as the 2025-04-01 API specification describes the values; not checked
against a real export. No conversion. Query one month per report: the API's
``latestMonthEmissions`` totals the whole requested date range.

Basis: Azure gives one figure, computed by Microsoft on a **market-based** Scope 2 basis. There is
no location-based figure, so ``total_location_kg_co2e`` = ``total_market_kg_co2e`` = the reported
value, and ``model_version`` records it as ``MODEL_VERSION`` ("azure market-based; location=market").
Scope fields are filled only for a row that covers a single scope (Scope 2 goes to the market field).

Rows: ``account_id`` is the subscription id; ``region`` is the location turned into the programmatic
region name (``east us`` → ``eastus``, as in cost exports); ``service`` is ``<resourceGroup>/<itemName>``
(item rows name resources, not services). ``source_row_key`` digests the resource (``resourceId`` when
given, else subscription, resource group, name and region; case-insensitive as Azure ids are) and
the month. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from emissions.choices import CloudProvider
from emissions.records import ProviderCarbonRecord
from ingest.parsers.aws_carbon import decimal_text_cell, month_cell, repeated_key_issue, rounding_allowance, row_key
from ingest.parsers.csv_rows import CellError, csv_dict_rows, row_issue, text_cell
from ingest.records import ParsedRow, RowIssue

PROVIDER = CloudProvider.AZURE.value
MODEL_VERSION = "azure market-based; location=market"
REQUIRED_COLUMNS = [
    "datatype",
    "date",
    "latestmonthemissions",
    "itemname",
    "subscriptionid",
    "resourcegroup",
    "location",
]
RESOURCE_ROWS = "resourceitemdetailsdata"
CHECK_ROWS = "monthlysummarydata"
# Aggregates of the same emissions: skipped (the monthly summary only checks the resource rows).
SUMMARY_ROWS = {
    "overallsummarydata",
    "monthlysummarydata",
    "topitemssummarydata",
    "topitemsmonthlysummarydata",
    "resourcetopitemssummarydata",
    "resourcetopitemsmonthlysummarydata",
    "resourcegrouptopitemssummarydata",
    "resourcegrouptopitemsmonthlysummarydata",
}
# Item rows at another level than the resource: loading them with resource rows would count twice.
OTHER_ITEM_ROWS = {"itemdetailsdata", "resourcegroupitemdetailsdata"}
SCOPES = {"scope1": "scope1_kg_co2e", "scope2": "scope2_market_kg_co2e", "scope3": "scope3_kg_co2e"}


def _scopes(row: dict[str, str]) -> list[str]:
    """The lower-cased scopes of the ``scope`` cell (``Scope1,Scope2,Scope3``); empty when unknown."""
    names = [part.strip().lower().replace(" ", "") for part in row.get("scope", "").split(",") if part.strip()]
    unknown = [name for name in names if name not in SCOPES]
    if unknown:
        raise CellError("scope", f"{row['scope']!r} is not a list of Scope1, Scope2, Scope3")
    return names


def _record(row: dict[str, str]) -> tuple[ProviderCarbonRecord, Decimal]:
    category = row.get("categorytype", "")
    if category and category.lower() != "resource":
        raise CellError("categorytype", f"{category!r} is not Resource, the category of ResourceItemDetailsData")
    month = month_cell(row, "date")
    kg = decimal_text_cell(row, "latestmonthemissions")
    subscription = text_cell(row, "subscriptionid", max_length=100)
    resource_group = text_cell(row, "resourcegroup")
    name = text_cell(row, "itemname")
    region = row["location"].lower().replace(" ", "")
    if len(region) > 64:
        raise CellError("location", f"is {len(region)} characters long; the maximum is 64")
    service = f"{resource_group}/{name}"
    if len(service) > 200:
        raise CellError("itemname", f"resourceGroup/itemName is {len(service)} characters long; the maximum is 200")
    scopes = _scopes(row)
    resource = row.get("resourceid", "").lower()
    identity = (resource,) if resource else (subscription.lower(), resource_group.lower(), name.lower(), region)
    scope_fields = {SCOPES[scopes[0]]: float(kg)} if len(scopes) == 1 else {}
    record = ProviderCarbonRecord(
        provider=PROVIDER,
        account_id=subscription,
        billing_period=month,
        region=region,
        service=service,
        total_location_kg_co2e=float(kg),
        total_market_kg_co2e=float(kg),
        source_row_key=row_key(PROVIDER, *identity, month.isoformat()),
        model_version=MODEL_VERSION,
        **scope_fields,
    )
    return record, kg


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield one ProviderCarbonRecord per resource row, or a RowIssue naming the row, column and reason;
    then a RowIssue for any month whose MonthlySummaryData rows disagree with its resource rows."""
    seen: dict[str, int] = {}
    # month → [(row number, kg)] of the summary rows; month → kg of the resource rows; months with a bad item row.
    summaries: dict[date, list[tuple[int, Decimal]]] = defaultdict(list)
    items: dict[date, list[Decimal]] = defaultdict(list)
    incomplete: set[date] = set()
    for row_number, row in csv_dict_rows(content, required=REQUIRED_COLUMNS):
        data_type = row["datatype"].lower()
        try:
            if data_type in SUMMARY_ROWS:
                if data_type == CHECK_ROWS:
                    month, kg = month_cell(row, "date"), decimal_text_cell(row, "latestmonthemissions")
                    summaries[month].append((row_number, kg))
                continue
            if data_type in OTHER_ITEM_ROWS:
                raise CellError(
                    "datatype",
                    f"{row['datatype']!r} rows are not loaded: only resource rows (ResourceItemDetailsData) are, "
                    "so no emission is counted twice; export the ItemDetails report with categoryType Resource",
                )
            if data_type != RESOURCE_ROWS:
                raise CellError("datatype", f"{row['datatype']!r} is not a known Carbon Optimization row type")
            record, kg = _record(row)
        except CellError as exc:
            if data_type in (RESOURCE_ROWS, CHECK_ROWS):
                incomplete.add(_month_or_none(row))
            yield row_issue(row_number, row, exc)
            continue
        issue = repeated_key_issue(seen, row_number, row, record)
        if issue is not None:
            incomplete.add(record.billing_period)
            yield issue
            continue
        items[record.billing_period].append(kg)
        yield ParsedRow(row_number=row_number, record=record)
    yield from _summary_issues(summaries, items, incomplete)


def _month_or_none(row: dict[str, str]) -> date | None:
    try:
        return month_cell(row, "date")
    except CellError:
        return None


def _summary_issues(
    summaries: dict[date, list[tuple[int, Decimal]]], items: dict[date, list[Decimal]], incomplete: set[date]
) -> Iterator[RowIssue]:
    """One RowIssue per month whose summary total differs from its resource rows' total (months with a
    rejected resource or summary row are skipped: that row is already reported)."""
    if None in incomplete:
        return
    for month, rows in sorted(summaries.items()):
        if month in incomplete:
            continue
        summary_kg = [kg for _, kg in rows]
        stated = sum(summary_kg, Decimal(0))
        loaded = sum(items.get(month, []), Decimal(0))
        allowance = rounding_allowance(*summary_kg, *items.get(month, [])) + 1e-9 * float(stated)
        if abs(float(stated - loaded)) <= allowance:
            continue
        yield RowIssue(
            row_number=rows[0][0],
            column="latestmonthemissions",
            reason=(
                f"the MonthlySummaryData rows of {month:%Y-%m} total {stated} kgCO2e but its resource rows total "
                f"{loaded} kgCO2e; summary rows are never loaded, so the file's resource rows are incomplete "
                "(export the full ItemDetails report for every subscription of the summary)"
            ),
            value=str(stated),
        )
