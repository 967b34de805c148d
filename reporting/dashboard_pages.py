"""Reads for the team and project pages; the run page is in ``dashboard_run``, the fleet, cloud and
settings pages in ``dashboard_fleet``.

Period figures come from the daily rollup (``DailyEmissionRollup``) like the overview's; a run's own
figures come from the ledger lines of the newest current Calculation that covers it (the rule of
``emissions.selectors.run_emissions_by_id``). Every selector takes ``organization=`` and reads only
that organization's rows. Emissions are kgCO2e in the selectors and tCO2e in the chart frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from django.db.models import Count, DateField, F, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth

from emissions.choices import Basis, RunKind
from emissions.models import Calculation, DailyEmissionRollup, EmissionRecord, Organization, Project, Run, Team
from emissions.periods import Period, days
from emissions.selectors import run_emissions_by_id
from reporting.dashboard import VIEW_BASES
from reporting.models import CarbonBudget

_KG_PER_T = 1000.0
BIGGEST_RUNS = 10


@dataclass
class PageData:
    """What a dashboard page shows: facts for its tables and cards, one tidy DataFrame per chart."""

    facts: dict
    charts: dict[str, pd.DataFrame] = field(default_factory=dict)


def _rollup(organization: Organization, start: date, end: date, view: str):
    return DailyEmissionRollup.objects.for_org(organization).filter(
        day__gte=start, day__lte=end, basis__in=VIEW_BASES[view]
    )


def _months_back(end: date, months: int) -> date:
    """First day of the month ``months - 1`` months before ``end``'s month (a trailing window)."""
    index = end.year * 12 + end.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def _started_in(period: Period, prefix: str = "") -> Q:
    """Runs started in the period (UTC days), as a range on ``started_at`` so its index can serve it."""
    first = datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC)
    after = first + timedelta(days=(period.end - period.start).days + 1)
    return Q(**{f"{prefix}started_at__gte": first, f"{prefix}started_at__lt": after})


def newest_calculation_lines(*, organization: Organization) -> Q:
    """Ledger lines of the newest current Calculation covering their first day (the rollup's rule): a
    quarter and its year both hold a run's lines; only the newest is read, never both. The days each
    calculation owns become a few date ranges, so the filter needs no correlated subquery."""
    owners: dict[date, int] = {}
    current = (
        Calculation.objects.for_org(organization)
        .in_period_range()
        .filter(superseded_by__isnull=True)
        .order_by("pk")
        .values_list("pk", "period_start", "period_end")
    )
    for pk, first, last in current:  # ascending ids: a newer calculation takes the day over
        for day in days(first, last):
            owners[day] = pk
    spans: list[list] = []  # [calculation id, first day, last day]
    for day in sorted(owners):
        if spans and spans[-1][0] == owners[day] and spans[-1][2] == day - timedelta(days=1):
            spans[-1][2] = day
        else:
            spans.append([owners[day], day, day])
    lines = Q(pk__in=[])
    for pk, first, last in spans:
        lines |= Q(calculation_id=pk, period_start__gte=first, period_start__lte=last)
    return lines


def _runs_with_emissions(runs) -> pd.DataFrame:
    """Runs (a queryset) with their operational kgCO2e (newest current calculation) as a frame.

    Columns: ``run_id, external_id, kind, started_at, energy_kwh, gpu_hours, emissions_kg_co2e_location,
    emissions_kg_co2e_market``.
    """
    columns = ["run_id", "external_id", "kind", "started_at", "energy_kwh", "gpu_count", "duration_s"]
    frame = pd.DataFrame.from_records(
        list(runs.values_list("pk", "external_id", "kind", "started_at", "energy_kwh", "gpu_count", "duration_s")),
        columns=columns,
    )
    kg = run_emissions_by_id(run_ids=[int(pk) for pk in frame["run_id"]])
    frame["gpu_hours"] = frame.pop("gpu_count").astype(float) * frame.pop("duration_s").astype(float) / 3600.0
    frame["emissions_kg_co2e_location"] = [float(kg.get(pk, (0.0, 0.0))[0] or 0.0) for pk in frame["run_id"]]
    frame["emissions_kg_co2e_market"] = [float(kg.get(pk, (0.0, 0.0))[1] or 0.0) for pk in frame["run_id"]]
    return frame


