"""Reporting periods written the way people write them: ``2025``, ``2025-H1``, ``2025-Q1``, ``2025-03``."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<half>H[12])|(?P<quarter>Q[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


@dataclass(frozen=True)
class Period:
    """An inclusive date range with the label it was parsed from."""

    label: str
    start: date
    end: date

    def months(self) -> list[tuple[date, date]]:
        """The calendar months of the period as (first day, last day)."""
        result, year, month = [], self.start.year, self.start.month
        while date(year, month, 1) <= self.end:
            result.append((date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return result


def period_parse(label: str) -> Period:
    """Parse ``2025``, ``2025-H1``, ``2025-Q1`` or ``2025-03``; raise ValueError with the accepted forms."""
    match = _PATTERN.match(label.strip().upper())
    if match is None:
        raise ValueError(f"{label!r} is not a period: use 2025, 2025-H1, 2025-Q1 or 2025-03")
    year = int(match["year"])
    first_month, months = 1, 12
    if match["half"]:
        first_month, months = (1 if match["half"] == "H1" else 7), 6
    elif match["quarter"]:
        first_month, months = 3 * (int(match["quarter"][1]) - 1) + 1, 3
    elif match["month"]:
        first_month, months = int(match["month"]), 1
    last_month = first_month + months - 1
    return Period(
        label=label.strip().upper(),
        start=date(year, first_month, 1),
        end=date(year, last_month, calendar.monthrange(year, last_month)[1]),
    )


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
