"""The local time of each grid zone: the IANA time zone its clocks, and so its daily demand, follow.

Read at lookup from ``reference_data/zone_time_zones.csv`` (one row per zone of ``grid_zones.csv``, with the
reason for the choice, source and licence; see SOURCES.md), not loaded into the database: a time zone is
only needed to turn UTC hours into local ones. The conversion is Python's ``zoneinfo``, offline: the
system's tz database, else the pinned ``tzdata`` package.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE_TIME_ZONES_CSV = Path(__file__).resolve().parent / "reference_data" / "zone_time_zones.csv"


@functools.cache
def zone_time_zone_names() -> dict[str, str]:
    """IANA time zone name (``Europe/Paris``) per grid zone code (``FR``), as listed in the CSV."""
    with open(ZONE_TIME_ZONES_CSV, encoding="utf-8", newline="") as handle:
        return {row["zone_code"]: row["time_zone"] for row in csv.DictReader(handle)}


def zone_time_zone(code: str) -> ZoneInfo | None:
    """The time zone of a grid zone, or None for a code the CSV does not list (zones made outside the
    shipped reference data); callers then fall back to UTC and say so."""
    name = zone_time_zone_names().get(code)
    return ZoneInfo(name) if name else None
