"""Incremental refresh of the daily rollup (``DailyEmissionRollup``) from the ledger.

The watermark is the highest Calculation id already read. A refresh rebuilds only the days of the
Calculations above it (delete + insert per day range, so a rerun is harmless) and moves the
watermark, all in one transaction under a lock on the organization's watermark row.

Which records count: each day belongs to the newest current (not superseded) Calculation whose
period covers it. A quarter and its year both cover a day and must never be added; the newest one
is read, as ``emissions.selectors.run_emissions_by_id`` does. Records spanning several days (a
month's unallocated electricity, a cloud bill's month, a period's idle embodied share) are spread
evenly over their days, and only the days their Calculation owns keep a share; a one-day record
(a run, a fuel delivery, an acquisition) lands on its day. See docs/dashboards.md.

The same refresh writes the per-run rollup (``RunEmissionRollup``) of the same days by the same rule: each
run's operational lines summed per first day, so the team and project pages rank and split runs from it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from emissions.choices import ActivityKind, Basis
from emissions.models import (
    Calculation,
    DailyEmissionRollup,
    DailyRollupWatermark,
    EmissionRecord,
    Organization,
    RunEmissionRollup,
)
from emissions.periods import days

_DIMENSIONS = (
    "team_id",
    "project_id",
    "site_id",
    "scope",
    "scope3_category",
    "basis",
    "quality",
    "activity_kind",
)
_MEASURES = (
    "emissions_kg_co2e_location",
    "emissions_kg_co2e_market",
    "energy_kwh",
    "gpu_hours",
    "gpu_hours_with_utilization",
    "gpu_busy_hours",
)

# A run's GPU-hours count once: on the record that carries its energy (Scope 2, or Scope 3 Cat 1 for
# colocation and cloud), never on its Cat 3 or embodied lines.
_CARRIES_RUN = Q(activity_kind=ActivityKind.RUN, energy_kwh__isnull=False)
_RUN_GPU_HOURS = F("run__gpu_count") * F("run__duration_s") / 3600.0
_HAS_UTILIZATION = _CARRIES_RUN & Q(run__gpu_utilization_pct__isnull=False)


def _when(condition: Q, value) -> Case:
    return Case(When(condition, then=value), default=Value(0.0), output_field=FloatField())


def rollup_refresh(*, organization: Organization) -> int:
    """Rebuild the rollup days (daily and per run) of every Calculation above the watermark; returns the
    daily rows written."""
    with transaction.atomic():
        watermark, _ = DailyRollupWatermark.objects.select_for_update().get_or_create(organization=organization)
        above = Calculation.objects.for_org(organization).filter(pk__gt=watermark.last_calculation_id)
        last_id = max(above.values_list("pk", flat=True), default=None)
        if last_id is None:
            return 0
        # A calculation outside the period range (stored before periods were bounded) is passed over: the
        # watermark moves past it, and no rollup day comes from it.
        spans = list(above.in_period_range().values_list("period_start", "period_end"))
        written = sum(_days_rebuild(organization, start, end) for start, end in _spans_merge(spans))
        watermark.last_calculation_id = last_id
        watermark.refreshed_at = timezone.now()
        watermark.save(update_fields=["last_calculation_id", "refreshed_at"])
    return written


def rollup_rebuild(*, organization: Organization) -> int:
    """Drop the organization's rollups and watermark and read the whole ledger again; returns the daily rows."""
    with transaction.atomic():
        DailyEmissionRollup.objects.for_org(organization).delete()
        RunEmissionRollup.objects.for_org(organization).delete()
        DailyRollupWatermark.objects.for_org(organization).delete()
        return rollup_refresh(organization=organization)


