"""Reads for the hardware fleet, cloud and settings pages (team, project and run are in ``dashboard_pages``).

Every selector takes ``organization=`` and reads only that organization's rows. Emissions are
kgCO2e in the models and tCO2e in the chart frames; energy kWh; spend in the bill's currency.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from django.db.models import Count, DateField, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth

from emissions.choices import ActivityKind, Basis
from emissions.cloud_sharing import key_text
from emissions.models import (
    AllocationRule,
    Calculation,
    CloudUsage,
    DailyEmissionRollup,
    EmissionRecord,
    FactorDataset,
    GridFactor,
    HardwareAsset,
    Membership,
    Organization,
    Run,
    Team,
)
from emissions.periods import Period
from emissions.selectors import run_billing_cover, runs_with_billing_cover
from reporting.dashboard_pages import PageData
from reporting.models import CarbonBudget
from reporting.rollups import day_owners, owned_lines
from reporting.selectors import cloud_reconciliation

_KG_PER_T = 1000.0
_DAYS_PER_YEAR = 365.25
MANAGEMENT_BASES = (Basis.EMBODIED_AMORTIZED, Basis.EMBODIED_WRITE_OFF)

# --- Hardware -----------------------------------------------------------------------------------------


def planned_end(asset: HardwareAsset) -> date:
    """Retirement date, or the end of the expected life (in service + lifetime) while in service."""
    if asset.retired_on is not None:
        return asset.retired_on
    return asset.in_service_on + timedelta(days=round(asset.lifetime_years * _DAYS_PER_YEAR))


def fleet_assets(*, organization: Organization):
    return HardwareAsset.objects.for_org(organization).select_related("hardware_model", "site")


def fleet_by_site_model_frame(*, assets: list[HardwareAsset], on: date) -> pd.DataFrame:
    """Assets grouped by site and hardware model: register lines, units, GPUs, units in service on ``on``,
    and embodied tCO2e (units × the asset's per-unit figure).

    Columns: ``site, hardware_model, asset_class, lines, units, gpus, units_in_service, embodied_t_co2e``.
    """
    columns = ["site", "hardware_model", "asset_class", "lines", "units", "gpus", "units_in_service", "embodied_t_co2e"]
    records = [
        [
            asset.site.name, asset.hardware_model.name, asset.hardware_model.get_asset_class_display(), 1,
            asset.quantity, asset.gpu_count_total,
            asset.quantity if asset.in_service_on <= on and (asset.retired_on is None or asset.retired_on > on) else 0,
            asset.quantity * asset.embodied_per_unit_kg_co2e / _KG_PER_T,
        ]
        for asset in assets
    ]  # fmt: skip
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
        [a.asset_id, a.site.name, a.hardware_model.name, a.quantity, a.in_service_on, planned_end(a),
         "retired" if a.retired_on else "in service"]
        for a in sorted(assets, key=lambda a: (a.in_service_on, a.asset_id))
    ]  # fmt: skip
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
        [[row["month"], (row["inventory"] or 0.0) / _KG_PER_T, (row["management"] or 0.0) / _KG_PER_T] for row in rows],
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
        {"step": [s for s, _ in steps], "embodied_t_co2e": [kg / _KG_PER_T for _, kg in steps]}
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
        [row["site_name"], row["energy"] or 0.0, row["idle"] or 0.0,
         100.0 * (row["idle"] or 0.0) / row["energy"] if row["energy"] else None]
        for row in rows
    ]  # fmt: skip
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


# --- Cloud --------------------------------------------------------------------------------------------

_CLOUD_KWH = ("compute_energy_kwh", "gpu_energy_kwh", "memory_energy_kwh", "storage_energy_kwh", "network_energy_kwh")
UNALLOCATED = "unallocated"


def _usages(organization: Organization, period: Period):
    # billing_period is the first day of the month: a month belongs to the period it starts in.
    return CloudUsage.objects.for_org(organization).filter(
        billing_period__gte=period.start, billing_period__lte=period.end
    )


def cloud_spend_emissions_frame(*, organization: Organization, period: Period, reconciliation: pd.DataFrame):
    """Spend (all charges) and estimated tCO2e (usage lines) per provider, service and region.

    Columns: ``provider, service, region, currency, spend, energy_kwh, estimated_t_co2e``; the estimate
    is the reconciliation's (facility kWh × the region's location-based factor + embodied share).
    """
    columns = ["provider", "service", "region", "currency", "spend", "energy_kwh", "estimated_t_co2e"]
    it_kwh = sum(Coalesce(F(name), 0.0) for name in _CLOUD_KWH)
    rows = list(
        _usages(organization, period)
        .values("provider", "service", "region", "currency")
        .annotate(spend=Sum("cost"), energy=Sum(it_kwh * Coalesce(F("pue"), 1.0)))
        .order_by("provider", "service", "region")
    )
    estimated: dict[tuple, float] = {}
    for row in reconciliation.itertuples():
        key = (row.provider, key_text(row.region), key_text(row.service))
        estimated[key] = estimated.get(key, 0.0) + (row.estimated_kg_co2e if pd.notna(row.estimated_kg_co2e) else 0.0)
    records, seen = [], set()
    for row in rows:
        key = (row["provider"], key_text(row["region"]), key_text(row["service"]))
        kg = 0.0 if key in seen else estimated.get(key, 0.0)  # one currency row carries the estimate
        seen.add(key)
        records.append([row["provider"], row["service"] or "(none)", row["region"] or "(global)", row["currency"],
                        float(row["spend"] or 0), float(row["energy"] or 0.0), kg / _KG_PER_T])  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.sort_values("estimated_t_co2e", ascending=False, ignore_index=True)


def cloud_reconciliation_by_month_frame(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """Estimate vs provider-reported (location-based) per provider and month.

    Columns: ``provider, billing_period, estimated_t_co2e, reported_t_co2e_location``.
    """
    columns = ["provider", "billing_period", "estimated_t_co2e", "reported_t_co2e_location"]
    if reconciliation.empty:
        return pd.DataFrame(columns=columns)
    grouped = reconciliation.groupby(["provider", "billing_period"], as_index=False)[
        ["estimated_kg_co2e", "reported_location_kg_co2e"]
    ].sum(min_count=1)
    return pd.DataFrame(
        {
            "provider": grouped["provider"],
            "billing_period": grouped["billing_period"],
            "estimated_t_co2e": grouped["estimated_kg_co2e"] / _KG_PER_T,
            "reported_t_co2e_location": grouped["reported_location_kg_co2e"] / _KG_PER_T,
        },
        columns=columns,
    )


def cloud_allocation_frame(*, organization: Organization, period: Period) -> pd.DataFrame:
    """Billing lines and spend by how their owner was found (``CloudUsage.allocation_basis``).

    Columns: ``allocation_basis, lines, spend, spend_share_pct``; lines with no owner are ``unallocated``.
    """
    rows = list(
        _usages(organization, period)
        .values("allocation_basis")
        .annotate(lines=Count("id"), spend=Sum("cost"))
        .order_by("allocation_basis")
    )
    merged: dict[str, list] = {}
    for row in rows:
        entry = merged.setdefault(row["allocation_basis"] or UNALLOCATED, [0, 0.0])
        entry[0] += row["lines"]
        entry[1] += float(row["spend"] or 0)
    total = sum(spend for _, spend in merged.values())
    records = [[basis, n, spend, 100.0 * spend / total if total else None] for basis, (n, spend) in merged.items()]
    frame = pd.DataFrame.from_records(records, columns=["allocation_basis", "lines", "spend", "spend_share_pct"])
    return frame.sort_values("spend", ascending=False, ignore_index=True)


def cloud_tag_coverage(*, organization: Organization, period: Period) -> dict:
    """Share of billing lines and of spend that carry any resource tag or label (``tags`` not empty)."""
    usages = _usages(organization, period)
    totals = usages.aggregate(lines=Count("id"), spend=Sum("cost"))
    tagged = usages.exclude(tags={}).aggregate(lines=Count("id"), spend=Sum("cost"))
    lines, spend = totals["lines"], float(totals["spend"] or 0)
    return {
        "lines": lines,
        "tagged_lines": tagged["lines"],
        "tagged_lines_pct": 100.0 * tagged["lines"] / lines if lines else None,
        "tagged_spend_pct": 100.0 * float(tagged["spend"] or 0) / spend if spend else None,
    }


def cloud_estimate_quality(*, organization: Organization, period: Period) -> dict:
    """How far the usage lines' estimates can be trusted, and how much of them reaches a team (in %).

    ``unclassified_spend_pct``: usage spend the estimator could not classify (its energy comes from the
    classified lines' kWh per unit of cost). ``fell_back_lines_pct``: usage lines that used a provider
    average instead of a specific coefficient. ``allocated_energy_pct``: estimated IT energy on lines
    attributed to a team (by tag, label or account rule), the emissions' allocation key.
    """
    usage = _usages(organization, period).filter(charge_category="usage")
    energy = (
        Coalesce("compute_energy_kwh", 0.0) + Coalesce("gpu_energy_kwh", 0.0) + Coalesce("memory_energy_kwh", 0.0)
        + Coalesce("storage_energy_kwh", 0.0) + Coalesce("network_energy_kwh", 0.0)
    )  # fmt: skip
    totals = usage.aggregate(
        lines=Count("id"),
        fell_back=Count("id", filter=Q(estimate_fell_back=True)),
        spend=Sum("cost"),
        unclassified_spend=Sum("cost", filter=Q(classification="unclassified")),
        energy_kwh=Sum(energy),
        allocated_kwh=Sum(energy, filter=Q(team__isnull=False)),
    )

    def pct(part, whole):
        return 100.0 * float(part or 0) / float(whole) if whole else None

    return {
        "unclassified_spend_pct": pct(totals["unclassified_spend"], totals["spend"]),
        "fell_back_lines_pct": pct(totals["fell_back"], totals["lines"]),
        "allocated_energy_pct": pct(totals["allocated_kwh"], totals["energy_kwh"]),
    }


def cloud_run_coverage(*, organization: Organization, period: Period) -> dict:
    """Tracker runs in cloud regions in the period and how much of their energy billing lines hold.

    ``covered_energy_pct``: IT kWh of runs whose compute a billing line holds (``run_billing_cover``:
    same resource, else same region and time), counted there and not again; the rest counts as runs.
    """
    runs = runs_with_billing_cover(
        Run.objects.for_org(organization)
        .filter(cloud_region__isnull=False, site__isnull=True, grid_zone__isnull=True)
        .filter(started_at__date__gte=period.start, started_at__date__lte=period.end)
        .select_related("cloud_region")
    )
    total_kwh = covered_kwh = 0.0
    count = covered = 0
    for run in runs.iterator():
        count, total_kwh = count + 1, total_kwh + run.energy_kwh
        if run_billing_cover(run=run):
            covered, covered_kwh = covered + 1, covered_kwh + run.energy_kwh
    return {
        "runs": count,
        "covered_runs": covered,
        "energy_kwh": total_kwh,
        "covered_energy_kwh": covered_kwh,
        "covered_energy_pct": 100.0 * covered_kwh / total_kwh if total_kwh else None,
    }


def _share_or_none(shares: pd.Series, *, has_lines: bool) -> float | None:
    """The unallocated share in %: 0 when every line is allocated, None without lines or without spend
    (a month whose credits cancel its cost, as in real GCP exports, has no share to show)."""
    if shares.empty:
        return 0.0 if has_lines else None
    value = shares.iloc[0]
    return None if value is None or pd.isna(value) else float(value)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts, missing values as None (shown as "–"), not NaN."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def cloud_reconciliation_totals(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """The reconciliation summed per provider (kgCO2e); ``counted_location_kg_co2e`` is the provider's part of
    the inventory's cloud billing figure, ``difference_kg_co2e`` / ``market_difference_kg_co2e`` estimate −
    reported (location- / market-based) where both exist."""
    amounts = ["estimated_kg_co2e", "estimated_market_kg_co2e", "reported_location_kg_co2e",
               "reported_market_kg_co2e", "difference_kg_co2e", "market_difference_kg_co2e",
               "counted_location_kg_co2e"]  # fmt: skip
    if reconciliation.empty:
        return pd.DataFrame(columns=["provider", *amounts])
    return reconciliation.groupby("provider", as_index=False)[amounts].sum(min_count=1)


def cloud_reconciliation_by_service(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """The reconciliation per provider, month and billing service (kgCO2e): ``basis`` is the Scope 2 method
    compared (location-based where the provider reports it, else market-based, as Azure), ``estimated`` our
    figure by that method, ``reported`` the provider's (shared to the service by our estimate where the
    provider reports per region only), ``variance_pct`` = (estimated − reported) / reported × 100 where both
    exist, and ``counted`` what the inventory counts (location-based)."""
    columns = ["provider", "billing_period", "service", "basis", "estimated", "reported", "variance_pct", "counted"]
    if reconciliation.empty:
        return pd.DataFrame(columns=columns)
    market_only = set(reconciliation.loc[reconciliation["note"].str.contains("market-based figure only"), "provider"])
    frame = reconciliation.assign(service=reconciliation["service"].fillna("").replace("", "(none)"))
    market = frame["provider"].isin(market_only)
    frame["basis"] = market.map({True: "market", False: "location"})
    frame["estimated"] = frame["estimated_market_kg_co2e"].where(market, frame["estimated_kg_co2e"])
    frame["reported"] = frame["reported_market_kg_co2e"].where(market, frame["reported_location_kg_co2e"])
    grouped = frame.groupby(["provider", "billing_period", "service", "basis"], as_index=False)[
        ["estimated", "reported", "counted_location_kg_co2e"]
    ].sum(min_count=1)
    grouped = grouped.rename(columns={"counted_location_kg_co2e": "counted"})
    both = grouped["estimated"].notna() & grouped["reported"].notna() & (grouped["reported"] != 0)
    grouped["variance_pct"] = None
    grouped.loc[both, "variance_pct"] = (
        (grouped.loc[both, "estimated"] - grouped.loc[both, "reported"]) / grouped.loc[both, "reported"] * 100
    )
    return grouped[columns]


def reconciliation_markdown(by_service: pd.DataFrame) -> str:
    """``cloud_reconciliation_by_service`` as a Markdown table, kgCO2e to one decimal, "–" for a missing side."""

    def cell(value, digits: int = 1) -> str:
        return "–" if value is None or pd.isna(value) else f"{value:,.{digits}f}"

    lines = [
        "| Provider | Month | Service | Basis | Estimate kgCO2e | Provider-reported kgCO2e | Variance | "
        "Counted kgCO2e (location) |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in by_service.itertuples():
        variance = "–" if row.variance_pct is None or pd.isna(row.variance_pct) else f"{row.variance_pct:+.0f} %"
        lines.append(
            f"| {row.provider} | {row.billing_period:%Y-%m} | {row.service} | {row.basis} | {cell(row.estimated)} | "
            f"{cell(row.reported)} | {variance} | {cell(row.counted)} |"
        )
    return "\n".join(lines) + "\n"


def cloud_in_ledger(*, organization: Organization, period: Period) -> dict:
    """The cloud's part of the inventory in the period, whether or not bills are loaded: the ledger's
    purchased-cloud lines (Scope 3 Cat 1, subcategory ``cloud``) of tracker runs in cloud regions and of
    billing lines, each read from the calculation that owns its first day (the rule of the per-run rollup),
    so a quarter shows exactly the report's cloud line of that quarter.

    Keys: ``runs_kg_co2e_location``, ``runs_kg_co2e_market``, ``runs_energy_kwh``, ``bills_kg_co2e_location``,
    ``bills_kg_co2e_market``, ``bills_energy_kwh``, their ``total_kg_co2e_location`` / ``_market``, and
    ``runs_embodied_kg_co2e`` (the cloud GPU runs' hardware share, management view only, not in the total).
    """
    lines = EmissionRecord.objects.for_org(organization).filter(
        owned_lines(day_owners(organization, period.start, period.end)), scope3_subcategory="cloud"
    )
    sums = {}
    for source, kind in (("runs", ActivityKind.RUN), ("bills", ActivityKind.CLOUD_USAGE)):
        own = Q(activity_kind=kind, basis=Basis.OPERATIONAL)
        sums |= {
            f"{source}_kg_co2e_location": Coalesce(Sum("emissions_kg_co2e_location", filter=own), 0.0),
            f"{source}_kg_co2e_market": Coalesce(Sum("emissions_kg_co2e_market", filter=own), 0.0),
            f"{source}_energy_kwh": Coalesce(Sum("energy_kwh", filter=own), 0.0),
        }
    embodied = Q(activity_kind=ActivityKind.RUN, basis=Basis.EMBODIED_AMORTIZED)
    totals = lines.aggregate(
        **sums, runs_embodied_kg_co2e=Coalesce(Sum("emissions_kg_co2e_location", filter=embodied), 0.0)
    )
    for method in ("location", "market"):
        totals[f"total_kg_co2e_{method}"] = totals[f"runs_kg_co2e_{method}"] + totals[f"bills_kg_co2e_{method}"]
    return totals


def cloud_dashboard(*, organization: Organization, period: Period) -> PageData:
    """The cloud page: spend vs emissions, estimate vs provider-reported, unallocated share, tag coverage."""
    reconciliation = cloud_reconciliation(organization=organization, start=period.start, end=period.end)
    allocation = cloud_allocation_frame(organization=organization, period=period)
    unallocated = allocation[allocation["allocation_basis"] == UNALLOCATED]["spend_share_pct"]
    facts = {
        "in_ledger": cloud_in_ledger(organization=organization, period=period),
        "currencies": sorted(set(_usages(organization, period).values_list("currency", flat=True))),
        "unallocated_spend_pct": _share_or_none(unallocated, has_lines=len(allocation) > 0),
        "tag_coverage": cloud_tag_coverage(organization=organization, period=period),
        "estimate_quality": cloud_estimate_quality(organization=organization, period=period),
        "run_coverage": cloud_run_coverage(organization=organization, period=period),
        # Missing sides as None (shown as "–"), not NaN.
        "reconciliation": _records(reconciliation),
        "reconciliation_totals": _records(cloud_reconciliation_totals(reconciliation)),
    }
    charts = {
        "spend_emissions": cloud_spend_emissions_frame(
            organization=organization, period=period, reconciliation=reconciliation
        ),
        "estimate_vs_reported": cloud_reconciliation_by_month_frame(reconciliation),
        "allocation": allocation,
    }
    return PageData(facts=facts, charts=charts)


# --- Settings -----------------------------------------------------------------------------------------


def settings_lists(*, organization: Organization) -> dict:
    """Read-only lists of the settings hub: teams and their projects, members and roles, allocation rules,
    the organization's own factor datasets and grid factors (its overrides of the shipped ones), budgets."""
    return {
        "teams": Team.objects.for_org(organization).prefetch_related("projects"),
        "members": Membership.objects.for_org(organization).select_related("user", "team").order_by("user__username"),
        "allocation_rules": AllocationRule.objects.for_org(organization).select_related("team", "project"),
        "datasets": FactorDataset.objects.filter(organization=organization),
        "grid_factors": GridFactor.objects.filter(organization=organization).select_related("zone", "dataset"),
        "budgets": CarbonBudget.objects.for_org(organization)
        .select_related("team", "project")
        .order_by("-period_start", "team__name", "project__name"),
    }
