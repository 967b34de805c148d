"""Reads for the overview page (``/``), all from the daily rollup (``DailyEmissionRollup``).

``overview_dashboard`` is the one entry point: a handful of grouped queries on the rollup, then
pure pandas (``overview_kpis`` and the ``*_frame`` functions) derive the KPI cards and every chart's
tidy DataFrame, so the page cost does not grow with the ledger. Emissions are reported in tCO2e,
energy in MWh, water in litres; both Scope 2 figures are kept apart and never added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pandas as pd
from django.db import connection
from django.db.models import Case, DateField, F, FloatField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from emissions.choices import ActivityKind, Basis, QualityTier
from emissions.models import Organization, Project, Site, Team
from emissions.periods import Period
from emissions.units import KG_PER_T, KWH_PER_MWH
from reporting.models import CarbonBudget
from reporting.selectors.common import BUDGET_VIEW, ESTIMATED_TIERS, MEASURED_TIERS, previous_period, rollup_in_view

_KEYS = ["bucket", "team_id", "project_id", "scope", "scope3_category"]
_TIER_COLUMNS = {tier: f"emissions_kg_co2e_location_{tier}" for tier in QualityTier.values}
ROLLUP_FRAME_COLUMNS = [
    *_KEYS,
    "emissions_kg_co2e_location",
    "emissions_kg_co2e_market",
    "energy_kwh",
    "site_energy_kwh",
    "idle_energy_kwh",
    "water_l",
    "gpu_hours",
    "gpu_hours_with_utilization",
    "gpu_busy_hours",
    *_TIER_COLUMNS.values(),
    "operational_kg_co2e_location",
    "operational_measured_kg_co2e_location",
    "operational_estimated_kg_co2e_location",
]


@dataclass(frozen=True)
class OverviewFilters:
    """What the overview shows: an inclusive period, optionally one team and one scope, and a view."""

    period: Period
    team_id: int | None = None
    scope: int | None = None
    view: str = "inventory"


@dataclass
class OverviewDashboard:
    """KPI values (units in the keys) and one tidy DataFrame per chart (columns in each docstring)."""

    kpis: dict
    charts: dict[str, pd.DataFrame] = field(default_factory=dict)
    bucket: str = "month"


def bucket_for(period: Period) -> str:
    """Time-series resolution: days for a month or less, weeks up to a quarter, months beyond."""
    days = (period.end - period.start).days + 1
    return "day" if days <= 31 else "week" if days <= 92 else "month"


def _rollup(organization: Organization, filters: OverviewFilters, start: date, end: date) -> QuerySet:
    """The rollup rows from ``start`` to ``end`` in the filters' view, of their team and scope when set."""
    rows = rollup_in_view(organization, start, end, filters.view)
    if filters.team_id is not None:
        rows = rows.filter(team_id=filters.team_id)
    if filters.scope is not None:
        rows = rows.filter(scope=filters.scope)
    return rows


