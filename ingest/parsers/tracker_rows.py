"""Shared reading for the tracker-file parsers: batch options, the clock, local timestamps, checked
numbers, CSV rows with truncation checks, ZIP members with zip-bomb limits, countries and run folding.

Every tracker parser reports each input row exactly once: as a RowIssue, or as a ParsedRow carrying the
final record of the run the row belongs to. Rows folded into one run (cumulative re-writes, epochs,
ranks) therefore carry the *same* record, so the store loads it once and counts the others as duplicates:
``rows_total = loaded + duplicate + rejected`` still holds and no energy is added twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import emissions
from emissions.choices import RunKind
from emissions.text import truthy
from ingest.parsers.csv_rows import CellError, header_hint
from ingest.parsers.input_limits import MAX_WHOLE_FILE_BYTES
from ingest.records import ParsedRow, ParseError, RowIssue

MAX_ARCHIVE_BYTES = MAX_WHOLE_FILE_BYTES  # total uncompressed size of a ZIP upload: read whole, like the file
MAX_ARCHIVE_MEMBERS = 1000
MAX_CLOCK_AHEAD = timedelta(days=1)  # a timestamp further in the future than this is a wrong clock
JOULES_PER_KWH = 3.6e6
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def utc_now() -> datetime:
    """The clock future timestamps are checked against (tests replace it)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class TrackerOptions:
    """The batch options the parsers use: ``timezone`` of naive timestamps, ``kind``, ``merge_ranks``,
    and ``filename`` (the uploaded file's name, when the caller passes it)."""

    zone: ZoneInfo
    kind: str | None
    merge_ranks: bool
    filename: str


def tracker_options(options: dict | None) -> TrackerOptions:
    """Read and check the options; an unknown timezone or kind fails the whole batch."""
    options = options or {}
    name = options.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ParseError(f"unknown timezone {name!r}: give an IANA name such as Europe/Paris or UTC") from exc
    kind = options.get("kind") or None
    if kind is not None and kind not in RunKind.values:
        raise ParseError(f"unknown run kind {kind!r}; choose one of {', '.join(RunKind.values)}")
    merge_ranks = truthy(options.get("merge_ranks", False))
    return TrackerOptions(zone=zone, kind=kind, merge_ranks=merge_ranks, filename=str(options.get("filename") or ""))