# --- Team ---------------------------------------------------------------------------------------------


def team_projects_frame(*, organization: Organization, team: Team, period: Period, view: str) -> pd.DataFrame:
    """The team's projects with runs started in the period and the period's emissions, largest first.

    Columns: ``project, project_slug, runs, energy_kwh, emissions_t_co2e_location, emissions_t_co2e_market``.
    """
    columns = ["project", "project_slug", "runs", "energy_kwh", "emissions_t_co2e_location", "emissions_t_co2e_market"]
    emissions = {
        row["project_id"]: row
        for row in _rollup(organization, period.start, period.end, view)
        .filter(team=team)
        .values("project_id")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }
    runs = {
        row["project_id"]: row
        for row in Run.objects.for_org(organization)
        .filter(_started_in(period), project__team=team)
        .values("project_id")
        .annotate(runs=Count("id"), energy_kwh=Sum("energy_kwh"))
        .order_by()
    }
    records = []
    for project in Project.objects.for_org(organization).filter(team=team):
        kg = emissions.get(project.pk, {})
        run = runs.get(project.pk, {})
        records.append([
            project.name, project.slug, run.get("runs", 0), float(run.get("energy_kwh") or 0.0),
            float(kg.get("location") or 0.0) / _KG_PER_T, float(kg.get("market") or 0.0) / _KG_PER_T,
        ])  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.sort_values(["emissions_t_co2e_location", "project"], ascending=[False, True], ignore_index=True)


def team_trend_frame(*, organization: Organization, team: Team, end: date, view: str, months: int = 12) -> pd.DataFrame:
    """The team's emissions per month over the ``months`` ending with ``end``'s month (empty months as 0).

    Columns: ``period_start, emissions_t_co2e_location, emissions_t_co2e_market``.
    """
    start = _months_back(end, months)
    sums = {
        row["month"]: row
        for row in _rollup(organization, start, end, view)
        .filter(team=team)
        .annotate(month=TruncMonth("day", output_field=DateField()))
        .values("month")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }
    if not sums:
        return pd.DataFrame(columns=["period_start", "emissions_t_co2e_location", "emissions_t_co2e_market"])
    month_starts = [_months_back(end, months - offset) for offset in range(months)]
    return pd.DataFrame(
        {
            "period_start": month_starts,
            "emissions_t_co2e_location": [
                float(sums.get(m, {}).get("location") or 0.0) / _KG_PER_T for m in month_starts
            ],
            "emissions_t_co2e_market": [float(sums.get(m, {}).get("market") or 0.0) / _KG_PER_T for m in month_starts],
        }
    )


def team_budget_burndown(*, organization: Organization, team: Team, period: Period, view: str) -> dict | None:
    """The team's carbon budget overlapping the period (the latest one), and its burn-down.

    Keys: ``budget`` (the CarbonBudget), ``used_kg_co2e``, ``remaining_kg_co2e``, ``burn_pct`` and ``frame``
    with columns ``day, remaining_t_co2e, ideal_remaining_t_co2e`` (remaining after each day, and what a
    steady burn would leave), up to the budget's end or the last day with data. None without a budget.
    """
    budget = (
        CarbonBudget.objects.for_org(organization)
        .filter(team=team, period_start__lte=period.end, period_end__gte=period.start)
        .order_by("-period_start")
        .first()
    )
    if budget is None:
        return None
    column = "emissions_kg_co2e_market" if budget.basis == CarbonBudget.Basis.MARKET else "emissions_kg_co2e_location"
    daily = dict(
        _rollup(organization, budget.period_start, budget.period_end, view)
        .filter(team=team)
        .annotate(date=TruncDay("day", output_field=DateField()))
        .values("date")
        .annotate(kg=Sum(column))
        .order_by()
        .values_list("date", "kg")
    )
    last = max(daily) if daily else budget.period_start
    days = (budget.period_end - budget.period_start).days + 1
    rows, used = [], 0.0
    day = budget.period_start
    while day <= last:
        used += float(daily.get(day) or 0.0)
        elapsed = (day - budget.period_start).days + 1
        ideal = budget.budget_kg_co2e * (1 - elapsed / days)
        rows.append([day, (budget.budget_kg_co2e - used) / _KG_PER_T, ideal / _KG_PER_T])
        day += timedelta(days=1)
    frame = pd.DataFrame.from_records(rows, columns=["day", "remaining_t_co2e", "ideal_remaining_t_co2e"])
    return {
        "budget": budget,
        "used_kg_co2e": used,
        "remaining_kg_co2e": budget.budget_kg_co2e - used,
        "burn_pct": 100.0 * used / budget.budget_kg_co2e,
        "frame": frame,
    }


