"""The ``site_electricity_hourly_json`` payload: one site's facility kWh hour by hour, as a smart-meter gateway
posts it to ``POST /api/v1/sites/<slug>/hourly-readings/`` (or as a ``.json`` file naming its site):

    {"site": "lab", "readings": [{"hour_start": "2026-07-01T00:00:00Z", "energy_kwh": 12.5}, ...]}

The JSON twin of ``site_electricity_hourly`` (same records, same loader, same rules: an hour with its UTC
offset, on a whole hour; kWh ≥ 0). The site is the batch's ``site`` option (the API sets it from the URL),
else the payload's ``site``. Each reading is one row (row number = its 1-based position in ``readings``); a
bad reading is a row error naming the field, the others load. Documented in docs/import-formats.md. Pure:
bytes in, rows out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from emissions.hourly_records import HourlyMeterReadingRecord
from emissions.json_depth import JsonTooDeepError, json_loads
from ingest.parsers.csv_rows import CellError
from ingest.parsers.hour_cells import hour_cell
from ingest.records import ParsedRow, ParseError, RowIssue

# A leap year of hours (8,784) fits in one request: a year's backfill is one post.
MAX_READINGS = 10_000
MAX_SITE_LENGTH = 200


def payload_readings(content: bytes) -> tuple[str, list]:
    """The payload's ``site`` ("" when absent) and ``readings`` list, or ParseError saying what is wrong
    with its shape (not JSON, too deep, no ``readings`` list, too many readings, a ``site`` not a string)."""
    try:
        payload = json_loads(content)
    except JsonTooDeepError as exc:
        raise ParseError(f"{exc} (a readings payload needs 3)") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("readings"), list):
        raise ParseError('expected a JSON object with a "readings" list')
    readings = payload["readings"]
    if len(readings) > MAX_READINGS:
        raise ParseError(f"{len(readings):,} readings in one payload; send at most {MAX_READINGS:,} per request")
    site = payload.get("site", "")
    if not isinstance(site, str) or len(site) > MAX_SITE_LENGTH:
        raise ParseError(f'"site" must be a site slug or name (text of at most {MAX_SITE_LENGTH} characters)')
    return site.strip(), readings


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """One HourlyMeterReadingRecord per item of ``readings``, or a RowIssue naming the field at fault."""
    payload_site, readings = payload_readings(content)
    site = str((options or {}).get("site") or payload_site)
    if not site:
        raise ParseError(
            'no site: post the readings to /api/v1/sites/<slug>/hourly-readings/, or name it in the file ("site")'
        )
    for row_number, item in enumerate(readings, start=1):
        try:
            record = _record(site, item)
        except CellError as exc:
            value = item.get(exc.column, "") if isinstance(item, dict) else item
            yield RowIssue(
                row_number=row_number,
                column=exc.column,
                reason=f"{exc.column} {exc.reason}",
                raw=json.dumps(item, default=str)[:2000],
                value=str(value)[:200],
            )
            continue
        yield ParsedRow(row_number=row_number, record=record)


def _record(site: str, item: Any) -> HourlyMeterReadingRecord:
    if not isinstance(item, dict):
        raise CellError("reading", 'must be a JSON object {"hour_start": …, "energy_kwh": …}')
    hour = item.get("hour_start")
    if not isinstance(hour, str):
        raise CellError("hour_start", "must be an ISO 8601 time with its offset, such as 2026-07-01T00:00:00Z")
    energy = item.get("energy_kwh")
    if isinstance(energy, bool) or not isinstance(energy, int | float) or not math.isfinite(_as_float(energy)):
        raise CellError("energy_kwh", "must be a finite number (kWh)")
    if energy < 0:
        raise CellError("energy_kwh", f"{energy:g} is below the minimum 0")
    return HourlyMeterReadingRecord(
        site=site, hour_start=hour_cell({"hour_start": hour.strip()}, "hour_start"), energy_kwh=float(energy)
    )


def _as_float(number: int | float) -> float:
    """``number`` as a float; an integer too large for one is infinite."""
    try:
        return float(number)
    except OverflowError:
        return math.inf
