"""Carbon budgets: how much of each budget is used, the forecast to the end of its period, the CI gate.

Everything is read from the daily rollup. A budget's owner (a team or a project) is charged its
records in the GHG inventory view (operational + capital goods, the overview's default, so the
budget card there and this page agree), on the budget's own Scope 2 basis (location by default).

Forecast: the run rate so far (used ÷ days elapsed, today included) times the days of the period.
Status for the CI gate: ``fail`` when used ≥ budget; ``warn`` when used ≥ 80 % of it or the forecast
exceeds it; ``pass`` otherwise (also when there is no budget: nothing to enforce).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from emissions.calculations import days_inclusive
from emissions.models import DailyEmissionRollup, Organization, Project, Run, Team
from emissions.periods import Period
from emissions.selectors import runs_not_in_ledger
from reporting.models import CarbonBudget
from reporting.selectors.common import BUDGET_VIEW, VIEW_BASES

WARN_AT_PCT = 80.0
ALERT_THRESHOLDS_PCT = (80, 100)
BUDGET_BASES = VIEW_BASES[BUDGET_VIEW]


@dataclass(frozen=True)
class BudgetStatus:
    """One budget as of a day: kgCO2e used so far, forecast for the whole period, and the status."""

    budget: CarbonBudget
    as_of: date
    used_kg_co2e: float
    forecast_kg_co2e: float

    @property
    def budget_kg_co2e(self) -> float:
        return self.budget.budget_kg_co2e

    @property
    def used_pct(self) -> float:
        return 100.0 * self.used_kg_co2e / self.budget.budget_kg_co2e

    @property
    def status(self) -> str:
        return budget_status_classify(
            used_kg_co2e=self.used_kg_co2e,
            forecast_kg_co2e=self.forecast_kg_co2e,
            budget_kg_co2e=self.budget.budget_kg_co2e,
        )

    @property
    def owner_label(self) -> str:
        budget = self.budget
        return f"team {budget.team.name}" if budget.team_id else f"project {budget.project.name}"


def budget_status_classify(*, used_kg_co2e: float, forecast_kg_co2e: float, budget_kg_co2e: float) -> str:
    """``fail`` at or over budget; ``warn`` from 80 % used or when the forecast exceeds it; else ``pass``."""
    if used_kg_co2e >= budget_kg_co2e:
        return "fail"
    if used_kg_co2e >= budget_kg_co2e * WARN_AT_PCT / 100.0 or forecast_kg_co2e > budget_kg_co2e:
        return "warn"
    return "pass"


def budget_forecast_kg(*, used_kg_co2e: float, period_start: date, period_end: date, as_of: date) -> float:
    """kgCO2e at the end of the period at the run rate so far (linear; ``as_of`` counts as elapsed)."""
    if as_of < period_start:
        return 0.0
    if as_of >= period_end:
        return used_kg_co2e
    elapsed_days = days_inclusive(period_start, as_of)
    return used_kg_co2e / elapsed_days * days_inclusive(period_start, period_end)


def _owner_rows(budget: CarbonBudget):
    owner = Q(team_id=budget.team_id) if budget.team_id else Q(project_id=budget.project_id)
    return DailyEmissionRollup.objects.for_org(budget.organization_id).filter(owner, basis__in=BUDGET_BASES)


def _column(budget: CarbonBudget) -> str:
    market = budget.basis == CarbonBudget.Basis.MARKET
    return "emissions_kg_co2e_market" if market else "emissions_kg_co2e_location"


def budget_used_kg(*, budget: CarbonBudget, through: date) -> float:
    """kgCO2e charged to the budget's owner from its first day through ``through`` (or its last day)."""
    last = min(through, budget.period_end)
    if last < budget.period_start:
        return 0.0
    rows = _owner_rows(budget).filter(day__gte=budget.period_start, day__lte=last)
    return rows.aggregate(kg=Coalesce(Sum(_column(budget)), 0.0))["kg"]


def budget_status(*, budget: CarbonBudget, today: date) -> BudgetStatus:
    used = budget_used_kg(budget=budget, through=today)
    forecast = budget_forecast_kg(
        used_kg_co2e=used, period_start=budget.period_start, period_end=budget.period_end, as_of=today
    )
    return BudgetStatus(budget=budget, as_of=today, used_kg_co2e=used, forecast_kg_co2e=forecast)


def budget_statuses(*, organization: Organization, today: date, start: date, end: date) -> list[BudgetStatus]:
    """Every budget of the organization overlapping ``start``..``end``, as of ``today``, teams first."""
    budgets = (
        CarbonBudget.objects.for_org(organization)
        .filter(period_start__lte=end, period_end__gte=start)
        .select_related("team", "project", "organization")
        .order_by("period_start", "project_id", "team__name", "project__name")
    )
    return [budget_status(budget=budget, today=today) for budget in budgets]


