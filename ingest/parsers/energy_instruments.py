"""The ``energy_instruments`` inventory CSV:
``instrument_id,kind,zone,vintage_start,vintage_end,energy_mwh,emission_factor_g_per_kwh`` [``site``, ``bundled``].

See docs/import-formats.md. Pure: bytes in, parsed rows and row issues out.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.choices import InstrumentKind
from emissions.records import EnergyInstrumentRecord
from ingest.parsers.csv_rows import (
    CellError,
    bool_cell,
    choice_cell,
    csv_records,
    date_cell,
    float_cell,
    optional,
    text_cell,
)
from ingest.records import ParsedRow, RowIssue

REQUIRED_COLUMNS = ["instrument_id", "kind", "zone", "vintage_start", "vintage_end", "energy_mwh"]
# Energy attribute certificates of renewable generation carry a zero factor (Scope 2 Guidance ch. 6).
CERTIFICATE_KINDS = {InstrumentKind.REC, InstrumentKind.GO, InstrumentKind.IREC}


def parse(content: bytes) -> Iterator[ParsedRow | RowIssue]:
    """Yield one EnergyInstrumentRecord per row, or a RowIssue naming the row, column and reason."""
    return csv_records(content, required=REQUIRED_COLUMNS, build=_record)


def _record(row: dict[str, str]) -> EnergyInstrumentRecord:
    instrument_id = text_cell(row, "instrument_id", max_length=100)
    kind = choice_cell(row, "kind", choices=list(InstrumentKind.values))
    zone_code = text_cell(row, "zone", max_length=16).upper()
    vintage_start = date_cell(row, "vintage_start")
    vintage_end = date_cell(row, "vintage_end")
    if vintage_end < vintage_start:
        raise CellError("vintage_end", f"{vintage_end} is before vintage_start {vintage_start}")
    energy_mwh = float_cell(row, "energy_mwh", minimum=0.0)
    factor = optional(float_cell, row, "emission_factor_g_per_kwh", minimum=0.0)
    if kind in CERTIFICATE_KINDS:
        if factor not in (None, 0.0):
            raise CellError(
                "emission_factor_g_per_kwh",
                f"is {factor:g} but a {kind} certificate is renewable: its factor must be 0 (or empty)",
            )
        factor = 0.0
    elif factor is None:
        raise CellError("emission_factor_g_per_kwh", f"is empty; a {kind} instrument needs its factor in g/kWh")
    return EnergyInstrumentRecord(
        instrument_id=instrument_id,
        kind=kind,
        zone_code=zone_code,
        vintage_start=vintage_start,
        vintage_end=vintage_end,
        energy_mwh=energy_mwh,
        emission_factor_g_per_kwh=factor,
        site=optional(text_cell, row, "site", max_length=200),
        bundled=bool_cell(row, "bundled", default=False),
    )
