"""The ``hardware_assets`` inventory CSV (the fleet register):
``asset_id,site,hardware_model,quantity,acquired_on,in_service_on,lifetime_years,retired_on,
embodied_kg_co2e_per_unit`` [``disposal_route``, ``team``].

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.choices import DisposalRoute
from emissions.records import HardwareAssetRecord
from ingest.parsers.csv_rows import (
    CellError,
    choice_cell,
    csv_records,
    date_cell,
    float_cell,
    int_cell,
    optional,
    text_cell,
)
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["asset_id", "site", "hardware_model", "quantity", "acquired_on", "in_service_on"]


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one HardwareAssetRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> HardwareAssetRecord:
    asset_id = text_cell(row, "asset_id", max_length=100)
    site = text_cell(row, "site", max_length=200)
    hardware_model_name = text_cell(row, "hardware_model", max_length=200)
    quantity = int_cell(row, "quantity", minimum=1)
    acquired_on = date_cell(row, "acquired_on")
    in_service_on = date_cell(row, "in_service_on")
    if in_service_on < acquired_on:
        raise CellError("in_service_on", f"{in_service_on} is before acquired_on {acquired_on}")
    lifetime_years = optional(float_cell, row, "lifetime_years", minimum=0.0)
    if lifetime_years == 0:
        raise CellError("lifetime_years", "must be greater than 0 (leave it empty for the model's default)")
    retired_on = optional(date_cell, row, "retired_on")
    if retired_on is not None and retired_on < in_service_on:
        raise CellError("retired_on", f"{retired_on} is before in_service_on {in_service_on}")
    return HardwareAssetRecord(
        asset_id=asset_id,
        site=site,
        hardware_model_name=hardware_model_name,
        quantity=quantity,
        acquired_on=acquired_on,
        in_service_on=in_service_on,
        lifetime_years=lifetime_years,
        retired_on=retired_on,
        embodied_kg_co2e_per_unit=optional(float_cell, row, "embodied_kg_co2e_per_unit", minimum=0.0),
        disposal_route=optional(choice_cell, row, "disposal_route", choices=list(DisposalRoute.values)) or "",
        team=optional(text_cell, row, "team", max_length=200) or "",
    )
