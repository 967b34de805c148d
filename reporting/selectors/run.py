"""Reads for the run page (``/runs/<id>/``): its samples timeline, its ledger lines with their factors,
and our figure beside the tracker's own. A run's figures come from the ledger lines of the newest current
Calculation that covers it (the rule of ``emissions.selectors.run_emissions_by_id``).
"""

from __future__ import annotations

import pandas as pd

from emissions.choices import Basis, LocationSource, QualityTier
from emissions.models import EmissionRecord, Organization, Run, RunSample
from reporting.selectors.common import PageData


def run_timeline_frame(*, organization: Organization, run: Run) -> pd.DataFrame:
    """The run's samples in time order: interval powers (W) and cumulative IT energy (kWh).

    Columns: ``recorded_at, cpu_power_w, gpu_power_w, ram_power_w, energy_kwh, cumulative_energy_kwh``.
    """
    columns = ["recorded_at", "cpu_power_w", "gpu_power_w", "ram_power_w", "energy_kwh"]
    rows = RunSample.objects.for_org(organization).filter(run=run).order_by("recorded_at").values_list(*columns)
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    frame["energy_kwh"] = frame["energy_kwh"].astype(float)
    frame["cumulative_energy_kwh"] = frame["energy_kwh"].cumsum()
    return frame


def _text(value) -> str:
    """A provenance value as short text: floats to 6 significant digits, dicts and lists spelt out."""
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "; ".join(_text(item) for item in value) or "none"
    return str(value)


def _factor_lines(factors: dict) -> list[dict]:
    """EmissionRecord.factors flattened for display: one line per named factor (value, unit, zone, period,
    dataset, factor id); a factor without a single value (market-based instruments) is spelt out."""
    lines = []
    for name, factor in sorted((factors or {}).items()):
        line = {"name": name, "value": "", "unit": "", "zone": "", "period": "", "dataset": "", "id": None}
        if isinstance(factor, dict) and "value" in factor:
            line |= {key: factor.get(key) or "" for key in ("unit", "zone", "period", "dataset")}
            line |= {"value": _text(factor["value"]), "id": factor.get("id")}
        else:
            line["value"] = _text(factor)
        lines.append(line)
    return lines


def run_ledger_lines(*, organization: Organization, run: Run) -> list[dict]:
    """The run's ledger lines in the newest current Calculation that covers it, with their factors.

    A quarter and its year both hold the run; they agree, so only the newest is shown (never both).
    """
    records = EmissionRecord.objects.for_org(organization).filter(run=run, calculation__superseded_by__isnull=True)
    newest = records.order_by("-calculation_id").values_list("calculation_id", flat=True).first()
    if newest is None:
        return []
    lines = []
    for record in records.filter(calculation_id=newest).select_related("calculation").order_by("scope", "pk"):
        lines.append({"record": record, "factors": _factor_lines(record.factors)})
    return lines


def run_dashboard(*, organization: Organization, run: Run) -> PageData:
    """The run page: samples timeline, ledger lines with factors, our figure beside the tracker's own."""
    lines = run_ledger_lines(organization=organization, run=run)
    operational = [line["record"] for line in lines if line["record"].basis == Basis.OPERATIONAL]
    ours_location = sum(r.emissions_kg_co2e_location for r in operational) if operational else None
    ours_market = sum(r.emissions_kg_co2e_market for r in operational) if operational else None
    tracker = run.tracker_emissions_kg_co2e
    facts = {
        "lines": lines,
        "calculation": lines[0]["record"].calculation if lines else None,
        "ours_kg_co2e_location": ours_location,
        "ours_kg_co2e_market": ours_market,
        "tracker_kg_co2e": tracker,
        "difference_kg_co2e": None if tracker is None or ours_location is None else ours_location - tracker,
        "gpu_hours": run.gpu_hours,
        # How each energy component was obtained (emissions/services/run_quality.py), for the location card.
        "component_quality": [
            (component.upper(), QualityTier(tier).label)
            for component, tier in sorted((run.component_quality or {}).items())
            if tier in QualityTier.values
        ],
        # A rank member's counting run, and the empty ids this run's client also opened (listed nowhere else).
        "rank_of": run.rank_of,
        "also_opened_as": list(
            Run.objects.filter(rank_of=run).empty_members().order_by("created_at").values_list("external_id", flat=True)
        ),
        "estimated_location": run.location_source
        in (LocationSource.TRACKER_REGION, LocationSource.TRACKER_COUNTRY, LocationSource.ORGANIZATION_DEFAULT),
    }
    timeline = run_timeline_frame(organization=organization, run=run)
    comparison = pd.DataFrame(
        {
            "figure": [
                "GreenGuild, location-based",
                "GreenGuild, market-based",
                f"Tracker ({run.tracker_name or 'own'})",
            ],
            "emissions_kg_co2e": [ours_location, ours_market, tracker],
        }
    ).dropna()
    charts = {
        "power": timeline[["recorded_at", "cpu_power_w", "gpu_power_w", "ram_power_w"]],
        "energy": timeline[["recorded_at", "energy_kwh", "cumulative_energy_kwh"]],
        "ours_vs_tracker": comparison,
    }
    return PageData(facts=facts, charts=charts)