def local_time(text: str, column: str, zone: ZoneInfo) -> datetime:
    """A timestamp as aware UTC: naive values are local time in ``zone``; an explicit offset is kept."""
    value = text.strip()
    if not value:
        raise CellError(column, "is empty")
    if not _TIMESTAMP.match(value):
        raise CellError(column, f"{value!r} is not a timestamp (YYYY-MM-DD HH:MM:SS)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CellError(column, f"{value!r} is not a valid timestamp ({exc})") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return not_future(moment.astimezone(UTC), column, value)


def not_future(moment: datetime, column: str, text: str = "") -> datetime:
    """``moment`` unless it lies more than a day ahead of the clock (a wrong clock or timezone)."""
    if moment > utc_now() + MAX_CLOCK_AHEAD:
        raise CellError(column, f"{text or moment.isoformat()} is more than a day in the future")
    return moment


def number(
    value: object, column: str, *, minimum: float | None = 0.0, positive: bool = False, default: float | None = None
) -> float:
    """A finite number from a cell or a JSON/YAML value; empty takes ``default`` or is an error.

    ``minimum`` (0 unless None) rejects negative quantities; ``positive`` also rejects 0 (durations).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise CellError(column, "is empty")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CellError(column, f"{value!r} is not a number")
    try:
        result = float(value)
    except ValueError as exc:
        raise CellError(column, f"{value!r} is not a number") from exc
    if not math.isfinite(result):
        raise CellError(column, f"{value!r} is not a finite number")
    if positive and result <= 0:
        raise CellError(column, f"{result:g} is not above 0")
    if minimum is not None and result < minimum:
        raise CellError(column, f"{result:g} is below the minimum {minimum:g}")
    return result


def optional_number(value: object, column: str, **checks) -> float | None:
    """``None`` for an empty or missing value, else ``number(value, column, **checks)``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return number(value, column, **checks)


def count(value: object, column: str) -> int:
    """A device count (``2`` or ``2.0``); empty is 0."""
    result = number(value, column, default=0.0)
    if not result.is_integer():
        raise CellError(column, f"{value!r} is not a whole number")
    return int(result)


def cell_issue(row_number: int, error: CellError, *, value: object = "", raw: str = "", where: str = "") -> RowIssue:
    """The RowIssue of a value that could not be read; ``where`` names the archive member."""
    reason = f"{error.column} {error.reason}"
    return RowIssue(
        row_number=row_number,
        column=error.column,
        reason=f"{where}: {reason}" if where else reason,
        raw=raw[:2000],
        value=str(value)[:200],
    )


def decode(content: bytes, where: str = "") -> str:
    """UTF-8 text (BOM accepted); an empty or undecodable file fails the batch."""
    name = where or "the file"
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{name} is not UTF-8 text (byte {exc.start}): is it the right file?") from exc
    if not text.strip():
        raise ParseError(f"{name} is empty")
    return text


def csv_rows(
    content: bytes, *, required: list[str], where: str = ""
) -> tuple[list[str], list[tuple[int, dict[str, str]] | RowIssue]]:
    """The lowercase header and ``(row_number, row)`` per data row (header = row 1), or a RowIssue for a row
    whose cell count differs from the header's. Empty, header-only or truncated files raise ParseError."""
    name = where or "the file"
    text = decode(content, where)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ParseError(f"{name} is not readable CSV ({exc}): is it truncated?") from exc
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [column for column in required if column not in header]
    if missing:
        raise ParseError(f"{name} lacks column(s) {', '.join(missing)}{header_hint(header)}")
    data = [(number, cells) for number, cells in enumerate(rows[1:], start=2) if any(c.strip() for c in cells)]
    if not data:
        raise ParseError(f"{name} has a header but no rows")
    last_number, last_cells = data[-1]
    if len(last_cells) < len(header) and not text.endswith(("\n", "\r")):
        raise ParseError(
            f"{name} ends inside row {last_number} ({len(last_cells)} of {len(header)} cells, no line end): "
            "the file looks truncated"
        )
    result: list[tuple[int, dict[str, str]] | RowIssue] = []
    for number, cells in data:
        if len(cells) != len(header):
            reason = f"the row has {len(cells)} cells; the header has {len(header)}"
            where_reason = f"{where}: {reason}" if where else reason
            result.append(RowIssue(row_number=number, column="", reason=where_reason, raw=",".join(cells)[:2000]))
            continue
        result.append((number, {column: cells[i].strip() for i, column in enumerate(header)}))
    return header, result


def archive_members(content: bytes, *, suffixes: tuple[str, ...]) -> list[tuple[str, bytes]] | None:
    """The members of a ZIP upload whose names end with ``suffixes``, in natural name order
    (``rank_2`` before ``rank_10``); ``None`` when ``content`` is not a ZIP archive.

    Refuses archives over MAX_ARCHIVE_MEMBERS members or MAX_ARCHIVE_BYTES uncompressed (the declared
    sizes are checked first, then the bytes actually read, so a forged header cannot get past).
    """
    if not content.startswith(b"PK"):
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise ParseError(f"the archive has {len(infos)} members; the limit is {MAX_ARCHIVE_MEMBERS}")
        declared = sum(info.file_size for info in infos)
        if declared > MAX_ARCHIVE_BYTES:
            raise ParseError(f"the archive unpacks to {declared:,} bytes; the limit is {MAX_ARCHIVE_BYTES:,}")
        members, budget = [], MAX_ARCHIVE_BYTES
        for info in sorted(infos, key=lambda item: _natural(item.filename)):
            base = PurePosixPath(info.filename).name
            if base.startswith(".") or "__MACOSX" in info.filename or not base.lower().endswith(suffixes):
                continue
            with archive.open(info) as handle:
                data = handle.read(budget + 1)
            if len(data) > budget:
                raise ParseError(f"the archive unpacks to more than {MAX_ARCHIVE_BYTES:,} bytes")
            budget -= len(data)
            members.append((info.filename, data))
    # zipfile raises RuntimeError for encrypted members and NotImplementedError for compression methods it
    # cannot read; both mean the upload is unusable, not that GreenGuild is unfinished.
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ParseError(f"not a readable ZIP archive ({exc}): is it truncated or encrypted?") from exc
    if not members:
        raise ParseError(f"the archive holds no {' or '.join(suffixes)} file")
    return members


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def digest(*parts: str) -> str:
    """A stable short digest of ``parts`` (derived run ids)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def _countries() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """(alpha-2 → alpha-3, lowercase name → alpha-3, alpha-3 codes) from the shipped grid_zones.csv."""
    path = Path(emissions.__file__).resolve().parent / "reference_data" / "grid_zones.csv"
    alpha2, names = {}, {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["parent_code"] or not row["country_iso3"]:
                continue
            alpha2[row["code"].upper()] = row["country_iso3"]
            names[row["name"].casefold()] = row["country_iso3"]
    return alpha2, names, frozenset(alpha2.values())


def country_iso3(text: str) -> str:
    """ISO 3166-1 alpha-3 from an alpha-3 or alpha-2 code or a country name (``"Stockholm, Sweden"``
    tries its last part); ``""`` when unknown."""
    value = text.strip()
    if not value:
        return ""
    alpha2, names, alpha3 = _countries()
    for candidate in (value, *reversed(re.split(r"[,/]", value))):
        candidate = candidate.strip()
        if candidate.upper() in alpha3:
            return candidate.upper()
        found = alpha2.get(candidate.upper()) or names.get(candidate.casefold())
        if found:
            return found
    return ""


Entry = RowIssue | tuple[int, str]


def emit(entries: list[Entry], records: dict, rejected: dict[str, str]) -> Iterator[ParsedRow | RowIssue]:
    """Each input row once, in file order: its own issue, the reason its run was rejected, or its run's
    final record (``entries`` hold ``(row_number, run_key)``; ``records``/``rejected`` are keyed by run)."""
    for entry in entries:
        if isinstance(entry, RowIssue):
            yield entry
            continue
        row_number, key = entry
        if key in rejected:
            yield RowIssue(row_number=row_number, column="", reason=rejected[key])
        else:
            yield ParsedRow(row_number=row_number, record=records[key])