def _spans_merge(spans: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Overlapping or adjacent inclusive date ranges merged, in order."""
    merged: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if merged and (start - merged[-1][1]).days <= 1:  # subtraction: adding a day to 9999-12-31 overflows
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def day_owners(organization: Organization, start: date, end: date) -> dict[date, int]:
    """Each day of [start, end] covered by a current Calculation → the newest such Calculation's id."""
    owners: dict[date, int] = {}
    current = (
        Calculation.objects.for_org(organization)
        .in_period_range()
        .filter(superseded_by__isnull=True, period_start__lte=end, period_end__gte=start)
        .order_by("pk")
        .values_list("pk", "period_start", "period_end")
    )
    for pk, period_start, period_end in current:  # ascending ids: a newer calculation overwrites
        for day in days(max(period_start, start), min(period_end, end)):
            owners[day] = pk
    return owners


def _days_rebuild(organization: Organization, start: date, end: date) -> int:
    """Replace the rollup rows of [start, end] with the owned share of every current record (and the per-run
    rows of those days); returns the daily rows written."""
    owners = day_owners(organization, start, end)
    _run_days_rebuild(organization, start, end, owners)
    groups = (
        EmissionRecord.objects.filter(
            organization=organization,
            calculation_id__in=set(owners.values()),
            period_start__lte=end,
            period_end__gte=start,
        )
        .values("calculation_id", "period_start", "period_end", *_DIMENSIONS)
        .annotate(  # "sum_" names: an annotation named like a field would shadow it in the later ones
            sum_emissions_kg_co2e_location=Sum("emissions_kg_co2e_location"),
            sum_emissions_kg_co2e_market=Sum("emissions_kg_co2e_market"),
            sum_energy_kwh=Sum(Coalesce("energy_kwh", Value(0.0))),
            sum_gpu_hours=Sum(_when(_CARRIES_RUN, _RUN_GPU_HOURS)),
            sum_gpu_hours_with_utilization=Sum(_when(_HAS_UTILIZATION, _RUN_GPU_HOURS)),
            sum_gpu_busy_hours=Sum(_when(_HAS_UTILIZATION, _RUN_GPU_HOURS * F("run__gpu_utilization_pct") / 100.0)),
        )
        .order_by()
    )
    totals: dict[tuple, list[float]] = defaultdict(lambda: [0.0] * len(_MEASURES))
    for group in groups.iterator(chunk_size=10_000):
        first, last = group["period_start"], group["period_end"]
        share = 1.0 / ((last - first).days + 1)
        dimensions = tuple(group[name] for name in _DIMENSIONS)
        values = [(group[f"sum_{name}"] or 0.0) * share for name in _MEASURES]
        for day in days(max(first, start), min(last, end)):
            if owners.get(day) == group["calculation_id"]:
                row = totals[(day, *dimensions)]
                for index, value in enumerate(values):
                    row[index] += value
    DailyEmissionRollup.objects.for_org(organization).filter(day__gte=start, day__lte=end).delete()
    DailyEmissionRollup.objects.bulk_create(
        (
            DailyEmissionRollup(
                organization=organization,
                day=key[0],
                **dict(zip(_DIMENSIONS, key[1:], strict=True)),
                **dict(zip(_MEASURES, row, strict=True)),
            )
            for key, row in totals.items()
        ),
        batch_size=5000,
    )
    return len(totals)


# RunEmissionRollup's columns ← what each fills them with: one row per run and first day of its lines.
_RUN_COLUMNS = {
    "organization_id": F("organization_id"),
    "run_id": F("run_id"),
    "project_id": F("run__project_id"),
    "kind": F("run__kind"),
    "started_at": F("run__started_at"),
    "day": F("period_start"),
}


def owned_lines(owners: dict[date, int]) -> Q:
    """Ledger lines whose first day their calculation owns (``owners``: day → calculation id), as a few
    date ranges per calculation rather than a correlated subquery."""
    spans: list[list] = []  # [calculation id, first day, last day]
    for day in sorted(owners):
        if spans and spans[-1][0] == owners[day] and (day - spans[-1][2]).days == 1:
            spans[-1][2] = day
        else:
            spans.append([owners[day], day, day])
    lines = Q(pk__in=[])
    for pk, first, last in spans:
        lines |= Q(calculation_id=pk, period_start__gte=first, period_start__lte=last)
    return lines


def _run_days_rebuild(organization: Organization, start: date, end: date, owners: dict[date, int]) -> None:
    """Replace the per-run rows of [start, end]: each run's operational lines starting on a day, from the
    calculation that owns the day (``owners``), summed in the database (a year holds a million runs)."""
    RunEmissionRollup.objects.for_org(organization).filter(day__gte=start, day__lte=end).delete()
    if not owners:
        return
    # "rollup_" aliases: the grouped query's columns, named apart from the fields they are read from.
    grouped = (
        EmissionRecord.objects.filter(
            owned_lines(owners), organization=organization, basis=Basis.OPERATIONAL, run__isnull=False
        )
        .values(**{f"rollup_{column}": value for column, value in _RUN_COLUMNS.items()})
        .annotate(rollup_location=Sum("emissions_kg_co2e_location"), rollup_market=Sum("emissions_kg_co2e_market"))
        .order_by()
    )
    sql, params = grouped.query.sql_with_params()
    quote = connection.ops.quote_name
    targets = [*_RUN_COLUMNS, "emissions_kg_co2e_location", "emissions_kg_co2e_market"]
    sources = [*(f"rollup_{column}" for column in _RUN_COLUMNS), "rollup_location", "rollup_market"]
    # Written in (project, started_at) order, so a project's rows of a period sit on few pages: the pages read
    # them from the index and a handful of heap pages instead of one page per run. The inner SQL and its
    # parameters come from the ORM, the names from the model and this module: no user input.
    order = f"g.{quote('rollup_project_id')}, g.{quote('rollup_started_at')}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(RunEmissionRollup._meta.db_table)} ({', '.join(map(quote, targets))}) "  # noqa: S608
            f"SELECT {', '.join('g.' + quote(name) for name in sources)} FROM ({sql}) AS g ORDER BY {order}",
            params,
        )