def budget_burndown_frame(*, status: BudgetStatus) -> pd.DataFrame:
    """Columns: ``day, remaining_kg_co2e, ideal_remaining_kg_co2e, forecast_remaining_kg_co2e``.

    ``remaining`` is the budget minus the cumulative use, through the status day (NaN after it);
    ``ideal`` falls linearly to zero at the end; ``forecast`` extends the run rate from the status day.
    """
    budget = status.budget
    column = _column(budget)
    daily = dict(
        _owner_rows(budget)
        .filter(day__gte=budget.period_start, day__lte=min(status.as_of, budget.period_end))
        .values("day")
        .annotate(kg=Sum(column))
        .order_by()
        .values_list("day", "kg")
    )
    total_days = days_inclusive(budget.period_start, budget.period_end)
    elapsed_days = max(0, min(total_days, days_inclusive(budget.period_start, status.as_of)))
    rate_kg_per_day = status.used_kg_co2e / elapsed_days if elapsed_days else 0.0
    rows, cumulative = [], 0.0
    for index in range(total_days):
        day = budget.period_start + timedelta(days=index)
        remaining = forecast = None
        if index < elapsed_days:
            cumulative += daily.get(day) or 0.0
            remaining = budget.budget_kg_co2e - cumulative
        if index >= elapsed_days - 1 and elapsed_days:
            forecast = budget.budget_kg_co2e - status.used_kg_co2e - rate_kg_per_day * (index - elapsed_days + 1)
        ideal = budget.budget_kg_co2e * (1 - (index + 1) / total_days)
        rows.append((day, remaining, ideal, forecast))
    return pd.DataFrame(
        rows, columns=["day", "remaining_kg_co2e", "ideal_remaining_kg_co2e", "forecast_remaining_kg_co2e"]
    )


def project_budgets_covering(*, project: Project, on: date) -> list[CarbonBudget]:
    """Every budget covering ``on`` that gates the project: its own and its team's (a year, a quarter and a
    month may all cover the same day)."""
    covering = CarbonBudget.objects.for_org(project.organization_id).filter(period_start__lte=on, period_end__gte=on)
    owned = covering.filter(Q(project=project) | Q(team_id=project.team_id, project__isnull=True))
    return list(owned.select_related("organization", "project", "team").order_by("period_start", "pk"))


_SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


def tightest_status(statuses: list[BudgetStatus]) -> BudgetStatus:
    """The budget that constrains most: the worst status, then the largest share used."""
    return max(
        statuses,
        key=lambda s: (_SEVERITY[s.status], s.used_kg_co2e / s.budget_kg_co2e if s.budget_kg_co2e else float("inf")),
    )


def period_label(start: date, end: date) -> str:
    """The ``period_parse`` label of a calendar month, quarter, half or year, else ``2026-07-01..2026-08-15``."""
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months == 1:
            return f"{start.year}-{start.month:02d}"
        if months == 6 and start.month in (1, 7):
            return f"{start.year}-H{1 if start.month == 1 else 2}"
        if months == 3 and start.month % 3 == 1:
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        if months == 12 and start.month == 1:
            return str(start.year)
    return f"{start}..{end}"


def budget_uncounted(*, budget: CarbonBudget, today: date) -> dict:
    """Runs of the budget's owner in its period (up to today) that no figure holds: ``runs``, ``energy_kwh``."""
    runs = Run.objects.for_org(budget.organization_id).filter(
        started_at__date__gte=budget.period_start, started_at__date__lte=min(today, budget.period_end)
    )
    runs = runs.filter(project_id=budget.project_id) if budget.project_id else runs.filter(project__team=budget.team_id)
    return runs_not_in_ledger(organization=budget.organization, runs=runs)


def budget_check(*, project: Project, today: date) -> dict:
    """The CI gate's answer for a project: ``status``, ``used_kg``, ``budget_kg``, ``forecast_kg``, ``period``."""
    covering = project_budgets_covering(project=project, on=today)
    if not covering:
        return {
            "status": "pass",
            "used_kg": None,
            "budget_kg": None,
            "forecast_kg": None,
            "period": None,
            "project": project.slug,
            "detail": "no carbon budget covers this project today",
        }
    # One rule for overlapping budgets: the gate answers from the tightest one covering today, and names it.
    status = tightest_status([budget_status(budget=budget, today=today) for budget in covering])
    budget = status.budget
    # Energy of the budget's owner in its period that no figure holds: a pass would be a guess, so warn.
    uncounted = budget_uncounted(budget=budget, today=today)
    answer = {
        "status": status.status,
        "used_kg": round(status.used_kg_co2e, 3),
        "budget_kg": round(status.budget_kg_co2e, 3),
        "forecast_kg": round(status.forecast_kg_co2e, 3),
        "period": period_label(budget.period_start, budget.period_end),
        "project": project.slug,
        "budget_owner": f"project:{budget.project.slug}" if budget.project_id else f"team:{budget.team.slug}",
        "basis": budget.basis,
        "budgets_covering_today": len(covering),
        "uncounted_runs": uncounted["runs"],
        "uncounted_energy_kwh": round(uncounted["energy_kwh"], 6),
    }
    if uncounted["runs"]:
        if answer["status"] == "pass":
            answer["status"] = "warn"
        answer["detail"] = (
            f"{uncounted['runs']} run(s) ({uncounted['energy_kwh']:.3f} kWh) of the budget's period are in no figure "
            "yet (not located, no grid factor, or awaiting the next recalculation): the verdict may be too low"
        )
    return answer


@transaction.atomic
def carbon_budget_set(
    *,
    organization: Organization,
    period: Period,
    budget_kg_co2e: float,
    team: Team | None = None,
    project: Project | None = None,
    basis: str = CarbonBudget.Basis.LOCATION,
) -> CarbonBudget:
    """Create or update the budget of one team or one project for a period (keyed by its first day).

    Alerts already sent for the budget stay: each threshold alerts once per budget period, whatever
    the amount becomes later.
    """
    if (team is None) == (project is None):
        raise ValueError("a budget belongs to exactly one team or one project")
    owner = team or project
    if owner.organization_id != organization.pk:
        raise ValueError("the budget's owner must belong to the organization")
    if not budget_kg_co2e > 0:
        raise ValueError("a budget must be more than 0 kgCO2e")
    budget, _ = CarbonBudget.objects.update_or_create(
        organization=organization,
        team=team,
        project=project,
        period_start=period.start,
        defaults={"period_end": period.end, "budget_kg_co2e": budget_kg_co2e, "basis": basis},
    )
    return budget
