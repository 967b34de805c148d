"""Reads for the hardware fleet page (``/hardware/``): the register by site and model, embodied emissions in
both views, the refresh timeline, the roll-forward of the embodied balance and the sites' idle share.

Every selector takes ``organization=`` and reads only that organization's rows. Emissions are kgCO2e in the
models and tCO2e in the chart frames; energy kWh.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from django.db.models import DateField, F, Q, Sum
from django.db.models.functions import TruncMonth

from emissions.choices import ActivityKind, Basis
from emissions.models import Calculation, DailyEmissionRollup, HardwareAsset, Organization
from emissions.periods import Period
from emissions.units import DAYS_PER_YEAR, KG_PER_T
from reporting.selectors.common import PageData

MANAGEMENT_BASES = (Basis.EMBODIED_AMORTIZED, Basis.EMBODIED_WRITE_OFF)


def planned_end(asset: HardwareAsset) -> date:
    """Retirement date, or the end of the expected life (in service + lifetime) while in service."""
    if asset.retired_on is not None:
        return asset.retired_on
    return asset.in_service_on + timedelta(days=round(asset.lifetime_years * DAYS_PER_YEAR))


def fleet_assets(*, organization: Organization):
    """The organization's hardware register lines, with their model and site."""
    return HardwareAsset.objects.for_org(organization).select_related("hardware_model", "site")


def fleet_by_site_model_frame(*, assets: list[HardwareAsset], on: date) -> pd.DataFrame:
    """Assets grouped by site and hardware model: register lines, units, GPUs, units in service on ``on``,
    and embodied tCO2e (units × the asset's per-unit figure).

    Columns: ``site, hardware_model, asset_class, lines, units, gpus, units_in_service, embodied_t_co2e``.
    """
    columns = ["site", "hardware_model", "asset_class", "lines", "units", "gpus", "units_in_service", "embodied_t_co2e"]
    records = [
        [
            asset.site.name,
            asset.hardware_model.name,
            asset.hardware_model.get_asset_class_display(),
            1,
            asset.quantity,
            asset.gpu_count_total,
            asset.quantity if asset.in_service_on <= on and (asset.retired_on is None or asset.retired_on > on) else 0,
            asset.quantity * asset.embodied_per_unit_kg_co2e / KG_PER_T,
        ]
        for asset in assets
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    if frame.empty:
        return frame
    return frame.groupby(["site", "hardware_model", "asset_class"], as_index=False).sum()[columns]


def refresh_timeline_frame(*, assets: list[HardwareAsset]) -> pd.DataFrame:
    """One bar per register line from in service to retirement (or planned end of life).

    Columns: ``asset, site, hardware_model, units, start, end, status`` (``retired`` or ``in service``).
    """
    columns = ["asset", "site", "hardware_model", "units", "start", "end", "status"]
    records = [
        [
            a.asset_id,
            a.site.name,
            a.hardware_model.name,
            a.quantity,
            a.in_service_on,
            planned_end(a),
            "retired" if a.retired_on else "in service",
        ]
        for a in sorted(assets, key=lambda a: (a.in_service_on, a.asset_id))
    ]
    return pd.DataFrame.from_records(records, columns=columns)


def embodied_views_frame(*, organization: Organization, period: Period) -> pd.DataFrame:
    """Embodied emissions per month of the period in both views, from the rollup.

    Inventory: Scope 3 Cat 2 capital goods at acquisition; management: amortized + written off.
    Columns: ``period_start, inventory_t_co2e, management_t_co2e``.
    """
    rows = (
        DailyEmissionRollup.objects.for_org(organization)
        .filter(day__gte=period.start, day__lte=period.end, basis__in=(Basis.CAPITAL_GOODS, *MANAGEMENT_BASES))
        .annotate(month=TruncMonth("day", output_field=DateField()))
        .values("month")
        .annotate(
            inventory=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.CAPITAL_GOODS)),
            management=Sum("emissions_kg_co2e_location", filter=Q(basis__in=MANAGEMENT_BASES)),
        )
        .order_by("month")
    )
    return pd.DataFrame.from_records(
        [[row["month"], (row["inventory"] or 0.0) / KG_PER_T, (row["management"] or 0.0) / KG_PER_T] for row in rows],
        columns=["period_start", "inventory_t_co2e", "management_t_co2e"],
    )


