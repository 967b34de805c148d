"""Reader of Electricity Maps' hourly CSV exports (the free data portal's ``<ZONE>_<YEAR>_hourly.csv``), the
shared reference data of the hourly location-based factor and the grid's carbon-free share.

Two header versions are published: 2021–2023 files write ``Datetime (UTC), Country, Zone Name, Zone Id,
Carbon Intensity gCO₂eq/kWh (direct), Carbon Intensity gCO₂eq/kWh (LCA), Low Carbon Percentage, Renewable
Percentage, Data Source, Data Estimated, Data Estimation Method``; newer files ``Zone name``, ``Zone id``,
``Carbon intensity gCO₂eq/kWh (direct)``, ``… (Life cycle)``, ``Carbon-free energy percentage (CFE%)`` and
``Renewable energy percentage (RE%)``. Headers are matched case-insensitively. The direct intensity is the
Scope 2 location-based factor (the lifecycle one is not read); the low-carbon / carbon-free percentage is
the hour's carbon-free share. Pure: text in, hours out; a bad row is an error naming its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

_TIME = "datetime (utc)"
_ZONE = "zone id"
_DIRECT = "carbon intensity gco₂eq/kwh (direct)"
_CARBON_FREE = ("carbon-free energy percentage (cfe%)", "low carbon percentage")


@dataclass(frozen=True)
class HourlyIntensityRow:
    """One hour of one zone: direct gCO2e/kWh and the carbon-free share of generation in percent."""

    zone_code: str
    hour_start: datetime
    intensity_g_per_kwh: float
    carbon_free_share_pct: float | None


def hourly_intensity_rows(text: str) -> Iterator[HourlyIntensityRow]:
    """The file's hours in order; ValueError naming the line for a missing column or an unreadable cell."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    for needed in (_TIME, _ZONE, _DIRECT):
        if needed not in header:
            raise ValueError(f"not an Electricity Maps hourly CSV: no {needed!r} column")
    column = {name: index for index, name in enumerate(header)}
    carbon_free = next((column[name] for name in _CARBON_FREE if name in column), None)
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        try:
            hour = datetime.fromisoformat(cells[column[_TIME]].strip()).replace(tzinfo=UTC)
            intensity = float(cells[column[_DIRECT]])
            share = cells[carbon_free].strip() if carbon_free is not None else ""
            yield HourlyIntensityRow(
                zone_code=cells[column[_ZONE]].strip(),
                hour_start=hour,
                intensity_g_per_kwh=intensity,
                carbon_free_share_pct=float(share) if share else None,
            )
        except (IndexError, ValueError) as exc:
            raise ValueError(f"line {line}: {exc}") from exc
