"""Reporting periods written the way people write them: ``2025``, ``2025-H1``, ``2025-Q1``, ``2025-03``, and
fiscal ones, ``FY2025``, ``FY2025-H1``, ``FY2025-Q1``: ``FY2025`` is the fiscal year that *starts* in 2025 (with
a fiscal year starting in April: 2025-04-01 to 2026-03-31), its halves and quarters counted from that start.

Periods are bounded: from 1990 (the Kyoto base year, and the first year grid factors can be imported
for) to next year, relative to today. Anything outside is refused, so no request can make the ledger
compute, store and roll up a period at the ends of the calendar (year 1 or 9999), where day
arithmetic overflows. See docs/api.md ("Periods").
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<half>H[12])|(?P<quarter>Q[1-4])|(?P<month>0[1-9]|1[0-2])))?$")
_FISCAL = re.compile(r"^FY(?P<year>\d{4})(?:-(?:(?P<half>H[12])|(?P<quarter>Q[1-4])))?$")

FIRST_YEAR = 1990  # see above; the last year moves with the calendar (period_years)


@dataclass(frozen=True)
class Period:
    """An inclusive date range with the label it was parsed from."""

    label: str
    start: date
    end: date

    def months(self) -> list[tuple[date, date]]:
        """The calendar months of the period as (first day, last day)."""
        result, first = [], self.start.replace(day=1)
        while first <= self.end:
            result.append((first, month_end(first)))
            if first.month == 12 and first.year == date.max.year:
                break  # no month follows December 9999
            first = month_end(first) + timedelta(days=1)
        return result


def period_years(today: date | None = None) -> tuple[int, int]:
    """The first and last year a period may fall in: 1990 and next year (``today`` defaults to the real one)."""
    return FIRST_YEAR, (today or date.today()).year + 1


def period_range(today: date | None = None) -> tuple[date, date]:
    """The first and last day any period may cover (inclusive), see ``period_years``."""
    first_year, last_year = period_years(today)
    return date(first_year, 1, 1), date(last_year, 12, 31)


def period_parse(label: str, *, today: date | None = None, fiscal_year_start_month: int | None = None) -> Period:
    """Parse ``2025``, ``2025-H1``, ``2025-Q1`` or ``2025-03`` of a year from 1990 to next year; with the
    organization's ``fiscal_year_start_month``, also ``FY2025``, ``FY2025-H1`` and ``FY2025-Q1``.

    Raises ValueError with a message fit for the user: the accepted forms, or the accepted years.
    """
    text = label.strip().upper()
    fiscal = _FISCAL.match(text) if fiscal_year_start_month is not None else None
    match = fiscal or _PATTERN.match(text)
    if match is None:
        forms = "2025, 2025-H1, 2025-Q1 or 2025-03"
        if fiscal_year_start_month is not None:
            forms = "2025, 2025-H1, 2025-Q1, 2025-03, FY2025, FY2025-H1 or FY2025-Q1"
        raise ValueError(f"{label!r} is not a period: use {forms}")
    year = int(match["year"])
    first_year, last_year = period_years(today)
    if not first_year <= year <= last_year:
        raise ValueError(f"{label.strip()!r} is out of range: periods run from {first_year} to {last_year} (next year)")
    # The period as months after its year's first month (January, or the fiscal year's first month).
    offset, months = 0, 12
    if match["half"]:
        offset, months = (0 if match["half"] == "H1" else 6), 6
    elif match["quarter"]:
        offset, months = 3 * (int(match["quarter"][1]) - 1), 3
    elif match.groupdict().get("month"):
        offset, months = int(match["month"]) - 1, 1
    first_month = fiscal_year_start_month if fiscal and fiscal_year_start_month is not None else 1
    first = _months_after(date(year, first_month, 1), offset)
    return Period(label=text, start=first, end=month_end(_months_after(first, months - 1)))


def _months_after(first: date, months: int) -> date:
    """The first day of the month ``months`` after ``first``'s."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def year_earlier_label(label: str) -> str:
    """The label one year before ``label`` (``2025-Q1`` → ``2024-Q1``, ``FY2025-Q1`` → ``FY2024-Q1``)."""
    prefix = "FY" if label.startswith("FY") else ""
    rest = label.removeprefix(prefix)
    return f"{prefix}{int(rest[:4]) - 1}{rest[4:]}"


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def days(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last`` inclusive; never steps past ``last`` (safe at 9999-12-31)."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)
