"""Team and project leaderboards: who emits least, most efficiently, improves most, keeps to budget.

Ranking rules (docs/guild.md):
- Emissions are the **management view** (operational + amortized embodied + write-offs, location-based):
  buying a server does not throw a team to the bottom of the quarter it was bought in.
- Every metric is "lower is better" and ranks ascending; equal values (to 1e-9) share a rank and the
  next rank skips (1, 1, 3: competition ranking).
- Teams (projects) without a value for the metric are listed **unranked** after the ranked ones, with
  the reason (no data, no GPU-hours reported, no budget, no previous period): an empty team never wins.
- Each row carries its data-quality shares; a row whose location-based kgCO2e is more than half
  estimated (TDP estimate, estimated location, billing estimate or default value) is marked
  ``mostly_estimated``, so the board rewards measuring rather than hiding behind defaults.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
from django.db.models import Q, Sum

from emissions.calculations import days_inclusive
from emissions.choices import Basis, QualityTier
from emissions.functional_units import run_inferences, run_tokens
from emissions.models import DailyEmissionRollup, Organization, Project, Run, Team
from emissions.periods import Period
from emissions.selectors import run_emissions_by_id, runs_not_in_ledger
from emissions.units import G_PER_KG, KG_PER_T
from reporting.guild.budgets import budget_forecast_kg, budget_statuses
from reporting.selectors.common import (
    ESTIMATED_TIERS,
    MEASURED_TIERS,
    VIEW_BASES,
    competition_ranks,
    previous_period,
)

MOSTLY_ESTIMATED_ABOVE_PCT = 50.0
LEADERBOARD_BASES = VIEW_BASES["management"]


@dataclass(frozen=True)
class Metric:
    label: str
    unit: str
    missing: str  # why a row without a value is unranked
    basis: str  # the view, Scope 2 method and span the value is computed on, as the page states it


_MANAGEMENT = (
    "management view (operational + amortized embodied + write-offs), location-based, for the runs and records "
    "dated in the period"
)
_RUNS_OPERATIONAL = (
    "operational emissions (electricity and its upstream, no embodied), location-based, of the runs started in the "
    "period that report {unit}, in the current ledger"
)
METRICS = {
    "absolute": Metric("Absolute emissions", "tCO2e", "no data", _MANAGEMENT),
    "per_gpu_hour": Metric("Intensity per GPU-hour", "gCO2e/GPU-h", "no GPU-hours reported", _MANAGEMENT),
    "per_1k_inferences": Metric(
        "Intensity per 1,000 inferences",
        "gCO2e/1k inferences",
        "no inference counts",
        _RUNS_OPERATIONAL.format(unit="inferences (inference runs only)"),
    ),
    "per_1m_tokens": Metric(
        "Intensity per 1M tokens", "gCO2e/1M tokens", "no token counts", _RUNS_OPERATIONAL.format(unit="tokens")
    ),
    "improvement": Metric(
        "Change vs previous period",
        "%",
        "no emissions in the previous period",
        f"{_MANAGEMENT}, against the previous period of the same length; a running period pro-rated",
    ),
    "budget_adherence": Metric(
        "Budget used",
        "% of budget",
        "no budget",
        "each budget on its own basis (inventory view: operational + capital goods; location- or market-based as "
        "the budget says), the largest share among the owner's budgets overlapping the period",
    ),
}
ENTITIES = ("team", "project")
LEADERBOARD_COLUMNS = [
    "rank",
    "name",
    "slug",
    "team",
    "value",
    "unit",
    "emissions_t_co2e_location",
    "gpu_hours",
    "measured_share_pct",
    "estimated_share_pct",
    "mostly_estimated",
    "embodied_share_pct",
    "embodied_supplier_specific_pct",
    "uncounted_runs",
    "uncounted_energy_kwh",
    "note",
]
# A row whose runs in no figure hold more than this share of its energy is unranked: its value would flatter it.
UNCOUNTED_UNRANK_ABOVE_PCT = 10.0


def _owner_sums(organization: Organization, owner: str, period: Period) -> dict[int, dict]:
    # Measured and estimated shares describe the operational energy's data; embodied records (a product
    # footprint spread over a lifetime, whatever its source) are shown apart, never as "estimated" energy.
    operational = Q(basis=Basis.OPERATIONAL)
    tiers = {
        "operational": Sum("emissions_kg_co2e_location", filter=operational),
        "measured": Sum("emissions_kg_co2e_location", filter=operational & Q(quality__in=MEASURED_TIERS)),
        "estimated": Sum("emissions_kg_co2e_location", filter=operational & Q(quality__in=ESTIMATED_TIERS)),
        # The embodied part's own quality: figures the hardware's supplier gave, vs catalogue defaults.
        "embodied_supplier_specific": Sum(
            "emissions_kg_co2e_location", filter=~operational & Q(quality=QualityTier.SUPPLIER_SPECIFIC)
        ),
    }
    rows = (
        DailyEmissionRollup.objects.for_org(organization)
        .filter(day__gte=period.start, day__lte=period.end, basis__in=LEADERBOARD_BASES, **{f"{owner}__isnull": False})
        .values(owner)
        .annotate(
            kg=Sum("emissions_kg_co2e_location"), gpu_hours=Sum("gpu_hours"), energy_kwh=Sum("energy_kwh"), **tiers
        )
        .order_by()
    )
    return {row[owner]: row for row in rows}


def _per_unit(organization: Organization, owner: str, period: Period) -> dict[int, dict]:
    """Per owner: kgCO2e and counts of the runs (started in the period) that report inferences or tokens."""
    runs = list(
        Run.objects.for_org(organization)
        .filter(started_at__date__gte=period.start, started_at__date__lte=period.end)
        .filter(Q(inferences_count__gt=0) | Q(tokens_processed__gt=0))
        .values("pk", "kind", "project_id", "project__team_id", "inferences_count", "tokens_processed")
    )
    ledger = run_emissions_by_id(run_ids=[run["pk"] for run in runs])
    sums: dict[int, dict] = defaultdict(lambda: defaultdict(float))
    for run in runs:
        if run["pk"] not in ledger:
            continue
        key = run["project_id"] if owner == "project_id" else run["project__team_id"]
        kg = ledger[run["pk"]][0]
        if inferences := run_inferences(run["kind"], run["inferences_count"]):
            sums[key]["inference_kg"] += kg
            sums[key]["inferences"] += inferences
        if tokens := run_tokens(run["tokens_processed"]):
            sums[key]["token_kg"] += kg
            sums[key]["tokens"] += tokens
    return sums


def _budget_used_pct(organization: Organization, owner: str, period: Period, today) -> dict[int, float]:
    """Per owner, the largest share used among its budgets overlapping the period: each budget is measured
    on its own (a year, a quarter and a month are never summed), and the tightest one counts."""
    used_pct: dict[int, float] = {}
    for status in budget_statuses(organization=organization, today=today, start=period.start, end=period.end):
        key = getattr(status.budget, owner)
        if key is not None and status.budget_kg_co2e:
            share = 100.0 * status.used_kg_co2e / status.budget_kg_co2e
            used_pct[key] = max(share, used_pct.get(key, share))
    return used_pct


def _value(
    metric: str,
    sums: dict | None,
    units: dict | None,
    previous_kg: float | None,
    budget_pct: float | None,
    projected_kg: float = 0.0,
):
    kg = (sums or {}).get("kg") or 0.0
    if metric == "absolute":
        return kg / KG_PER_T if sums else None
    if metric == "per_gpu_hour":
        gpu_hours = (sums or {}).get("gpu_hours") or 0.0
        return G_PER_KG * kg / gpu_hours if gpu_hours else None
    if metric == "per_1k_inferences":
        has = units and units["inferences"]
        return G_PER_KG * units["inference_kg"] / (units["inferences"] / 1000.0) if has else None
    if metric == "per_1m_tokens":
        return G_PER_KG * units["token_kg"] / (units["tokens"] / 1e6) if units and units["tokens"] else None
    if metric == "improvement":
        # Only between two periods with data (an empty period is not a 100 % cut); the current one is
        # taken at its projected total (the budgets' run-rate forecast) when it is still running.
        if not sums or not projected_kg or not previous_kg:
            return None
        return 100.0 * (projected_kg - previous_kg) / previous_kg
    return budget_pct


def _missing(metric: str, has_data) -> str:
    return METRICS[metric].missing if has_data else "no data"


def leaderboard(*, organization: Organization, period: Period, metric: str, entity: str, today) -> pd.DataFrame:
    """Every team (or project) of the organization ranked on ``metric`` over ``period``.

    Columns: ``LEADERBOARD_COLUMNS``; ranked rows first (ascending value), then the unranked ones
    by name with the reason in ``note``. Raises ValueError on an unknown metric or entity.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}: use team or project")
    owner = f"{entity}_id"
    owners = (
        Team.objects.for_org(organization).values("pk", "name", "slug")
        if entity == "team"
        else Project.objects.for_org(organization).values("pk", "name", "slug", "team__name")
    )
    owners = list(owners)
    sums = _owner_sums(organization, owner, period)
    previous = _owner_sums(organization, owner, previous_period(period)) if metric == "improvement" else {}
    units = _per_unit(organization, owner, period) if metric in ("per_1k_inferences", "per_1m_tokens") else {}
    budgets = _budget_used_pct(organization, owner, period, today) if metric == "budget_adherence" else {}
    runs = Run.objects.for_org(organization).filter(
        started_at__date__gte=period.start, started_at__date__lte=period.end
    )
    uncounted = runs_not_in_ledger(
        organization=organization, runs=runs, by="project_id" if entity == "project" else "project__team_id"
    )
    values, notes = {}, {}
    running = period.start <= today < period.end
    for row in owners:
        previous_kg = (previous.get(row["pk"]) or {}).get("kg")
        kg = (sums.get(row["pk"]) or {}).get("kg") or 0.0
        projected_kg = budget_forecast_kg(
            used_kg_co2e=kg, period_start=period.start, period_end=period.end, as_of=today
        )
        values[row["pk"]] = _value(
            metric, sums.get(row["pk"]), units.get(row["pk"]), previous_kg, budgets.get(row["pk"]), projected_kg
        )
        if metric == "improvement" and values[row["pk"]] is not None and running:
            elapsed, total = days_inclusive(period.start, today), days_inclusive(period.start, period.end)
            notes[row["pk"]] = f"pro-rated: {elapsed} of {total} days elapsed"
        missing = uncounted.get(row["pk"])
        if missing:
            counted_kwh = (sums.get(row["pk"]) or {}).get("energy_kwh") or 0.0
            share_pct = 100.0 * missing["energy_kwh"] / (counted_kwh + missing["energy_kwh"] or 1.0)
            notes[row["pk"]] = (
                f"{missing['runs']} run(s), {missing['energy_kwh']:.3f} kWh not counted ({share_pct:.0f} %)"
            )
            if share_pct > UNCOUNTED_UNRANK_ABOVE_PCT:
                values[row["pk"]] = None  # unranked: most of its work is not in its figure
    ranks = competition_ranks(values)
    records = []
    for row in owners:
        own = sums.get(row["pk"]) or {}
        kg, operational_kg = own.get("kg") or 0.0, own.get("operational") or 0.0
        estimated_pct = 100.0 * (own.get("estimated") or 0.0) / operational_kg if operational_kg else None
        records.append(
            {
                "rank": ranks[row["pk"]],
                "name": row["name"],
                "slug": row["slug"],
                "team": row.get("team__name", row["name"]),
                "value": values[row["pk"]],
                "unit": METRICS[metric].unit,
                "emissions_t_co2e_location": kg / KG_PER_T,
                "gpu_hours": own.get("gpu_hours") or 0.0,
                "measured_share_pct": 100.0 * (own.get("measured") or 0.0) / operational_kg if operational_kg else None,
                "estimated_share_pct": estimated_pct,
                "mostly_estimated": bool(estimated_pct is not None and estimated_pct > MOSTLY_ESTIMATED_ABOVE_PCT),
                "embodied_share_pct": 100.0 * (kg - operational_kg) / kg if kg else None,
                "embodied_supplier_specific_pct": (
                    100.0 * (own.get("embodied_supplier_specific") or 0.0) / (kg - operational_kg)
                    if kg - operational_kg > 1e-12
                    else None
                ),
                "uncounted_runs": (uncounted.get(row["pk"]) or {}).get("runs", 0),
                "uncounted_energy_kwh": (uncounted.get(row["pk"]) or {}).get("energy_kwh", 0.0),
                "note": notes.get(row["pk"])
                or ("" if ranks[row["pk"]] is not None else _missing(metric, own or units.get(row["pk"]))),
            }
        )
    records.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["name"].lower()))
    frame = pd.DataFrame(records, columns=LEADERBOARD_COLUMNS)
    frame["rank"] = frame["rank"].astype("Int64")
    return frame
