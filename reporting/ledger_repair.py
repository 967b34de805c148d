"""Data repair of the ledger: calculations of periods no request may ask for any more.

Before periods were bounded (emissions.periods), ``GET /api/v1/inventory/?period=9999-Q4`` stored a
calculation at the end of the calendar; rolling its days up overflowed, which broke every page of the
organization. Readers now skip such calculations; this removes them. A calculation is derived data
(its inputs stay), so deleting one loses nothing that ``inventory_ensure`` cannot recompute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Q

from emissions.models import Calculation, EmissionRecord, Organization
from reporting.models import Report

_REPORT_PINS = ("calculation", "ytd_calculation", "comparison_calculation", "comparison_ytd_calculation")


@dataclass(frozen=True)
class OutOfRangeRepair:
    """What ``calculations_out_of_range_delete`` did: each entry is ``(id, period_start, period_end)``."""

    deleted: list[tuple[int, date, date]]
    kept_for_reports: list[tuple[int, date, date]]


@transaction.atomic
def calculations_out_of_range_delete(*, organization: Organization, today: date | None = None) -> OutOfRangeRepair:
    """Delete the organization's calculations (and their records) outside the period range.

    A calculation a report pins is kept (deleting it would delete the report, by cascade); readers skip it.
    """
    in_range = Calculation.objects.in_period_range(today).values("pk")
    outside = Calculation.objects.for_org(organization).exclude(pk__in=in_range)
    pinned = _pinned_ids(organization, outside.values("pk"))
    rows = list(outside.order_by("pk").values_list("pk", "period_start", "period_end"))
    doomed = [pk for pk, _, _ in rows if pk not in pinned]
    # superseded_by and the records' calculation are PROTECT: unlink, then delete records, then calculations.
    Calculation.objects.filter(superseded_by__in=doomed).update(superseded_by=None)
    EmissionRecord.objects.filter(calculation__in=doomed).delete()
    Calculation.objects.filter(pk__in=doomed).delete()
    return OutOfRangeRepair(
        deleted=[row for row in rows if row[0] not in pinned],
        kept_for_reports=[row for row in rows if row[0] in pinned],
    )


def _pinned_ids(organization: Organization, calculation_ids) -> set[int]:
    """Ids among ``calculation_ids`` (a subquery) that a report of the organization pins."""
    pins = Q()
    for field in _REPORT_PINS:
        pins |= Q(**{f"{field}__in": calculation_ids})
    ids: set[int] = set()
    for row in Report.objects.filter(organization=organization).filter(pins).values_list(*_REPORT_PINS):
        ids.update(pk for pk in row if pk is not None)
    return ids
