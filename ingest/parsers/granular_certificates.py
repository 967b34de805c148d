"""The ``granular_certificates`` CSV: hourly energy attribute certificates (EnergyTag-style granular
certificates) for the hourly-matched Scope 2.

Columns: ``certificate_id, zone, hour_start, energy_kwh, energy_source`` and optional
``emission_factor_g_per_kwh`` (default 0), ``carbon_free`` (default: true for the sources in
``CARBON_FREE_SOURCES``, false for the rest, e.g. biomass or gas CHP) and ``site``.
See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.hourly_records import GranularCertificateRecord
from ingest.parsers.csv_rows import CellError, bool_cell, csv_records, float_cell, text_cell
from ingest.parsers.hour_cells import hour_cell
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["certificate_id", "zone", "hour_start", "energy_kwh", "energy_source"]
# Sources whose generation emits no CO2 at the plant: carbon-free in the 24/7 score unless the row says not.
CARBON_FREE_SOURCES = {"solar", "wind", "hydro", "nuclear", "geothermal", "marine"}


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one GranularCertificateRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> GranularCertificateRecord:
    source = text_cell(row, "energy_source", max_length=40).lower()
    factor = float_cell(row, "emission_factor_g_per_kwh", minimum=0.0, default=0.0)
    carbon_free = bool_cell(row, "carbon_free", default=source in CARBON_FREE_SOURCES)
    if carbon_free and factor > 0:
        raise CellError("carbon_free", f"is true but the emission factor is {factor:g} gCO2e/kWh")
    return GranularCertificateRecord(
        certificate_id=text_cell(row, "certificate_id", max_length=100),
        zone_code=text_cell(row, "zone", max_length=20),
        hour_start=hour_cell(row, "hour_start"),
        energy_kwh=float_cell(row, "energy_kwh", minimum=0.0),
        energy_source=source,
        emission_factor_g_per_kwh=factor,
        carbon_free=carbon_free,
        site=row.get("site") or None,
    )