_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def overview_rollup_frame(
    *, organization: Organization, filters: OverviewFilters, bucket: str, water_l_per_facility_kwh: dict[int, float]
) -> pd.DataFrame:
    """The filtered rollup per time bucket, team, project, scope and category, in one scan.

    Columns: ``ROLLUP_FRAME_COLUMNS``. Site energy, idle energy, water (facility kWh × the site's
    litres per facility kWh) and the location-based kg of each quality tier are conditional sums,
    so the grouping stays small however many sites and tiers there are.
    """
    at_site = Q(site_id__isnull=False)
    operational = Q(basis=Basis.OPERATIONAL)
    water = Case(
        *(When(site_id=site, then=Value(litres)) for site, litres in water_l_per_facility_kwh.items()),
        default=Value(0.0),
        output_field=FloatField(),
    )
    sums = {
        "emissions_kg_co2e_location": Sum("emissions_kg_co2e_location"),
        "emissions_kg_co2e_market": Sum("emissions_kg_co2e_market"),
        "energy_kwh": Sum("energy_kwh"),
        "site_energy_kwh": Sum("energy_kwh", filter=at_site),
        "idle_energy_kwh": Sum("energy_kwh", filter=at_site & Q(activity_kind=ActivityKind.UNALLOCATED)),
        "water_l": Sum(F("energy_kwh") * water, filter=at_site),
        "gpu_hours": Sum("gpu_hours"),
        "gpu_hours_with_utilization": Sum("gpu_hours_with_utilization"),
        "gpu_busy_hours": Sum("gpu_busy_hours"),
        **{column: Sum("emissions_kg_co2e_location", filter=Q(quality=tier)) for tier, column in _TIER_COLUMNS.items()},
        # Measured and estimated shares describe the operational energy's data, as on the leaderboard:
        # embodied records (a footprint spread over a lifetime) are never "estimated" energy.
        "operational_kg_co2e_location": Sum("emissions_kg_co2e_location", filter=operational),
        "operational_measured_kg_co2e_location": Sum(
            "emissions_kg_co2e_location", filter=operational & Q(quality__in=MEASURED_TIERS)
        ),
        "operational_estimated_kg_co2e_location": Sum(
            "emissions_kg_co2e_location", filter=operational & Q(quality__in=ESTIMATED_TIERS)
        ),
    }
    rows = (
        _rollup(organization, filters, filters.period.start, filters.period.end)
        .annotate(bucket=_TRUNC[bucket]("day", output_field=DateField()))
        .values(*_KEYS)
        .annotate(**{f"sum_{name}": value for name, value in sums.items()})
        .order_by()
        .values_list(*_KEYS, *(f"sum_{name}" for name in sums))
    )
    # Built by the ORM, fetched raw: Django's per-value converters cost more than the query itself here.
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=ROLLUP_FRAME_COLUMNS)
    frame["bucket"] = pd.to_datetime(frame["bucket"]).dt.date
    frame[ROLLUP_FRAME_COLUMNS[len(_KEYS) :]] = frame[ROLLUP_FRAME_COLUMNS[len(_KEYS) :]].fillna(0.0).astype(float)
    return frame


def _totals_kg(organization: Organization, filters: OverviewFilters, period: Period) -> dict:
    totals = _rollup(organization, filters, period.start, period.end).aggregate(
        location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market")
    )
    return {"location_kg": totals["location"] or 0.0, "market_kg": totals["market"] or 0.0}


def frame_covers_budgets(budgets: list, period: Period, bucket: str | None) -> bool:
    """True when the period's rollup frame holds every budget's whole period in whole buckets: each budget
    lies inside the period and starts and ends on bucket boundaries (days always; months when the
    budget runs from a first to a last day of a month). Weeks never line up with quarters."""
    if bucket not in ("day", "month"):
        return False
    return all(
        period.start <= b.period_start
        and b.period_end <= period.end
        and (bucket == "day" or (b.period_start.day == 1 and (b.period_end + timedelta(days=1)).day == 1))
        for b in budgets
    )


def _used_from_frame(frame: pd.DataFrame, budgets: list) -> dict[int, float]:
    """Each budget's kgCO2e from the period's rollup frame (``frame_covers_budgets`` must hold): its owner's rows
    in the buckets inside its period, on its own Scope 2 basis."""
    columns = ["emissions_kg_co2e_location", "emissions_kg_co2e_market"]
    per_owner: dict[tuple[str, int], list[tuple]] = {}  # (team_id|project_id, id) → [(bucket, kg loc, kg market)]
    for owner in ("team_id", "project_id"):
        owned = frame[frame[owner].notna()]
        if owned.empty:
            continue
        sums = owned.groupby([owned[owner].astype("int64"), "bucket"])[columns].sum()
        for (owner_id, bucket), location, market in zip(
            sums.index, *(sums[c].to_numpy() for c in columns), strict=True
        ):
            per_owner.setdefault((owner, owner_id), []).append((bucket, location, market))
    used = {}
    for budget in budgets:
        market = budget.basis == CarbonBudget.Basis.MARKET
        key = ("team_id", budget.team_id) if budget.team_id else ("project_id", budget.project_id)
        used[budget.pk] = float(
            sum(
                kg_market if market else kg_location
                for bucket, kg_location, kg_market in per_owner.get(key, ())
                if budget.period_start <= bucket <= budget.period_end
            )
        )
    return used


