"""File-level reconciliation of a billing import: the file's own totals beside what was stored.

While a billing export is read, a ``FileTally`` adds up what the file holds: its rows, its cost by
currency (parsed rows, plus rejected rows whose cost cell is readable), its usage quantity by canonical
unit, the rows rejected and the rows that repeat an earlier row exactly. When the batch is finished,
``reconciliation`` puts beside it what the database holds for the batch. Expected:

    stored = file − rejected − exact repeats

per measure (lines, cost per currency, quantity per unit). Any other difference is a warning on the
Imports page and in ``manage.py ingest`` output, never silent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Count, Sum

from emissions.models import CloudUsage
from emissions.records import CloudUsageLines, CloudUsageRecord, UpsertOutcome
from ingest.records import RowIssue

# Repeated row numbers kept to name in a warning; a file of millions of repeats needs no more.
_ROWS_NAMED = 20
# Stored costs are rounded to 10 decimals per line: differences within that rounding are not differences.
_COST_ROUNDING = 5e-11


def _add(totals: dict[str, float], key: str, value: float) -> None:
    totals[key] = totals.get(key, 0.0) + float(value)


@dataclass
class FileTally:
    """What a billing file holds, added up while it is read (JSON-able through ``as_dict``)."""

    rows: int = 0
    cost: dict[str, float] = field(default_factory=dict)
    quantity: dict[str, float] = field(default_factory=dict)
    rejected_rows: int = 0
    rejected_cost: dict[str, float] = field(default_factory=dict)
    rejected_cost_unreadable: int = 0
    repeated_rows: int = 0
    repeated_cost: dict[str, float] = field(default_factory=dict)
    repeated_quantity: dict[str, float] = field(default_factory=dict)
    repeated_row_numbers: list[int] = field(default_factory=list)
    # The billing months (ISO dates) of the lines read, or more; None when a piece was tallied without them
    # (by an earlier version): the finalization then finds them from the stored lines.
    periods: list[str] | None = field(default_factory=list)

    def _periods_add(self, periods: Iterable[date]) -> None:
        if self.periods is not None:
            self.periods = sorted(set(self.periods) | {period.isoformat() for period in periods})

    def add_records(self, records: list[CloudUsageRecord]) -> None:
        for record in records:
            self.rows += 1
            _add(self.cost, record.currency, record.cost)
            _add(self.quantity, record.usage_unit, record.usage_quantity)
        self._periods_add({record.billing_period for record in records})

    def add_lines(self, lines: CloudUsageLines) -> None:
        """Lines read column-wise: sums per kind, then per currency and unit."""
        self.rows += len(lines)
        kinds = len(lines.kinds)
        costs = np.bincount(lines.kind_index, weights=lines.cost, minlength=kinds)
        quantities = np.bincount(lines.kind_index, weights=lines.usage_quantity, minlength=kinds)
        for kind, cost, quantity in zip(lines.kinds, costs.tolist(), quantities.tolist(), strict=True):
            _add(self.cost, kind.currency, cost)
            _add(self.quantity, kind.usage_unit, quantity)
        self._periods_add(lines.billing_period[0])  # the distinct months the lines index into

    def add_rejected(self, issue: RowIssue) -> None:
        self.rows += 1
        self.rejected_rows += 1
        if issue.cost is None:
            self.rejected_cost_unreadable += 1
        else:
            _add(self.cost, issue.currency, issue.cost)
            _add(self.rejected_cost, issue.currency, issue.cost)

    def add_outcome(self, outcome: UpsertOutcome) -> None:
        self.repeated_rows += outcome.repeated
        for currency, cost in outcome.repeated_cost.items():
            _add(self.repeated_cost, currency, cost)
        for unit, quantity in outcome.repeated_quantity.items():
            _add(self.repeated_quantity, unit, quantity)
        room = _ROWS_NAMED - len(self.repeated_row_numbers)
        self.repeated_row_numbers += outcome.repeated_rows[: max(room, 0)]

    def merge(self, other: FileTally) -> None:
        """Add another piece's tally (a file imported in pieces by several workers)."""
        self.rows += other.rows
        self.rejected_rows += other.rejected_rows
        self.rejected_cost_unreadable += other.rejected_cost_unreadable
        self.repeated_rows += other.repeated_rows
        for mine, theirs in (
            (self.cost, other.cost),
            (self.quantity, other.quantity),
            (self.rejected_cost, other.rejected_cost),
            (self.repeated_cost, other.repeated_cost),
            (self.repeated_quantity, other.repeated_quantity),
        ):
            for key, value in theirs.items():
                _add(mine, key, value)
        self.repeated_row_numbers = sorted(self.repeated_row_numbers + other.repeated_row_numbers)[:_ROWS_NAMED]
        if self.periods is not None:
            self.periods = None if other.periods is None else sorted(set(self.periods) | set(other.periods))

    def period_dates(self) -> list[date] | None:
        """The billing months of the file's lines (or more), None when unknown."""
        return None if self.periods is None else [date.fromisoformat(period) for period in self.periods]

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> FileTally:
        values = dict(values or {})
        if values:
            values.setdefault("periods", None)  # tallied before pieces recorded their months
        return cls(**values)