def roll_forward_for(*, organization: Organization, period: Period) -> tuple[Calculation | None, pd.DataFrame]:
    """The roll-forward of the unamortized embodied balance fixed by the newest current Calculation of
    exactly the period (else the newest current one covering it).

    Frame columns: ``step, embodied_t_co2e`` (opening, + additions, − amortized, − written off, closing;
    reductions negative), empty when no calculation has one.
    """
    current = Calculation.objects.for_org(organization).filter(superseded_by__isnull=True).order_by("-pk")
    calculation = (
        current.filter(period_start=period.start, period_end=period.end).first()
        or current.filter(period_start__lte=period.start, period_end__gte=period.end).first()
    )
    roll = calculation.roll_forward if calculation else {}
    if not roll:
        return calculation, pd.DataFrame(columns=["step", "embodied_t_co2e"])
    steps = [
        ("Opening balance", roll["opening_kg"]),
        ("Additions (Cat 2)", roll["additions_kg"]),
        ("Amortized", -roll["amortized_kg"] or 0.0),  # never a negative zero
        ("Written off", -roll["written_off_kg"] or 0.0),
        ("Closing balance", roll["closing_kg"]),
    ]
    return calculation, pd.DataFrame(
        {"step": [s for s, _ in steps], "embodied_t_co2e": [kg / KG_PER_T for _, kg in steps]}
    )


def idle_share_frame(*, organization: Organization, period: Period) -> pd.DataFrame:
    """Electricity at each own or colocated site in the period and the share no run used.

    Columns: ``site, energy_kwh, idle_energy_kwh, idle_share_pct``.
    """
    rows = (
        DailyEmissionRollup.objects.for_org(organization)
        .filter(day__gte=period.start, day__lte=period.end, basis=Basis.OPERATIONAL, site__isnull=False)
        .values(site_name=F("site__name"))
        .annotate(energy=Sum("energy_kwh"), idle=Sum("energy_kwh", filter=Q(activity_kind=ActivityKind.UNALLOCATED)))
        .order_by("site_name")
    )
    records = [
        [
            row["site_name"],
            row["energy"] or 0.0,
            row["idle"] or 0.0,
            100.0 * (row["idle"] or 0.0) / row["energy"] if row["energy"] else None,
        ]
        for row in rows
    ]
    return pd.DataFrame.from_records(records, columns=["site", "energy_kwh", "idle_energy_kwh", "idle_share_pct"])


def hardware_dashboard(*, organization: Organization, period: Period) -> PageData:
    """The fleet page: register by site and model, embodied in both views, refresh Gantt, roll-forward, idle."""
    assets = list(fleet_assets(organization=organization))
    by_site_model = fleet_by_site_model_frame(assets=assets, on=period.end)
    calculation, roll = roll_forward_for(organization=organization, period=period)
    idle = idle_share_frame(organization=organization, period=period)
    site_kwh = float(idle["energy_kwh"].sum())
    facts = {
        "by_site_model": by_site_model.to_dict("records"),
        "units": int(by_site_model["units"].sum()) if not by_site_model.empty else 0,
        "units_in_service": int(by_site_model["units_in_service"].sum()) if not by_site_model.empty else 0,
        "embodied_t_co2e": float(by_site_model["embodied_t_co2e"].sum()) if not by_site_model.empty else 0.0,
        "roll_calculation": calculation if not roll.empty else None,
        "roll_forward": roll.to_dict("records"),
        "idle_share_pct": 100.0 * float(idle["idle_energy_kwh"].sum()) / site_kwh if site_kwh else None,
    }
    charts = {
        "by_site_model": by_site_model,
        "embodied_views": embodied_views_frame(organization=organization, period=period),
        "refresh_timeline": refresh_timeline_frame(assets=assets),
        "roll_forward": roll,
        "idle_share": idle,
    }
    return PageData(facts=facts, charts=charts)