def budget_burn(
    *,
    organization: Organization,
    filters: OverviewFilters,
    frame: pd.DataFrame | None = None,
    bucket: str | None = None,
) -> dict:
    """Carbon budgets overlapping the period (of the team filter, when set) against their owners' emissions.

    Each budget is measured as on the Budgets page: over its own period, with its own Scope 2 basis, in
    the view budgets are set in (``BUDGET_VIEW``, whatever the page's view filter) and on all scopes;
    ``over_budget`` counts those at or over their budget (the Budgets page's ``fail``).
    Given the period's rollup ``frame`` (``overview_rollup_frame`` per ``bucket``) in that view without a
    scope filter, and budgets that fall in whole buckets of it (quarterly budgets in a year's monthly
    frame), usage is summed from the frame instead of a second scan of the rollup.
    Keys: ``budget_kg_co2e``, ``used_kg_co2e``, ``burn_pct`` (None without budgets), ``budgets``, ``over_budget``.
    """
    overlapping = CarbonBudget.objects.for_org(organization).filter(
        period_start__lte=filters.period.end, period_end__gte=filters.period.start
    )
    if filters.team_id is not None:
        overlapping = overlapping.filter(Q(team_id=filters.team_id) | Q(project__team_id=filters.team_id))
    budgets = list(overlapping)
    budget_filters = replace(filters, view=BUDGET_VIEW, scope=None)
    used_by_budget: dict[int, float] = {}
    spans = sorted({(b.period_start, b.period_end) for b in budgets})
    frame_in_budget_view = frame is not None and filters.view == BUDGET_VIEW and filters.scope is None
    if spans and frame_in_budget_view and frame_covers_budgets(budgets, filters.period, bucket):
        used_by_budget = _used_from_frame(frame, budgets)
    elif spans:
        sums = {}
        for index, (first, last) in enumerate(spans):
            in_span = Q(day__gte=first, day__lte=last)
            sums[f"location_{index}"] = Sum("emissions_kg_co2e_location", filter=in_span)
            sums[f"market_{index}"] = Sum("emissions_kg_co2e_market", filter=in_span)
        rows = list(
            _rollup(organization, budget_filters, spans[0][0], max(last for _, last in spans))
            .values("team_id", "project_id")
            .annotate(**sums)
            .order_by()
        )
        for budget in budgets:
            index = spans.index((budget.period_start, budget.period_end))
            column = f"market_{index}" if budget.basis == CarbonBudget.Basis.MARKET else f"location_{index}"
            owner, owner_id = ("team_id", budget.team_id) if budget.team_id else ("project_id", budget.project_id)
            used_by_budget[budget.pk] = sum(row[column] or 0.0 for row in rows if row[owner] == owner_id)
    budget_kg = sum(b.budget_kg_co2e for b in budgets)
    used_kg = sum(used_by_budget.values())
    return {
        "budget_kg_co2e": budget_kg,
        "used_kg_co2e": used_kg,
        "burn_pct": 100.0 * used_kg / budget_kg if budget_kg else None,
        "budgets": len(budgets),
        "over_budget": sum(1 for b in budgets if used_by_budget[b.pk] >= b.budget_kg_co2e),
    }


