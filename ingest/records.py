"""What a parser yields per input row: a normalized record, or the reason the row was rejected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ParseError(Exception):
    """The whole file is unusable (wrong format, missing columns, undecodable): the batch fails."""


@dataclass(frozen=True)
class RowIssue:
    """A rejected row: 1-based ``row_number`` in the file (the header is row 1), column and reason."""

    row_number: int
    column: str
    reason: str
    raw: str = ""
    value: str = ""
    # Billing rows: the row's cost and currency when its cost cell is readable, for the file's reconciliation.
    cost: float | None = None
    currency: str = ""


@dataclass(frozen=True)
class ParsedRow:
    """A row that parsed into ``record`` (an emissions.records dataclass)."""

    row_number: int
    record: Any
