"""Shared row handling of the billing dialects: header aliases, typed cells, tags, keys and the parse loop.

Each dialect module declares ``ALIASES`` (field → normalized column names, first match wins) and a ``build``
function turning a :class:`Row` into a ``CloudUsageRecord``; :func:`dialect_chunks` does the rest.
Column names match case-insensitively after removing ``/``, ``.``, ``_`` and spaces, so
``lineItem/UsageStartDate``, ``line_item_usage_start_date`` and ``LineItem.UsageStartDate`` are one column.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from emissions.json_depth import JsonTooDeepError, json_loads
from ingest.parsers.billing_read import DEFAULT_MAX_DECOMPRESSED_BYTES, RawRow, iter_raw_chunks
from ingest.parsers.csv_rows import CellError
from ingest.records import ParsedRow, ParseError, RowIssue

_STRIP = re.compile(r"[/._ -]+")
_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?=$|[ T])")
# Localized Azure headers name the English column in brackets: "Kategorie der Verbrauchseinheit (MeterCategory)".
_BRACKETED_NAME = re.compile(r"\(([A-Za-z][\w/. ]*)\)\s*$")
MAX_YEAR = 2100
_ABSENT = object()
# Cells that mean "no value" in an optional column: exports written from SQL tables (the FOCUS sample)
# spell a missing value NULL. "NA" is not among them: it is a region (North America) in some exports.
NULLS = frozenset({"NULL", "null", "Null"})


def normalize(name: str) -> str:
    """The matching form of a column name: lower case without ``/ . _ -`` and spaces; a localized header
    that names the English column in brackets matches as that column."""
    text = str(name).strip()
    bracketed = _BRACKETED_NAME.search(text)
    return _STRIP.sub("", (bracketed.group(1) if bracketed else text).lower())


class Schema:
    """How a dialect's fields resolve to the columns of one row shape, computed once per shape.

    Normalizing every column name of every row cost more than the rest of the parse; rows of a CSV chunk
    share one shape, and a JSON-lines or Parquet chunk has few.
    """

    def __init__(self, columns: tuple[str, ...], aliases: dict[str, tuple[str, ...]]):
        self.norm = {column: normalize(column) for column in columns}
        self.by_norm = {norm: column for column, norm in self.norm.items()}
        self._aliases = aliases
        self._fields: dict[str, tuple[str, ...]] = {}
        self._prefixed: dict[str, tuple[tuple[str, str], ...]] = {}

    def keys(self, field: str) -> tuple[str, ...]:
        """The columns that may hold ``field``, in alias order."""
        keys = self._fields.get(field)
        if keys is None:
            aliases = self._aliases.get(field, (field,))
            keys = self._fields[field] = tuple(self.by_norm[a] for a in aliases if a in self.by_norm)
        return keys

    def prefixed(self, prefix: str) -> tuple[tuple[str, str], ...]:
        """``(column, rest of its name)`` for the columns whose lower-case name starts with ``prefix``."""
        found = self._prefixed.get(prefix)
        if found is None:
            found = self._prefixed[prefix] = tuple(
                (column, column[len(prefix) :]) for column in self.norm if column.lower().startswith(prefix)
            )
        return found


class Row:
    """One raw row with typed accessors by field name (resolved through the dialect's aliases)."""

    __slots__ = ("cells", "schema")

    def __init__(self, cells: dict[str, Any], schema: Schema):
        self.cells = cells
        self.schema = schema

    def column(self, field: str) -> str | None:
        """The file's column holding ``field`` with a non-empty cell, else the first present one."""
        return self._find(field)[0]

    def _find(self, field: str) -> tuple[str | None, Any]:
        """``(column, cell)`` of :meth:`column`; ``(None, None)`` when no alias is present.

        The hot path of every parse (a dozen fields per line): string cells are tested inline.
        """
        cells = self.cells
        present: tuple[str | None, Any] = (None, None)
        for key in self.schema.keys(field):
            value = cells.get(key, _ABSENT)
            if value is _ABSENT:  # JSON lines omit null fields: a chunk's shapes may differ
                continue
            if value.__class__ is str:
                if value and not value.isspace() and value not in NULLS:
                    return key, value
            elif not is_empty(value):
                return key, value
            if present[0] is None:
                present = (key, value)
        return present

    def digest(self) -> str:
        """SHA-256 of the row's non-empty cells under normalized names: the same row gives the same key.

        The text hashed is ``name\x1fvalue\x1e`` per cell, cells in (normalized name, column) order and
        values trimmed, so the columnar path (billing_columns.py) computes the same digest column-wise.
        """
        norm = self.schema.norm
        cells = sorted((norm[k], k, cell_text(v)) for k, v in self.cells.items() if not is_empty(v))
        return hashlib.sha256("".join(f"{n}\x1f{v}\x1e" for n, _, v in cells).encode()).hexdigest()

    def raw(self, field: str) -> Any:
        return self._find(field)[1]

    def text(self, field: str) -> str:
        value = self._find(field)[1]
        if value.__class__ is str:
            text = value.strip()
            return "" if text in NULLS else text
        if is_empty(value):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # account ids read from Parquet/JSON as numbers
        return str(value).strip()

    def number(self, field: str, *, default: float | None = None) -> float:
        """A finite number; empty takes ``default`` or is an error."""
        column, value = self._find(field)
        name = column or field
        if is_empty(value):
            if default is None:
                raise CellError(name, "is empty")
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise CellError(name, f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise CellError(name, f"{value!r} is not a finite number")
        return number

    def optional_number(self, field: str) -> float | None:
        return None if is_empty(self.raw(field)) else self.number(field)

    def timestamp(self, field: str) -> datetime:
        """A required UTC timestamp (ISO 8601, ``… UTC``, Azure ``MM/DD/YYYY``); naive values are UTC."""
        column, value = self._find(field)
        return parse_timestamp(value, column or field)

    def json(self, field: str) -> Any:
        """A JSON cell decoded (``None`` when empty); already-decoded values (Parquet, JSONL) pass through."""
        value = self.raw(field)
        if is_empty(value):
            return None
        if not isinstance(value, str):
            return value
        decoded = loads_lenient(value)
        if decoded is _ABSENT:
            raise CellError(self.column(field) or field, f"{value[:80]!r} is not valid JSON") from None
        return decoded


def is_empty(value: Any) -> bool:
    """Missing: None, a blank or ``NULL`` cell, an empty list or map."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return False  # NaN is a bad value, not a missing one: the number reader rejects it
    if isinstance(value, str):
        text = value.strip()
        return not text or text in NULLS
    return isinstance(value, list | dict | tuple) and len(value) == 0


# An EC2/SageMaker/RDS instance type inside a usage type (``USE2-BoxUsage:p4d.24xlarge``) or a charge
# description (``$0.34 per On Demand Linux c5.2xlarge Instance Hour``).
_INSTANCE_IN_TEXT = re.compile(
    r"(?:^|[\s:])((?:ml\.|db\.|cache\.)?[a-z][a-z0-9-]*\d[a-z0-9-]*\.(?:\d*x?large|medium|small|micro|nano|metal[a-z0-9-]*))"
    r"(?=$|[\s,;)])"
)
# Publishers that are the cloud provider itself (FOCUS PublisherName, Azure PublisherName, GCP seller_name):
# any other publisher sells software through the provider's marketplace.
_PROVIDER_PUBLISHERS = ("amazon web services", "aws", "microsoft", "azure", "google")


def instance_type_in(*texts: str) -> str:
    """The first instance type named in ``texts`` (usage type, charge description…), else ``""``."""
    for text in texts:
        match = _INSTANCE_IN_TEXT.search(text or "")
        if match:
            return match.group(1)
    return ""


def is_third_party(publisher: str, provider: str = "") -> bool:
    """Whether a line's publisher is someone other than the cloud provider (a marketplace seller);
    ``provider`` as the export names it (a FOCUS ``ProviderName`` such as ``Oracle`` publishes its own)."""
    name = (publisher or "").strip().lower()
    own = _PROVIDER_PUBLISHERS + ((provider.strip().lower(),) if provider.strip() else ())
    return bool(name) and not name.startswith(own)


def usage_or_correction(category: str, quantity: float) -> str:
    """``adjustment`` for a usage line with a negative quantity: a correction of earlier usage, kept as a
    cost line without energy (providers write them as usage, e.g. the FOCUS sample's Azure rows)."""
    return "adjustment" if category == "usage" and quantity < 0 else category


def loads_lenient(text: str) -> Any:
    """JSON, else a Python literal (BigQuery exports saved through pandas write REPEATED fields as
    ``[{'key': 'x', 'value': 'y'}]``); ``_ABSENT`` when the text is neither."""
    try:
        return json_loads(text)
    except JsonTooDeepError:
        return _ABSENT  # nested past any billing field: kept as the text it is
    except json.JSONDecodeError:
        return _python_literal(text)


def _python_literal(text: str) -> Any:
    """A bracketed Python literal of at most 100,000 characters, else ``_ABSENT``."""
    if len(text) > 100_000 or not text.lstrip().startswith(("[", "{")):
        return _ABSENT
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return _ABSENT


def cell_text(value: Any) -> str:
    """A cell as text for digests: strings trimmed, other values (JSON lines; Parquet lists and maps, its
    scalars being read as text, billing_read.parquet_text) as ``str``."""
    return value.strip() if value.__class__ is str else str(value)


def interval_key(line_id: str, start: datetime, end: datetime) -> str:
    """A provider line id made unique per usage interval: ``<id>@<start>@<end>`` in compact UTC.

    AWS documents ``identity/LineItemId`` as unique within one partition only: an hourly or daily CUR
    repeats it for every interval of the month, so the id alone would fold a month into one line.
    """
    return f"{line_id}@{compact_time(start)}@{compact_time(end)}"


@functools.lru_cache(maxsize=8192)  # an hourly export repeats a month's 744 hours over millions of lines
def compact_time(moment: datetime) -> str:
    """``20240131T230000Z``: a UTC time as it appears in line keys."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_timestamp(value: Any, column: str) -> datetime:
    """A UTC datetime from a cell; raises CellError naming ``column`` for an empty, unreadable or absurd one."""
    if value.__class__ is str:
        # Hourly exports repeat a few hundred distinct timestamps over millions of lines.
        return _text_timestamp(value, column)
    return _timestamp(value, column)


@functools.lru_cache(maxsize=16_384)
def _text_timestamp(value: str, column: str) -> datetime:
    return _timestamp(value, column)


def _timestamp(value: Any, column: str) -> datetime:
    if is_empty(value):
        raise CellError(column, "is empty")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        match = _MDY.match(text)
        if match:  # Azure EA writes the usage day as MM/DD/YYYY; spreadsheet-saved files as M/D/YY
            year = match.group(3) if len(match.group(3)) == 4 else f"20{match.group(3)}"
            text = f"{year}-{int(match.group(1)):02d}-{int(match.group(2)):02d}{text[match.end() :]}"
        text = text.removesuffix(" UTC").replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise CellError(column, f"{value!r} is not a date-time (ISO 8601 expected)") from None
    if moment.year > MAX_YEAR or moment.year < 2000:
        raise CellError(column, f"{value!r} is outside the years 2000–{MAX_YEAR}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def month_start(moment: datetime | date) -> date:
    """The first day of the month holding ``moment``: the billing period of a line."""
    return date(moment.year, moment.month, 1)


def key_values(value: Any, column: str) -> list[tuple[str, str]]:
    """(key, value) pairs from any tag encoding: a JSON object, a brace-less Azure object, a JSON array of
    ``{key, value}``, a Parquet map (list of pairs) or a struct (dict). Empty values are dropped."""
    if is_empty(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("{", "[")):
            text = "{" + text + "}"  # Azure writes "team": "x","project": "y" without braces
        decoded = loads_lenient(text)
        if decoded is _ABSENT:
            raise CellError(column, f"{value[:80]!r} is not a JSON object or list of key/value pairs")
        value = decoded
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = []
        for item in value:
            if isinstance(item, dict) and "key" in item:
                pairs.append((item["key"], item.get("value")))
            elif isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise CellError(column, f"{item!r} is not a key/value pair")
    else:
        raise CellError(column, f"{value!r} is not a set of tags")
    return [(str(k), "" if v is None else str(v)) for k, v in pairs if not is_empty(v)]


@dataclass(frozen=True)
class LineFields:
    """The dialect fields read per line by the columnar path; every other field belongs to the line's kind.

    ``tag_prefixes``: lower-case column-name prefixes the dialect's ``build`` reads besides its aliases
    (AWS ``resourceTags/…`` columns). ``build`` must use the per-line fields only as the AWS builder does:
    the key as ``interval_key`` (or, with ``key`` None, the row digest), resource and cost as written, the
    end defaulting to the start (or ``end_after`` the start), the period to the start's month, and the
    quantity (required on usage lines, not negative there) times the unit's factor.
    """

    key: str | None = "line_item_id"
    start: str = "usage_start"
    end: str | None = "usage_end"
    period: str = "billing_period_start"
    quantity: str = "quantity"
    cost: str = "cost"
    resource: str = "resource_id"
    tag_prefixes: tuple[str, ...] = ()
    # No end column: every line ends this long after its start (Azure's daily lines).
    end_after: timedelta | None = None
    # A second quantity column that some kinds of line use instead of ``quantity`` (FOCUS: PricingQuantity
    # where the ConsumedUnit is not one we convert); the kind decides which, as ``build`` does.
    quantity_else: str | None = None
    # A per-line list of credits added to the cost, then rounded to 9 decimals (GCP's net cost).
    credits: str | None = None
    # The billing month is part of the kind (GCP ``invoice.month``); kinds without one take the start's month.
    period_in_kind: bool = False

    def names(self) -> tuple[str, ...]:
        """The per-line fields the dialect has (``key`` None: the key is the row digest)."""
        fields = (
            self.key,
            self.start,
            self.end,
            self.period,
            self.quantity,
            self.quantity_else,
            self.cost,
            self.resource,
            self.credits,
        )
        return tuple(field for field in fields if field is not None)


@dataclass(frozen=True)
class Dialect:
    """How one export dialect is read: its column aliases, the fields a header must have and the builder."""

    name: str
    aliases: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    build: Callable[[Row], Any]
    allow_jsonl: bool = False
    # Set when ``build`` treats the per-line fields as LineFields says: plain CSV may then be read column-wise
    # (``dialect_lines`` in ingest/parsers/billing_columns.py, which builds on this module, not the reverse).
    line_fields: LineFields | None = None

    def read_chunks(
        self,
        source: str | Path | IO[bytes],
        *,
        chunk_rows: int = 50_000,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
        **piece: Any,
    ) -> Iterator[list[ParsedRow | RowIssue]]:
        """Stream an export (CSV, CSV.gz, Parquet; JSON lines where allowed) as chunks of rows or issues.

        Row numbers: CSV line numbers (header = row 1); Parquet and JSON-lines record index (1-based) + 1.
        ``piece``: ``first_row`` and ``row_groups`` of a piece of a larger file (``iter_raw_chunks``).
        """
        return dialect_chunks(
            self, source, chunk_rows=chunk_rows, max_decompressed_bytes=max_decompressed_bytes, **piece
        )

    def parse(self, content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
        """:meth:`read_chunks` over in-memory bytes, one row at a time (the generic batch path)."""
        return parse_bytes(self, content, options)


def check_header(dialect: Dialect, columns: Iterable[str]) -> None:
    """Raise ParseError naming the expected columns when the header lacks a required field."""
    present = {normalize(c) for c in columns}
    missing = [f for f in dialect.required if not present.intersection(dialect.aliases[f])]
    if missing:
        expected = "; ".join(f"{f} ({' or '.join(dialect.aliases[f][:3])})" for f in missing)
        raise ParseError(f"not a {dialect.name} export: missing {expected}")


def build_chunk(dialect: Dialect, raw_rows: list[RawRow]) -> list[ParsedRow | RowIssue]:
    out: list[ParsedRow | RowIssue] = []
    schemas: dict[tuple[str, ...], Schema] = {}
    for row_number, cells in raw_rows:
        shape = tuple(cells)
        schema = schemas.get(shape) or schemas.setdefault(shape, Schema(shape, dialect.aliases))
        if "__invalid_json__" in cells:
            out.append(RowIssue(row_number, "", f"invalid JSON: {cells['__invalid_json__']}", cells.get("__raw__", "")))
            continue
        row = Row(cells, schema)
        try:
            out.append(ParsedRow(row_number=row_number, record=dialect.build(row)))
        except CellError as exc:
            value = cells.get(exc.column, "")
            cost, currency = _readable_cost(row)
            out.append(
                RowIssue(
                    row_number,
                    exc.column,
                    f"{exc.column} {exc.reason}",
                    str(cells)[:2000],
                    str(value),
                    cost=cost,
                    currency=currency,
                )
            )
    return out


def _readable_cost(row: Row) -> tuple[float | None, str]:
    """A rejected row's cost and currency when its cost cell reads as a number (None otherwise)."""
    try:
        cost = row.number("cost", default=0.0)
    except CellError:
        return None, ""
    return cost, row.text("currency") or "USD"


def dialect_chunks(
    dialect: Dialect,
    source: str | Path | IO[bytes],
    *,
    chunk_rows: int = 50_000,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    **piece: Any,
) -> Iterator[list[ParsedRow | RowIssue]]:
    """Read ``source`` chunk by chunk as ``dialect``; the first chunk's columns are checked first."""
    checked = False
    for columns, raw_rows in iter_raw_chunks(
        source,
        chunk_rows=chunk_rows,
        allow_jsonl=dialect.allow_jsonl,
        max_decompressed_bytes=max_decompressed_bytes,
        **piece,
    ):
        if not checked:
            check_header(dialect, columns)
            checked = True
        yield build_chunk(dialect, raw_rows)


def parse_bytes(dialect: Dialect, content: bytes, options: dict | None) -> Iterator[ParsedRow | RowIssue]:
    """``dialect_chunks`` over in-memory bytes, flattened; ``options['max_decompressed_bytes']`` is honoured."""
    limit = (options or {}).get("max_decompressed_bytes", DEFAULT_MAX_DECOMPRESSED_BYTES)
    for chunk in dialect_chunks(dialect, io.BytesIO(content), max_decompressed_bytes=limit):
        yield from chunk