def team_rank(*, organization: Organization, team: Team, period: Period, view: str) -> dict:
    """The team's place among the organization's teams by location-based tCO2e in the period (1 = most).

    Keys: ``rank`` (None when the team has no emissions), ``teams`` (teams with emissions), and the
    team's ``emissions_t_co2e_location`` and ``emissions_t_co2e_market`` (all its records, with or
    without a project).
    """
    totals = list(
        _rollup(organization, period.start, period.end, view)
        .filter(team__isnull=False)
        .values("team_id")
        .annotate(kg=Sum("emissions_kg_co2e_location"), market_kg=Sum("emissions_kg_co2e_market"))
        .order_by("-kg", "team_id")
    )
    ranked = [row["team_id"] for row in totals if row["kg"]]
    own = next((row for row in totals if row["team_id"] == team.pk), {})
    return {
        "rank": ranked.index(team.pk) + 1 if team.pk in ranked else None,
        "teams": len(ranked),
        "emissions_t_co2e_location": (own.get("kg") or 0.0) / _KG_PER_T,
        "emissions_t_co2e_market": (own.get("market_kg") or 0.0) / _KG_PER_T,
    }


def team_biggest_runs(*, organization: Organization, team: Team, period: Period, limit: int = BIGGEST_RUNS):
    """The team's runs started in the period with the largest operational kgCO2e (location-based), from one
    grouped query on the ledger. Columns: those of ``_runs_with_emissions``, largest first."""
    largest = (
        EmissionRecord.objects.for_org(organization)
        .filter(
            newest_calculation_lines(organization=organization),
            _started_in(period, "run__"),
            run__project__team=team,
            basis=Basis.OPERATIONAL,
        )
        .values("run_id")
        .annotate(kg=Sum("emissions_kg_co2e_location"))
        .order_by("-kg", "run_id")
        .values_list("run_id", flat=True)[:limit]
    )
    runs = _runs_with_emissions(Run.objects.for_org(organization).filter(pk__in=list(largest)))
    return runs.sort_values(["emissions_kg_co2e_location", "run_id"], ascending=[False, True]).head(limit)


def team_dashboard(*, organization: Organization, team: Team, period: Period, view: str) -> PageData:
    """Everything on the team page: projects, monthly trend, budget burn-down, rank and biggest runs."""
    projects = team_projects_frame(organization=organization, team=team, period=period, view=view)
    biggest = team_biggest_runs(organization=organization, team=team, period=period)
    biggest_runs = pd.DataFrame(
        {
            "run": biggest["external_id"],
            "emissions_t_co2e_location": biggest["emissions_kg_co2e_location"] / _KG_PER_T,
            "emissions_t_co2e_market": biggest["emissions_kg_co2e_market"] / _KG_PER_T,
        }
    )
    burndown = team_budget_burndown(organization=organization, team=team, period=period, view=view)
    charts = {
        "trend": team_trend_frame(organization=organization, team=team, end=period.end, view=view),
        "projects": projects[["project", "emissions_t_co2e_location", "emissions_t_co2e_market"]],
        "biggest_runs": biggest_runs,
    }
    if burndown is not None:
        charts["burndown"] = burndown["frame"]
    facts = {
        "projects": projects.to_dict("records"),
        "rank": team_rank(organization=organization, team=team, period=period, view=view),
        "budget": burndown,
        "biggest_runs": biggest.to_dict("records"),
    }
    return PageData(facts=facts, charts=charts)


