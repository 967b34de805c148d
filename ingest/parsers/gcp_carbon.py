"""Google Cloud Carbon Footprint export (BigQuery table saved as CSV, field paths as headers): one row
per billing account, project, service, location and month.

Columns read: ``usage_month``, ``billing_account_id``, ``project.id``, ``project.number``, ``service.id``,
``service.description``, ``location.location``, ``location.region``, ``carbon_model_version``,
``carbon_footprint_kgCO2e.scope1``, ``.scope2.location_based``, ``.scope2.market_based``, ``.scope3``
and, when present, ``carbon_footprint_total_kgCO2e.location_based`` / ``.market_based``
(``.after_offsets`` is deprecated and ignored). Headers match case-insensitively; NULL is an empty cell.

Units: kgCO2e as written, no conversion. Totals: location = scope1 + scope2 location + scope3 and
market = scope1 + scope2 market + scope3. When the file carries the ``carbon_footprint_total_kgCO2e``
columns they must equal those sums (within the rounding of the written digits) or the row is
rejected; the file's own total is then stored.

Rows: ``account_id`` is ``project.id`` (empty for a deleted or unassigned project: such a row is kept,
keyed by the billing account); ``region`` is ``location.region``, else ``location.location`` for a
multi-region like ``us``; ``service`` is ``service.description``. ``source_row_key`` digests
(billing account, project id, project number, service id, location.location, month).
Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from emissions.choices import CloudProvider
from emissions.records import ProviderCarbonRecord
from ingest.parsers.aws_carbon import carbon_rows, decimal_text_cell, month_cell, rounding_allowance, row_key
from ingest.parsers.csv_rows import CellError, text_cell
from ingest.records import ParsedRow, RowIssue

PROVIDER = CloudProvider.GCP.value
SCOPE1 = "carbon_footprint_kgco2e.scope1"
SCOPE2_LOCATION = "carbon_footprint_kgco2e.scope2.location_based"
SCOPE2_MARKET = "carbon_footprint_kgco2e.scope2.market_based"
SCOPE3 = "carbon_footprint_kgco2e.scope3"
TOTAL_LOCATION = "carbon_footprint_total_kgco2e.location_based"
TOTAL_MARKET = "carbon_footprint_total_kgco2e.market_based"
REQUIRED_COLUMNS = [
    "usage_month",
    "billing_account_id",
    "project.id",
    "project.number",
    "service.id",
    "service.description",
    "location.location",
    "location.region",
    "carbon_model_version",
    SCOPE1,
    SCOPE2_LOCATION,
    SCOPE2_MARKET,
    SCOPE3,
]


def _checked_total(row: dict[str, str], column: str, parts: tuple[Decimal, ...]) -> float:
    """The sum of ``parts``, or the file's ``column`` when present and equal to it within rounding."""
    computed = sum(parts, Decimal(0))
    if row.get(column, "") == "":
        return float(computed)
    stated = decimal_text_cell(row, column)
    allowance = rounding_allowance(stated, *parts) + 1e-9 * float(stated)
    if abs(float(stated - computed)) > allowance:
        raise CellError(
            column,
            f"{stated} is not scope1 + scope2 + scope3 = {computed} (the file's scope values disagree with its total)",
        )
    return float(stated)


def _record(row: dict[str, str]) -> ProviderCarbonRecord:
    month = month_cell(row, "usage_month")
    billing_account = text_cell(row, "billing_account_id")
    project_id = row["project.id"]
    if len(project_id) > 100:
        raise CellError("project.id", f"is {len(project_id)} characters long; the maximum is 100")
    location = text_cell(row, "location.location")
    region = row["location.region"] or location
    if len(region) > 64:
        raise CellError("location.region", f"is {len(region)} characters long; the maximum is 64")
    service_id = text_cell(row, "service.id")
    service = row["service.description"] or service_id
    if len(service) > 200:
        raise CellError("service.description", f"is {len(service)} characters long; the maximum is 200")
    scope1 = decimal_text_cell(row, SCOPE1)
    scope2_location = decimal_text_cell(row, SCOPE2_LOCATION)
    scope2_market = decimal_text_cell(row, SCOPE2_MARKET)
    scope3 = decimal_text_cell(row, SCOPE3)
    return ProviderCarbonRecord(
        provider=PROVIDER,
        account_id=project_id,
        billing_period=month,
        region=region,
        service=service,
        total_location_kg_co2e=_checked_total(row, TOTAL_LOCATION, (scope1, scope2_location, scope3)),
        total_market_kg_co2e=_checked_total(row, TOTAL_MARKET, (scope1, scope2_market, scope3)),
        source_row_key=row_key(
            PROVIDER, billing_account, project_id, row["project.number"], service_id, location, month.isoformat()
        ),
        scope1_kg_co2e=float(scope1),
        scope2_location_kg_co2e=float(scope2_location),
        scope2_market_kg_co2e=float(scope2_market),
        scope3_kg_co2e=float(scope3),
        model_version=row["carbon_model_version"][:50],
    )


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield one ProviderCarbonRecord per row, or a RowIssue naming the row, column and reason."""
    return carbon_rows(content, required=REQUIRED_COLUMNS, build=_record)
