"""What several pages' reads share: the views and their ledger bases, the data-quality tiers, the
``PageData`` a page's selector returns, and the small helpers that read the daily rollup and rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from django.db.models import Max, Min, Q, QuerySet

from emissions.choices import Basis, QualityTier
from emissions.models import DailyEmissionRollup, Organization
from emissions.periods import Period

# Which ledger bases each view reads (docs/methodology.md): the GHG inventory books embodied
# emissions as capital goods when acquired; the management view amortizes them over the lifetime.
VIEW_BASES = {
    "inventory": (Basis.OPERATIONAL, Basis.CAPITAL_GOODS),
    "management": (Basis.OPERATIONAL, Basis.EMBODIED_AMORTIZED, Basis.EMBODIED_WRITE_OFF),
}
# Budgets are set and measured in the GHG inventory view (operational + capital goods) on every page.
BUDGET_VIEW = "inventory"
# Activity data measured or reported by a meter, a tracker or the provider; the rest is estimated.
MEASURED_TIERS = (
    QualityTier.METERED,
    QualityTier.PROVIDER_REPORTED,
    QualityTier.SUPPLIER_SPECIFIC,
    QualityTier.MEASURED,
)
ESTIMATED_TIERS = (
    QualityTier.ESTIMATED_TDP,
    QualityTier.ESTIMATED_LOCATION,
    QualityTier.BILLING_ESTIMATE,
    QualityTier.DEFAULT,
)


@dataclass
class PageData:
    """What a dashboard page shows: facts for its tables and cards, one tidy DataFrame per chart."""

    facts: dict
    charts: dict[str, pd.DataFrame] = field(default_factory=dict)


def rollup_span(*, organization: Organization) -> tuple[date, date] | None:
    """First and last day with operational emissions in the rollup, or None when there is none yet.

    Operational only: a year's calculation spreads its idle embodied share over months without activity.
    """
    span = (
        DailyEmissionRollup.objects.for_org(organization)
        .filter(basis=Basis.OPERATIONAL)
        .aggregate(first=Min("day"), last=Max("day"))
    )
    return None if span["first"] is None else (span["first"], span["last"])


def rollup_in_view(organization: Organization, start: date, end: date, view: str) -> QuerySet:
    """The organization's daily rollup rows from ``start`` to ``end`` (inclusive) on the bases of ``view``."""
    return DailyEmissionRollup.objects.for_org(organization).filter(
        day__gte=start, day__lte=end, basis__in=VIEW_BASES[view]
    )


def previous_period(period: Period) -> Period:
    """The period of the same length just before (previous quarter of a quarter, previous year of a year)."""
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
    whole_months = period.start.day == 1 and (period.end + timedelta(days=1)).day == 1
    if whole_months:
        index = period.start.year * 12 + period.start.month - 1 - months
        start = date(index // 12, index % 12 + 1, 1)
        return Period(label=f"previous {months} months", start=start, end=period.start - timedelta(days=1))
    days = (period.end - period.start).days + 1
    return Period(
        label=f"previous {days} days", start=period.start - timedelta(days=days), end=period.start - timedelta(days=1)
    )


def runs_started_in(period: Period, prefix: str = "") -> Q:
    """Runs started in the period (UTC days), as a range on ``started_at`` so its index can serve it;
    ``prefix`` for a lookup through a relation."""
    first = datetime(period.start.year, period.start.month, period.start.day, tzinfo=UTC)
    after = first + timedelta(days=(period.end - period.start).days + 1)
    return Q(**{f"{prefix}started_at__gte": first, f"{prefix}started_at__lt": after})


def competition_ranks(values: dict) -> dict:
    """Rank keys by ascending value; ties share a rank, the next one skips; None values get None."""
    ranked = sorted((round(v, 9), key) for key, v in values.items() if v is not None)
    ranks, previous, previous_rank = dict.fromkeys(values), None, 0
    for position, (value, key) in enumerate(ranked, start=1):
        rank = previous_rank if value == previous else position
        ranks[key], previous, previous_rank = rank, value, rank
    return ranks