def overview_kpis(*, frame: pd.DataFrame, previous: dict, budget: dict) -> dict:
    """The KPI cards from the period's rollup frame (pure; units in the keys).

    Water is each site's facility kWh / PUE × WUE (WUE is per IT kWh). Shares are of the
    location-based total; the idle share is the unallocated part of the electricity at the
    organization's own and colocated sites.
    """
    location_kg = float(frame["emissions_kg_co2e_location"].sum())
    market_kg = float(frame["emissions_kg_co2e_market"].sum())
    site_kwh = float(frame["site_energy_kwh"].sum())
    operational_kg = float(frame["operational_kg_co2e_location"].sum())
    measured_kg = float(frame["operational_measured_kg_co2e_location"].sum())
    estimated_kg = float(frame["operational_estimated_kg_co2e_location"].sum())
    gpu_with_utilization_h = float(frame["gpu_hours_with_utilization"].sum())

    def change_pct(now: float, before: float) -> float | None:
        return 100.0 * (now - before) / before if before else None

    return {
        "emissions_t_co2e_location": location_kg / KG_PER_T,
        "emissions_t_co2e_market": market_kg / KG_PER_T,
        "change_pct_location": change_pct(location_kg, previous["location_kg"]),
        "change_pct_market": change_pct(market_kg, previous["market_kg"]),
        "previous_t_co2e_location": previous["location_kg"] / KG_PER_T,
        "energy_mwh": float(frame["energy_kwh"].sum()) / KWH_PER_MWH,
        "water_l": float(frame["water_l"].sum()),
        "gpu_hours": float(frame["gpu_hours"].sum()),
        "gpu_utilization_pct": (
            100.0 * float(frame["gpu_busy_hours"].sum()) / gpu_with_utilization_h if gpu_with_utilization_h else None
        ),
        "idle_share_pct": 100.0 * float(frame["idle_energy_kwh"].sum()) / site_kwh if site_kwh else None,
        "measured_share_pct": 100.0 * measured_kg / operational_kg if operational_kg else None,
        "estimated_share_pct": 100.0 * estimated_kg / operational_kg if operational_kg else None,
        "budget": budget,
    }


def _scope_label(code: int) -> str:
    """``scope × 100 + category`` (0 for none) → ``Scope 2`` or ``Scope 3 Cat 1``."""
    scope, category = divmod(int(code), 100)
    return f"Scope {scope} Cat {category}" if category else f"Scope {scope}"