# --- Project ------------------------------------------------------------------------------------------

# ?sort= values of the runs table → ORM ordering (stable by id).
RUN_SORTS = {
    "started": ("started_at", "pk"),
    "-started": ("-started_at", "-pk"),
    "energy": ("energy_kwh", "pk"),
    "-energy": ("-energy_kwh", "-pk"),
    "duration": ("duration_s", "pk"),
    "-duration": ("-duration_s", "-pk"),
    "kind": ("kind", "-started_at"),
    "-kind": ("-kind", "-started_at"),
}
# The split of the project page: inference is serving; everything else builds or checks a model.
TRAINING_KINDS = (RunKind.TRAINING, RunKind.FINE_TUNING)


def project_runs(*, organization: Organization, project: Project, sort: str):
    """The project's runs ordered by a ``RUN_SORTS`` key (newest first for an unknown one)."""
    return (
        Run.objects.for_org(organization)
        .filter(project=project)
        .select_related("site", "cloud_region")
        .order_by(*RUN_SORTS.get(sort, RUN_SORTS["-started"]))
    )


def project_kind_split_frame(*, organization: Organization, project: Project) -> pd.DataFrame:
    """The project's runs by kind: runs, IT kWh, GPU-hours and operational tCO2e (location, market).

    Columns: ``kind, runs, energy_kwh, gpu_hours, emissions_t_co2e_location, emissions_t_co2e_market``.
    """
    columns = ["kind", "runs", "energy_kwh", "gpu_hours", "emissions_t_co2e_location", "emissions_t_co2e_market"]
    activity = {
        row["kind"]: row
        for row in Run.objects.for_org(organization)
        .filter(project=project)
        .values("kind")
        .annotate(runs=Count("id"), energy_kwh=Sum("energy_kwh"), gpu_seconds=Sum(F("gpu_count") * F("duration_s")))
        .order_by()
    }
    if not activity:
        return pd.DataFrame(columns=columns)
    # Each run's operational lines in the newest current calculation that covers it (never a quarter
    # and its year both): one grouped query however many runs the project has.
    emissions = {
        row["run__kind"]: row
        for row in EmissionRecord.objects.for_org(organization)
        .filter(newest_calculation_lines(organization=organization), run__project=project, basis=Basis.OPERATIONAL)
        .values("run__kind")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }
    labels = dict(RunKind.choices)
    records = [
        [labels.get(kind, kind), row["runs"], float(row["energy_kwh"] or 0.0),
         float(row["gpu_seconds"] or 0.0) / 3600.0, float(emissions.get(kind, {}).get("location") or 0.0) / _KG_PER_T,
         float(emissions.get(kind, {}).get("market") or 0.0) / _KG_PER_T]
        for kind, row in activity.items()
    ]  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.sort_values(["emissions_t_co2e_location", "kind"], ascending=[False, True], ignore_index=True)


def training_inference_totals(split: pd.DataFrame) -> dict:
    """Training (training + fine-tuning), inference and other tCO2e (location-based) from the kind split."""
    labels = dict(RunKind.choices)
    training = {labels[kind] for kind in TRAINING_KINDS}
    by_kind = dict(zip(split["kind"], split["emissions_t_co2e_location"], strict=True)) if not split.empty else {}
    return {
        "training_t_co2e": sum(v for k, v in by_kind.items() if k in training),
        "inference_t_co2e": by_kind.get(labels[RunKind.INFERENCE], 0.0),
        "other_t_co2e": sum(v for k, v in by_kind.items() if k not in training and k != labels[RunKind.INFERENCE]),
    }


def run_emissions_of(runs: list[Run]) -> dict[int, tuple[float, float]]:
    """Operational kgCO2e (location, market) of the runs on one page of a table."""
    return run_emissions_by_id(run_ids=[run.pk for run in runs])
