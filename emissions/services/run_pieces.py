"""Tracker runs split at month boundaries, so a run crossing a period end is counted in each period for the
part it ran there (by its samples where the tracker sent them, else pro rata by time; docs/methodology.md §2)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, TruncMonth

from emissions import calculations as calc
from emissions.models import Run, RunSample


@dataclass(frozen=True)
class RunPiece:
    """The part of a run in one calendar month: ``share`` of its energy, over ``start``..``end`` (days)."""

    run: Run
    start: date
    end: date
    share: float

    @property
    def key(self) -> str:
        return f"run:{self.run.pk}" if self.share == 1.0 else f"run:{self.run.pk}:{self.start:%Y-%m}"

    @property
    def flags(self) -> list[str]:
        return [] if self.share == 1.0 else ["run_split_at_month_end"]


def runs_overlapping(runs, start: date, end: date):
    """``runs`` that ran on any day of ``start``..``end`` (started then, or started before and ended then)."""
    return runs.filter(started_at__date__lte=end).filter(Q(started_at__date__gte=start) | Q(ended_at__date__gte=start))


def run_pieces(runs: list[Run]) -> list[RunPiece]:
    """Every run's month pieces, in the runs' order."""
    spanning = [
        r.pk
        for r in runs
        if r.ended_at and (r.started_at.year, r.started_at.month) != (r.ended_at.year, r.ended_at.month)
    ]
    sampled: dict[int, dict[date, float]] = defaultdict(dict)
    if spanning:
        rows = (
            RunSample.objects.filter(run_id__in=spanning)
            .annotate(month=TruncMonth("recorded_at"))
            .values("run_id", "month")
            .annotate(kwh=Coalesce(Sum("energy_kwh"), 0.0))
            .order_by()
        )
        for row in rows:
            month = row["month"].date() if hasattr(row["month"], "date") else row["month"]
            sampled[row["run_id"]][month] = row["kwh"]
    pieces = []
    for run in runs:
        shares = calc.month_shares(
            started_at=run.started_at, ended_at=run.ended_at, energy_by_month=sampled.get(run.pk)
        )
        pieces += [RunPiece(run, first, last, share) for first, last, share in shares if share > 0]
    return pieces