def reconciliation(*, batch, tally: FileTally, groups: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The file's totals, what the batch stored, the explained and the unexplained differences.

    ``groups``: the batch's stored lines added up per (currency, usage_unit) — ``lines``, ``cost``,
    ``quantity`` — as the finalization found them (emissions.services.cloud.cloud_usage_restated_months_replace);
    None: added up here. ``warnings`` lists every unexplained difference (lines, cost per currency, quantity per
    unit) with the rows involved where known; an empty list means the file is stored in full.
    """
    if groups is None:
        lines = CloudUsage.objects.filter(organization_id=batch.organization_id, source_batch_id=batch.pk)
        # One pass over the batch's lines (a million for a large export): totals per (currency, unit).
        groups = list(
            lines.values("currency", "usage_unit")
            .annotate(lines=Count("id"), cost=Sum("cost"), quantity=Sum("usage_quantity"))
            .order_by("currency", "usage_unit")
        )
    cost: dict[str, Decimal] = {}
    quantity: dict[str, float] = {}
    for row in groups:
        cost[row["currency"]] = cost.get(row["currency"], Decimal(0)) + (row["cost"] or 0)
        quantity[row["usage_unit"]] = quantity.get(row["usage_unit"], 0.0) + (row["quantity"] or 0)
    stored = {
        "lines": sum(row["lines"] for row in groups),
        "cost": {currency: float(total) for currency, total in cost.items()},
        "quantity": quantity,
    }
    expected_lines = tally.rows - tally.rejected_rows - tally.repeated_rows
    warnings = []
    if stored["lines"] != expected_lines:
        warnings.append(
            f"{expected_lines - stored['lines']:+,} line(s): the file has {tally.rows:,} rows, {tally.rejected_rows:,} "
            f"rejected and {tally.repeated_rows:,} exact repeats, so {expected_lines:,} lines were expected; "
            f"{stored['lines']:,} are stored (a line id repeated with other values in another piece of the file "
            "replaces the earlier line)"
        )
    for currency in sorted(set(tally.cost) | set(stored["cost"])):
        expected = (
            tally.cost.get(currency, 0.0)
            - tally.rejected_cost.get(currency, 0.0)
            - tally.repeated_cost.get(currency, 0.0)
        )
        difference = stored["cost"].get(currency, 0.0) - expected
        if abs(difference) > _COST_ROUNDING * max(stored["lines"], 1):
            warnings.append(f"cost {currency}: {expected:,.6f} expected from the file, {difference:+,.6f} stored")
    for unit in sorted(set(tally.quantity) | set(stored["quantity"])):
        expected = tally.quantity.get(unit, 0.0) - tally.repeated_quantity.get(unit, 0.0)
        difference = stored["quantity"].get(unit, 0.0) - expected
        if abs(difference) > 1e-9 * max(abs(expected), 1.0):
            warnings.append(f"quantity {unit}: {expected:,.6f} expected from the file, {difference:+,.6f} stored")
    return {
        "file": {"rows": tally.rows, "cost": tally.cost, "quantity": tally.quantity},
        "rejected": {
            "rows": tally.rejected_rows,
            "cost": tally.rejected_cost,
            "cost_unreadable_rows": tally.rejected_cost_unreadable,
        },
        "repeated": {
            "rows": tally.repeated_rows,
            "cost": tally.repeated_cost,
            "row_numbers": tally.repeated_row_numbers,
        },
        "stored": stored,
        "warnings": warnings,
    }


def reconciliation_lines(report: dict[str, Any]) -> list[str]:
    """The reconciliation as short lines of text, for ``manage.py ingest`` and logs."""
    if not report:
        return []

    def money(totals: dict[str, float]) -> str:
        return ", ".join(f"{cost:,.6f} {currency}" for currency, cost in sorted(totals.items())) or "0"

    file, stored = report["file"], report["stored"]
    out = [
        f"file: {file['rows']:,} rows, cost {money(file['cost'])}",
        f"stored: {stored['lines']:,} lines, cost {money(stored['cost'])}",
    ]
    if report["rejected"]["rows"]:
        out.append(f"rejected: {report['rejected']['rows']:,} rows, cost {money(report['rejected']['cost'])}")
    if report["repeated"]["rows"]:
        rows = ", ".join(str(number) for number in report["repeated"]["row_numbers"])
        out.append(
            f"exact repeats of earlier rows (stored once): {report['repeated']['rows']:,} rows, cost "
            f"{money(report['repeated']['cost'])} (rows {rows})"
        )
    out += [f"WARNING {warning}" for warning in report["warnings"]]
    out.append("reconciled: file = stored + rejected + repeats" if not report["warnings"] else "NOT reconciled")
    return out
