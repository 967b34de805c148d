"""Parsed rows of the hourly-Scope 2 imports (``ingest/parsers/site_electricity_hourly.py``,
``granular_certificates.py``), handed to the loaders in ``emissions/services/inventory.py``. Hours are
aware datetimes of the hour's start, in UTC; energy in kWh; factors in gCO2e/kWh."""

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
