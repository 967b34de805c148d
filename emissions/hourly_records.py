"""Parsed rows of the hourly-Scope 2 imports (``ingest/parsers/site_electricity_hourly.py`` and its JSON twin
``site_electricity_hourly_json.py``, ``granular_certificates.py``, ``grid_intensity_hourly.py``), handed to the
loaders in ``emissions/services/inventory.py``. Hours are aware datetimes of the hour's start, in UTC; energy
in kWh; factors in gCO2e/kWh; shares in percent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HourlyMeterReadingRecord:
    """One row of ``site_electricity_hourly``: a site's facility kWh in one hour."""

    site: str
    hour_start: datetime
    energy_kwh: float


@dataclass(frozen=True)
class GranularCertificateRecord:
    """One row of ``granular_certificates``: kWh generated in one hour inside a zone's market boundary."""

    certificate_id: str
    zone_code: str
    hour_start: datetime
    energy_kwh: float
    energy_source: str
    emission_factor_g_per_kwh: float
    carbon_free: bool
    site: str | None


@dataclass(frozen=True)
class GridIntensityHourlyRecord:
    """One row of ``grid_intensity_hourly``: an organization's own figures for a zone's grid in one hour,
    location-based (direct) and residual mix in gCO2e/kWh, and the carbon-free share of generation (0–100 %)."""

    zone_code: str
    hour_start: datetime
    intensity_g_per_kwh: float
    residual_g_per_kwh: float | None
    carbon_free_share_pct: float | None
