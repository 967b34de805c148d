"""Which import source a file is, from its name and first bytes: the upload form's "Detect automatically".

The tracker and inventory files are told apart by their header, like the billing exports
(``billing_sniff``): a source matches when every column of its signature is in the header (names
lower-cased and trimmed, as the parsers read them), the largest signature first (a CodeCarbon task
CSV has every column of an ``emissions.csv`` and ``task_name``). Non-CSV files go by their bytes and
name: ZIP archives by their members, gzip and Parquet to the billing sniffer, JSON by its keys (``measures``,
``runs``, ``readings``), ``.log`` to carbontracker and a model card by its front matter. A header nothing
matches raises ParseError naming the columns each kind of file needs, briefly (never the whole header back).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import BinaryIO

from ingest.parsers import (
    aws_carbon,
    azure_carbon,
    carbon_credits,
    disposal_factors,
    eco2ai_csv,
    energy_instruments,
    fuel,
    gcp_carbon,
    granular_certificates,
    grid_factors,
    grid_intensity_hourly,
    hardware_assets,
    refrigerant,
    site_electricity,
    site_electricity_hourly,
    sites,
    zeus_csv,
)
from ingest.parsers.billing_sniff import sniff_dialect
from ingest.parsers.codecarbon_rows import REQUIRED_COLUMNS as CODECARBON_COLUMNS
from ingest.records import ParseError

# Enough of the file for any header (wide billing exports run to a few kB).
HEAD_BYTES = 256 * 1024

SIGNATURES: dict[str, frozenset[str]] = {
    "codecarbon_task_csv": frozenset({"task_name", "run_id", *CODECARBON_COLUMNS}),
    "codecarbon_csv": frozenset(CODECARBON_COLUMNS),
    "eco2ai_csv": frozenset(eco2ai_csv.REQUIRED_COLUMNS),
    "zeus_csv": frozenset(zeus_csv.REQUIRED_COLUMNS),
    "aws_carbon": frozenset(aws_carbon.REQUIRED_COLUMNS),
    "gcp_carbon": frozenset(gcp_carbon.REQUIRED_COLUMNS),
    "azure_carbon": frozenset(azure_carbon.REQUIRED_COLUMNS),
    "sites": frozenset(sites.REQUIRED_COLUMNS),
    "site_electricity": frozenset(site_electricity.REQUIRED_COLUMNS),
    "site_electricity_hourly": frozenset(site_electricity_hourly.REQUIRED_COLUMNS),
    "granular_certificates": frozenset(granular_certificates.REQUIRED_COLUMNS),
    "grid_factors": frozenset(grid_factors.REQUIRED_COLUMNS),
    "grid_intensity_hourly": frozenset(grid_intensity_hourly.REQUIRED_COLUMNS),
    "energy_instruments": frozenset(energy_instruments.REQUIRED_COLUMNS),
    "hardware_assets": frozenset(hardware_assets.REQUIRED_COLUMNS),
    "fuel": frozenset(fuel.REQUIRED_COLUMNS),
    "refrigerant": frozenset(refrigerant.REQUIRED_COLUMNS),
    "carbon_credits": frozenset(carbon_credits.REQUIRED_COLUMNS),
    "disposal_factors": frozenset(disposal_factors.REQUIRED_COLUMNS),
}
# Most columns first, so that a superset (the task CSV) wins over its subset (emissions.csv).
_BY_SIZE = sorted(SIGNATURES.items(), key=lambda item: -len(item[1]))

UNKNOWN = (
    "GreenGuild could not tell what this file is from its name and header: choose its source in the list. "
    "Tracker files need e.g. timestamp, duration, energy_consumed (CodeCarbon); billing exports e.g. "
    "lineItem/UsageStartDate (AWS), usage_start_time (Google Cloud), MeterCategory (Azure) or ChargeCategory "
    "(FOCUS); inventory files e.g. site, ownership, grid_zone, pue (sites)."
)


def header_source(header: list[str]) -> str | None:
    """The source whose signature the header holds, else ``billing`` when it is a billing export, else None."""
    columns = {name.strip().lstrip("\ufeff").lower() for name in header}
    for source, signature in _BY_SIZE:
        if signature <= columns:
            return source
    try:
        sniff_dialect(header)
    except ParseError:
        return None
    return "billing"


def _csv_header(head: bytes) -> list[str] | None:
    # "replace": the head may end inside a multi-byte character; a binary file matches no header anyway.
    text = head.decode("utf-8-sig", errors="replace")
    first_line = text.splitlines()[0] if text.strip() else ""
    row = next(csv.reader(io.StringIO(first_line)), None)
    return row if row and len(row) > 1 else None


def _zip_source(stream: BinaryIO) -> str | None:
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        return None
    names = [name for name in archive.namelist() if not name.endswith("/")]
    if any(name.endswith("carbontracker_output.log") or name.endswith("carbontracker.log") for name in names):
        return "carbontracker"
    csvs = sorted(name for name in names if name.lower().endswith(".csv"))
    if not csvs:
        return None
    with archive.open(csvs[0]) as member:
        header = _csv_header(member.read(HEAD_BYTES))
    source = header_source(header) if header else None
    return source if source in ("codecarbon_csv", "codecarbon_task_csv") else None


def _json_source(text: str) -> str | None:
    stripped = text.lstrip()
    if '"measures"' in text:
        return "boamps_json"
    if stripped.startswith("{") and '"runs"' in text:
        return "native_json"
    if stripped.startswith("{") and '"readings"' in text:
        return "site_electricity_hourly_json"  # a meter gateway's hourly readings (docs/import-formats.md)
    first_line = stripped.splitlines()[0] if stripped else ""
    try:
        item = json.loads(first_line)
    except ValueError:
        return None
    # JSON lines of a Google Cloud billing export (one line item an object).
    if isinstance(item, dict) and ("usage_start_time" in item or "billing_account_id" in item):
        return "billing"
    return None


def source_detect(*, filename: str, stream: BinaryIO) -> str:
    """The PARSERS key of the uploaded file (the stream is read from the start and rewound).

    Raises ParseError (message for the user: what to do and which columns are expected) when unsure.
    """
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    name = (filename or "").lower()
    source = None
    if head.startswith(b"PK\x03\x04"):
        source = _zip_source(stream)
        stream.seek(0)
    elif head.startswith(b"\x1f\x8b") or head.startswith(b"PAR1"):
        source = "billing"  # gzip or Parquet: only billing exports come that way; the billing sniffer reads them
    elif name.endswith(".log"):
        source = "carbontracker"
    else:
        text = head.decode("utf-8-sig", errors="replace")
        if text.lstrip().startswith("---") and "co2_eq_emissions" in text:
            source = "hf_model_card"
        elif text.lstrip().startswith(("{", "[")):
            source = _json_source(text)
        else:
            header = _csv_header(head)
            source = header_source(header) if header else None
    if source is None:
        raise ParseError(UNKNOWN)
    return source
