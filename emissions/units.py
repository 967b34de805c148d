"""Unit conversion factors, each defined once for the ledger, the dashboards and the reports.

Pure constants: no Django, no I/O. ``A_PER_B`` is how many A make one B, so multiply by it to go
from B to A and divide by it to go from A to B (``kg / KG_PER_T`` is tonnes, ``kg * G_PER_KG`` grams).
"""

from __future__ import annotations

G_PER_KG = 1000.0  # grams per kilogram (gCO2e/kWh × kWh → kgCO2e divides by it)
KG_PER_T = 1000.0  # kilograms per metric tonne: kgCO2e in the ledger, tCO2e on pages and in reports
KWH_PER_MWH = 1000.0  # kilowatt-hours per megawatt-hour
SECONDS_PER_HOUR = 3600.0  # durations are stored in seconds, GPU-hours and kWh per hour are per hour
DAYS_PER_YEAR = 365.25  # a year of service (hardware lifetimes, amortization), leap years averaged