def emissions_over_time_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns: ``period_start, scope_category, emissions_t_co2e_location, emissions_t_co2e_market``."""
    columns = ["period_start", "scope_category", "emissions_t_co2e_location", "emissions_t_co2e_market"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    codes = frame["scope"].astype("int64") * 100 + frame["scope3_category"].fillna(0).astype("int64")
    labelled = frame.assign(scope_category=codes.map({code: _scope_label(code) for code in codes.unique()}))
    grouped = labelled.groupby(["bucket", "scope_category"], as_index=False)[
        ["emissions_kg_co2e_location", "emissions_kg_co2e_market"]
    ].sum()
    return pd.DataFrame(
        {
            "period_start": grouped["bucket"],
            "scope_category": grouped["scope_category"],
            "emissions_t_co2e_location": grouped["emissions_kg_co2e_location"] / KG_PER_T,
            "emissions_t_co2e_market": grouped["emissions_kg_co2e_market"] / KG_PER_T,
        },
        columns=columns,
    ).sort_values(["period_start", "scope_category"], ignore_index=True)


def location_vs_market_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns: ``period_start, emissions_t_co2e_location, emissions_t_co2e_market`` (all scopes)."""
    columns = ["period_start", "emissions_t_co2e_location", "emissions_t_co2e_market"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby("bucket", as_index=False)[["emissions_kg_co2e_location", "emissions_kg_co2e_market"]].sum()
    return pd.DataFrame(
        {
            "period_start": grouped["bucket"],
            "emissions_t_co2e_location": grouped["emissions_kg_co2e_location"] / KG_PER_T,
            "emissions_t_co2e_market": grouped["emissions_kg_co2e_market"] / KG_PER_T,
        },
        columns=columns,
    )


def _by(
    frame: pd.DataFrame, key: str, names: dict[int, str], label: str, unassigned: str, slugs: dict[int, str]
) -> pd.DataFrame:
    """Emissions per owner ``key`` (``team_id``, ``project_id``), largest first, named by ``names`` with the
    owner's slug from ``slugs`` beside (blank for records without an owner): the slug links to its page."""
    columns = [label, f"{label}_slug", "emissions_t_co2e_location", "emissions_t_co2e_market"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(frame[key].fillna(0).astype("int64"))[
        ["emissions_kg_co2e_location", "emissions_kg_co2e_market"]
    ].sum()
    result = pd.DataFrame(
        {
            label: [names.get(int(owner), unassigned) if owner else unassigned for owner in grouped.index],
            f"{label}_slug": [slugs.get(int(owner), "") if owner else "" for owner in grouped.index],
            "emissions_t_co2e_location": grouped["emissions_kg_co2e_location"].to_numpy() / KG_PER_T,
            "emissions_t_co2e_market": grouped["emissions_kg_co2e_market"].to_numpy() / KG_PER_T,
        },
        columns=columns,
    )
    return result.sort_values("emissions_t_co2e_location", ascending=False, ignore_index=True)


def by_team_frame(
    frame: pd.DataFrame, team_names: dict[int, str], team_slugs: dict[int, str] | None = None
) -> pd.DataFrame:
    """Columns: ``team, team_slug, emissions_t_co2e_location, emissions_t_co2e_market``, largest first;
    records without a team (idle electricity, unallocated cloud) are ``(unallocated)``, with no slug."""
    return _by(frame, "team_id", team_names, "team", "(unallocated)", team_slugs or {})


def top_projects_frame(
    frame: pd.DataFrame, project_names: dict[int, str], limit: int = 10, project_slugs: dict[int, str] | None = None
) -> pd.DataFrame:
    """Columns: ``project, project_slug, emissions_t_co2e_location, emissions_t_co2e_market``; the ``limit``
    largest projects."""
    projects = frame[frame["project_id"].notna()] if not frame.empty else frame
    return _by(projects, "project_id", project_names, "project", "(none)", project_slugs or {}).head(limit)


def quality_mix_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns: ``quality, emissions_t_co2e_location, share_pct``, best tier first (location-based)."""
    columns = ["quality", "emissions_t_co2e_location", "share_pct"]
    kg = {tier: float(frame[column].sum()) for tier, column in _TIER_COLUMNS.items()} if not frame.empty else {}
    total_kg = sum(kg.values())
    if not total_kg:
        return pd.DataFrame(columns=columns)
    labels = dict(QualityTier.choices)
    tiers = [tier for tier in QualityTier.values if kg[tier]]
    return pd.DataFrame(
        {
            "quality": [labels[tier] for tier in tiers],
            "emissions_t_co2e_location": [kg[tier] / KG_PER_T for tier in tiers],
            "share_pct": [100.0 * kg[tier] / total_kg for tier in tiers],
        },
        columns=columns,
    )


def overview_dashboard(*, organization: Organization, filters: OverviewFilters) -> OverviewDashboard:
    """KPIs and chart frames of the overview page for the organization, all from the daily rollup."""
    bucket = bucket_for(filters.period)
    water = {
        site_id: wue / pue
        for site_id, wue, pue in Site.objects.for_org(organization).values_list("pk", "wue_l_per_kwh", "pue")
        if wue
    }
    frame = overview_rollup_frame(
        organization=organization, filters=filters, bucket=bucket, water_l_per_facility_kwh=water
    )
    previous = _totals_kg(organization, filters, previous_period(filters.period))
    budget = budget_burn(organization=organization, filters=filters, frame=frame, bucket=bucket)
    kpis = overview_kpis(frame=frame, previous=previous, budget=budget)
    teams = list(Team.objects.for_org(organization).values_list("pk", "name", "slug"))
    projects = list(Project.objects.for_org(organization).values_list("pk", "name", "slug"))
    team_names, team_slugs = {pk: name for pk, name, _ in teams}, {pk: slug for pk, _, slug in teams}
    project_names, project_slugs = {pk: name for pk, name, _ in projects}, {pk: slug for pk, _, slug in projects}
    charts = {
        "emissions_over_time": emissions_over_time_frame(frame),
        "location_vs_market": location_vs_market_frame(frame),
        "by_team": by_team_frame(frame, team_names, team_slugs),
        "top_projects": top_projects_frame(frame, project_names, project_slugs=project_slugs),
        "quality_mix": quality_mix_frame(frame),
    }
    return OverviewDashboard(kpis=kpis, charts=charts, bucket=bucket)
