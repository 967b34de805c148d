"""The column-wise core of the billing columnar path: a batch of text columns to ``CloudUsageLines``.

A billing export repeats a few thousand kinds of line (account, service, usage type, instance, region, tags)
over millions of hours and resources. Here a line is split into its *kind* (the columns the dialect's
``build`` reads, apart from the per-line fields) and its per-line fields (``LineFields``: key, usage start and
end, billing period, quantity, cost, resource). ``build`` runs once per kind on a representative line, and
the per-line fields are checked and converted column-wise with Arrow.

Exactness: a batch takes this path only when every per-line cell is clean (numbers written plainly, dates
that parse, a key on every line, no whitespace-only cell, nothing longer than its stored column). Any other
batch goes row by row through ``build_chunk``, which gives the same records and the row errors the row path
gives. The readers: billing_columns.py (CSV, and the entry point), billing_columns_typed.py (flat Parquet,
JSON lines).
"""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import replace
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from emissions.records import CloudUsageLines
from ingest.float_round import round_like_python
from ingest.parsers.billing_read import DEFAULT_MAX_DECOMPRESSED_BYTES, LimitedReader
from ingest.parsers.billing_rows import (
    NULLS,
    Dialect,
    LineFields,
    Row,
    Schema,
    compact_time,
    loads_lenient,
    month_start,
    parse_timestamp,
)
from ingest.parsers.csv_rows import CellError
from ingest.parsers.input_limits import limited

# About 10,000 CUR lines per block: large enough for Arrow to pay off, small enough for flat memory.

_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_LARGEST_COMBINED = 2**62  # kind_groups' combined column numbers stay below it (int64)
# Stored lengths of the per-line text columns (emissions.models.CloudUsage); longer cells take the row path.
_MAX_KEY, _MAX_RESOURCE = 128, 500
_INTERVAL_SUFFIX = len("@20240101T000000Z@20240101T000000Z")  # what interval_key adds to a line id
_PLACEHOLDER_TIME = "2000-01-01T00:00:00Z"
_NULL_CELLS = pa.array(sorted(NULLS))
# Up to this many distinct cells, a column's digest parts are written in Python (``_digest_piece``).
_PYTHON_DISTINCT = 1024
_KIND_CACHE_SIZE = 20_000  # kinds kept per file read (``kind_records``); a file with more starts afresh


class ColumnarUnavailable(Exception):
    """The file cannot be read column-wise (not plain CSV, or Arrow refuses it): read it row by row."""


def text_stream(stream: IO[bytes], gzipped: bool, *, quoted: bool = True) -> IO[bytes]:
    """The file's bytes from the start: ``stream`` itself, or its gzip inflated within the row path's bound
    (a gzip bomb stops at ``DEFAULT_MAX_DECOMPRESSED_BYTES`` with ParseError, as there), read through the
    row path's record bound (``quoted=False`` for JSON lines, as there)."""
    stream.seek(0)
    if not gzipped:
        return limited(stream, quoted=quoted)
    inflated = gzip.GzipFile(fileobj=stream, mode="rb")
    return limited(io.BufferedReader(LimitedReader(inflated, DEFAULT_MAX_DECOMPRESSED_BYTES)), quoted=quoted)


def batch_lines(
    dialect: Dialect,
    fields: LineFields,
    schema: Schema,
    batch: pa.RecordBatch,
    first_row: int,
    *,
    given_kinds: tuple[list, np.ndarray, list[bool]] | None = None,
    digests: list[str] | None = None,
    kind_cache: dict | None = None,
) -> CloudUsageLines | None:
    """The batch as columns, or None when some per-line cell is not clean (the row path decides then).

    ``batch``: text columns, at least the per-line ones. A typed reader (JSON lines) gives the lines'
    ``given_kinds`` (as ``_kinds`` gives them) and row ``digests`` it computed from the typed rows; else they come
    from the batch's columns. ``kind_cache``: kinds built by earlier batches of the same file (``kind_records``).
    """
    columns = dict(zip(batch.schema.names, batch.columns, strict=True))
    per_line = {field: _first_filled(columns, schema.keys(field)) for field in fields.names()}
    if any(value is None for value in per_line.values()):
        return None
    key, end = per_line.get(fields.key), per_line.get(fields.end)
    start, period, quantity_text, cost_text, resource = (
        per_line[f] for f in (fields.start, fields.period, fields.quantity, fields.cost, fields.resource)
    )
    if (key is not None and key.null_count) or start.null_count:  # blank lines, lines without a key or start
        return None
    if (key is not None and pc.max(pc.utf8_length(key)).as_py() > _MAX_KEY - _INTERVAL_SUFFIX) or (
        len(resource) and (pc.max(pc.utf8_length(resource.fill_null(""))).as_py() or 0) > _MAX_RESOURCE
    ):
        return None
    codes = ColumnCodes(columns)
    found = given_kinds or _kinds(dialect, fields, schema, codes, kind_columns(dialect, fields, schema), kind_cache)
    if found is None:
        return None
    kinds, kind_index, uses_else = found
    usage = np.array([kind.charge_category == "usage" for kind in kinds], dtype=bool)[kind_index]
    quantity = _numbers(quantity_text)
    cost = _numbers(cost_text)
    if quantity is None or cost is None:
        return None
    if fields.quantity_else is not None:
        quantity = _quantity_chosen(quantity, per_line[fields.quantity_else], np.array(uses_else)[kind_index])
        if quantity is None:
            return None
    quantity_missing = np.isnan(quantity)
    if (quantity_missing & usage).any() or ((quantity < 0) & usage).any():
        return None
    if fields.credits is not None:
        cost = _net_costs(cost, per_line[fields.credits])
        if cost is None:
            return None
    factor = np.array([kind.usage_quantity for kind in kinds], dtype=np.float64)[kind_index]
    starts = _times(start)
    if end is not None or fields.end_after is None:
        ends = _times(pc.coalesce(end, start) if end is not None else start)
    else:
        ends = None if starts is None else (tuple(value + fields.end_after for value in starts[0]), starts[1])
    periods = _periods(period, starts)
    if starts is None or ends is None or periods is None:
        return None
    if fields.period_in_kind:
        periods = _kind_periods(kinds, kind_index, starts)
    keys: list[str] | None = digests
    if key is not None:
        keys = _interval_keys(key, starts, ends)
    elif keys is None:
        keys = row_digests(codes, schema)
    if keys is None:
        return None
    return CloudUsageLines(
        kinds=tuple(kinds),
        kind_index=kind_index,
        line_item_key=keys,
        resource_id=resource.fill_null("").to_pylist(),
        usage_start=starts,
        usage_end=ends,
        billing_period=periods,
        usage_quantity=np.where(quantity_missing, 0.0, quantity) * factor,
        cost=np.nan_to_num(cost, nan=0.0),
        row_number=np.arange(first_row, first_row + batch.num_rows, dtype=np.int64),
    )


def _quantity_chosen(main: np.ndarray, other_text: pa.Array, uses_else: np.ndarray) -> np.ndarray | None:
    """Per line, the quantity its kind reads: ``main``, or the other column where the kind uses that. None
    when a line of a main-column kind has no main quantity (``build`` would read the other column, in the
    other unit: the row path decides)."""
    other = _numbers(other_text)
    if other is None or (np.isnan(main) & ~uses_else).any():
        return None
    return np.where(uses_else, other, main)


def _net_costs(cost: np.ndarray, credits: pa.Array) -> np.ndarray | None:
    """Cost plus each line's credits (a list of ``{amount}``), added in order and rounded to 9 decimals as the
    builder does; None when a credits cell is not such a list (the row path reports it). Each distinct cell is
    decoded once: most lines share an empty list or a few credit lists."""
    texts = credits.fill_null("").dictionary_encode()
    amounts: list[tuple[float, ...]] = []
    for text in texts.dictionary.to_pylist():
        decoded = loads_lenient(text) if text and text != "[]" else []
        if not isinstance(decoded, list):
            return None
        try:
            amounts.append(tuple(float(item.get("amount", 0) if isinstance(item, dict) else item) for item in decoded))
        except (TypeError, ValueError):
            return None
    total = np.nan_to_num(cost, nan=0.0)
    index = texts.indices.to_numpy()
    credited = np.flatnonzero([bool(values) for values in amounts])
    for line in np.flatnonzero(np.isin(index, credited)).tolist():
        value = float(total[line])
        for amount in amounts[index[line]]:
            value += amount  # one by one, in the cell's order, as the builder adds them
        total[line] = value
    return round_like_python(total, 9)


def _kind_periods(kinds: list, kind_index: np.ndarray, starts: tuple[tuple, np.ndarray]) -> tuple[tuple, np.ndarray]:
    """Each line's billing month from its kind, or its start's month where the kind has none (a kind built
    without one carries the placeholder start's month)."""
    start_values, start_index = starts
    months = [month_start(value) for value in start_values]
    placeholder = month_start(parse_timestamp(_PLACEHOLDER_TIME, ""))
    kind_months = [kind.billing_period for kind in kinds]
    unset = np.array([month == placeholder for month in kind_months], dtype=bool)[kind_index]
    index = np.where(unset, start_index, len(months) + kind_index)
    return tuple(months + kind_months), index.astype(np.int32)


def _interval_keys(key: pa.Array, starts: tuple[tuple, np.ndarray], ends: tuple[tuple, np.ndarray]) -> list[str]:
    """``interval_key`` of every line, column-wise: the id, then its start and end in compact UTC."""
    start_text, end_text = (
        pa.array([compact_time(value) for value in values]).take(pa.array(index)) for values, index in (starts, ends)
    )
    return pc.binary_join_element_wise(key, start_text, end_text, "@").to_pylist()


class ColumnCodes(dict):
    """A batch's columns by name, each dictionary-encoded on first use (nulls encoded as a value): the kinds
    and the row digests group lines by the same columns' cells, and encoding (hashing every cell) is most of
    what either costs."""

    def __init__(self, columns: dict[str, pa.Array]):
        super().__init__()
        self.columns = columns

    def __missing__(self, name: str) -> pa.DictionaryArray:
        encoded = self[name] = self.columns[name].dictionary_encode(null_encoding="encode")
        return encoded


def row_digests(codes: ColumnCodes, schema: Schema) -> list[str] | None:
    """``Row.digest`` of every line, column-wise: ``name\x1fvalue\x1e`` of each non-empty trimmed cell in
    (normalized name, column) order, hashed per line. None when a cell holds a control character between
    0x1c and 0x1f (Python's ``strip`` and Arrow's trim disagree on those).

    Runs of adjacent columns whose cells repeat together (``_grouped_columns``) are written once per group of
    lines, so the text joined per line has a few parts rather than one per column."""
    names = sorted(codes.columns, key=lambda column: (schema.norm[column], column))
    count = len(codes.columns[names[0]])
    grouped, group_index, first_lines = _grouped_columns(codes, names, count)
    parts: list[pa.Array] = []
    run: list[str] = []
    for name in [*names, None]:
        if name in grouped:
            run.append(name)
            continue
        if run:
            parts.append(_run_texts(codes, schema, run, first_lines).take(group_index))
            run = []
        if name is not None:
            piece = _digest_piece(codes.columns[name], codes[name], f"{schema.norm[name]}\x1f")
            if piece is None:
                return None
            parts.append(piece)
    joined = pc.binary_join_element_wise(*parts, "") if len(parts) > 1 else parts[0]
    sha256 = hashlib.sha256
    return [sha256(text).hexdigest() for text in joined.cast(pa.binary()).to_pylist()]


def _grouped_columns(codes: ColumnCodes, names: list[str], count: int) -> tuple[set[str], pa.Array, list[int]]:
    """The columns whose digest parts are written per group of lines, each line's group and each group's
    first line: the columns of at most ``_PYTHON_DISTINCT`` distinct cells when their combinations are at most
    an eighth of the lines (an export's kinds), else those of at most 16 (hours, prices and the like vary),
    else none."""
    for most in (_PYTHON_DISTINCT, 16):
        chosen = [name for name in names if len(codes[name].dictionary) <= most]
        if chosen:
            group_index, first_lines = kind_groups([codes[name] for name in chosen], count)
            if len(first_lines) <= count // 8:
                return set(chosen), pa.array(group_index), first_lines
    return set(), pa.array([], pa.int32()), []


def _run_texts(codes: ColumnCodes, schema: Schema, run: list[str], first_lines: list[int]) -> pa.Array:
    """Per group of lines (given by its first line), the digest parts of the ``run`` of columns joined."""
    parts = []
    for name in run:
        encoded = codes[name]
        texts = _distinct_parts(encoded, f"{schema.norm[name]}\x1f")
        indices = encoded.indices.to_numpy(zero_copy_only=False)[first_lines].tolist()
        parts.append([texts[index] for index in indices])
    return pa.array(["".join(cells) for cells in zip(*parts, strict=True)], pa.string())


def _digest_piece(cells: pa.Array, encoded: pa.DictionaryArray, prefix: str) -> pa.Array | None:
    """Each cell's part of a row digest: ``prefix`` + the trimmed cell + ``\x1e``, or "" for an empty cell;
    None when a cell holds a control character between 0x1c and 0x1f. Worked out once per distinct cell: most
    columns of an export repeat a few values over every line (a kind's account, service, region).

    A column of few distinct cells is worked out in Python, exactly as ``Row.digest`` trims and skips them
    (a dozen Arrow calls cost more than a few hundred cells); a column of many with Arrow's kernels.
    ``encoded``: the cells dictionary-encoded."""
    if len(encoded.dictionary) <= _PYTHON_DISTINCT:
        return pa.array(_distinct_parts(encoded, prefix), pa.string()).take(encoded.indices)
    repeats = len(encoded.dictionary) <= len(cells) // 2
    values = encoded.dictionary if repeats else cells
    if pc.any(pc.match_substring_regex(values, "[\x1c-\x1f]")).as_py():
        return None
    trimmed = pc.utf8_trim_whitespace(values)
    empty = pc.or_(pc.equal(trimmed, ""), pc.is_in(trimmed, value_set=_NULL_CELLS))
    piece = pc.if_else(empty, "", pc.binary_join_element_wise(prefix, trimmed, "\x1e", ""))
    return piece.take(encoded.indices) if repeats else piece


def _distinct_parts(encoded: pa.DictionaryArray, prefix: str) -> list[str]:
    """Each distinct cell's part of a row digest, in the dictionary's order, as ``Row.digest`` writes it
    (``is_empty``, ``cell_text``): ``prefix`` + the trimmed cell + ``\x1e``, or "" for an empty cell."""
    parts = []
    for value in encoded.dictionary.to_pylist():
        text = "" if value is None else value.strip()
        parts.append("" if not text or text in NULLS else f"{prefix}{text}\x1e")
    return parts


def _first_filled(columns: dict[str, pa.Array], keys: tuple[str, ...]) -> pa.Array | None:
    """Per line, the first of ``keys`` whose cell is not blank, trimmed (null when none is).

    None, meaning "not clean", when a cell holds only whitespace: the row path reads such a cell
    differently from field to field, so it decides.
    """
    found = []
    for name in keys:
        cells = columns[name]
        trimmed = pc.utf8_trim_whitespace(cells)
        blank = pc.or_(pc.equal(trimmed, ""), pc.is_in(trimmed, value_set=_NULL_CELLS))
        if pc.any(pc.and_(blank, pc.not_equal(cells, ""))).as_py():
            return None
        found.append(pc.if_else(blank, pa.scalar(None, pa.string()), trimmed))
    if not found:
        return pa.nulls(len(next(iter(columns.values()))), pa.string())
    return found[0] if len(found) == 1 else pc.coalesce(*found)


def _numbers(text: pa.Array) -> np.ndarray | None:
    """Plainly written finite numbers as float64 (NaN where the cell is empty); None when one is not."""
    filled = text.drop_null()
    if len(filled) and not pc.all(pc.match_substring_regex(filled, _PLAIN_NUMBER)).as_py():
        return None
    numbers = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    return None if np.isinf(numbers).any() else numbers  # 1e999: the row path reports it as not finite


def _times(text: pa.Array) -> tuple[tuple, np.ndarray] | None:
    """Distinct parsed UTC timestamps and each line's index into them; None when one does not parse."""
    encoded = text.dictionary_encode()
    try:
        values = tuple(parse_timestamp(value, "") for value in encoded.dictionary.to_pylist())
    except CellError:
        return None
    return values, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)


def _periods(period: pa.Array, starts: tuple[tuple, np.ndarray] | None) -> tuple[tuple, np.ndarray] | None:
    """Each line's billing month: its period column where written, else its start's month."""
    if starts is None:
        return None
    start_values, start_index = starts
    months = [month_start(value) for value in start_values]
    if period.null_count == len(period):
        return tuple(months), start_index
    written = _times(period.fill_null(_PLACEHOLDER_TIME))
    if written is None:
        return None
    written_values, written_index = written
    offset = len(months)
    index = np.where(period.is_null().to_numpy(zero_copy_only=False), start_index, written_index + offset)
    return tuple(months + [month_start(value) for value in written_values]), index.astype(np.int32)


def kind_columns(dialect: Dialect, fields: LineFields, schema: Schema) -> tuple[str, ...]:
    """The columns that make a line's kind: whatever ``build`` reads apart from the per-line fields."""
    line = set(fields.names())
    named = {column for field in dialect.aliases if field not in line for column in schema.keys(field)}
    tagged = {column for prefix in fields.tag_prefixes for column, _ in schema.prefixed(prefix)}
    return tuple(column for column in schema.norm if column in named | tagged)


def _kinds(
    dialect: Dialect,
    fields: LineFields,
    schema: Schema,
    codes: ColumnCodes,
    names: tuple[str, ...],
    cache: dict | None = None,
) -> tuple[list, np.ndarray, list[bool]] | None:
    """One record per distinct kind (per-line fields as placeholders, quantity = the unit's factor), each
    line's kind and, per kind, whether it reads ``quantity_else``; None when a representative line does not
    build (the row path reports it)."""
    columns = codes.columns
    kind_index, first_lines = kind_groups([codes[name] for name in names], len(next(iter(columns.values()))))
    lines = [{name: columns[name][line].as_py() for name in names} for line in first_lines]
    built = kind_records(dialect, fields, schema, lines, cache)
    return None if built is None else (built[0], kind_index, built[1])


def kind_groups(keys: list[pa.Array], count: int) -> tuple[np.ndarray, list[int]]:
    """Each of ``count`` lines' kind (lines of one kind have equal text in each of ``keys``), numbered in order
    of first appearance, and each kind's first line. A key may come dictionary-encoded (``ColumnCodes``).

    Column by column, never a joined text per line: each column's distinct texts are numbered (Arrow, in C)
    and the numbers combined into one integer per line (numpy), renumbered densely whenever the next column
    could overflow it."""
    combined, distinct = np.zeros(count, dtype=np.int64), 1
    for key in keys:
        encoded = key if isinstance(key, pa.DictionaryArray) else key.dictionary_encode(null_encoding="encode")
        width = max(len(encoded.dictionary), 1)
        if distinct * width >= _LARGEST_COMBINED:
            _, combined = np.unique(combined, return_inverse=True)
            distinct = int(combined.max(initial=0)) + 1
        combined = combined * width + encoded.indices.to_numpy(zero_copy_only=False)
        distinct *= width
    _, first_lines, kind_of_line = np.unique(combined, return_index=True, return_inverse=True)
    by_appearance = np.argsort(first_lines)
    rank = np.empty_like(by_appearance)
    rank[by_appearance] = np.arange(len(by_appearance))
    return rank[kind_of_line.reshape(-1)].astype(np.int32), first_lines[by_appearance].tolist()


def kind_records(
    dialect: Dialect, fields: LineFields, schema: Schema, lines: list[dict], cache: dict | None = None
) -> tuple[list, list[bool]] | None:
    """Per kind, its record built from a representative line's kind cells (per-line fields as placeholders,
    quantity = the unit's factor) and whether it reads ``quantity_else``; None when one does not build (the
    row path reports it).

    ``cache`` keeps what was built by the cells, for lines of text cells only (CSV, Parquet as text; a typed
    cell's equality is not its identity: ``1 == True``): the blocks of one file repeat the same few kinds, and
    building one is the dialect's whole row logic."""
    placeholders = _placeholders(fields, schema)
    kinds, uses_else = [], []
    for line in lines:
        key = tuple(line.items()) if cache is not None else None
        found = cache.get(key) if cache is not None else None
        if found is None:
            cells = line | placeholders
            try:
                record = dialect.build(Row(cells, Schema(tuple(cells), dialect.aliases)))
                found = (
                    replace(record, line_item_key="", resource_id="", cost=0.0),
                    _uses_else(dialect, fields, schema, cells, record),
                )
            except CellError:
                return None
            if cache is not None:
                if len(cache) >= _KIND_CACHE_SIZE:
                    cache.clear()
                cache[key] = found
        kinds.append(found[0])
        uses_else.append(found[1])
    return kinds, uses_else


def _uses_else(dialect: Dialect, fields: LineFields, schema: Schema, cells: dict, record) -> bool:
    """Whether a kind reads its quantity from ``quantity_else``: built again with that column at 2, its
    quantity doubles."""
    if fields.quantity_else is None:
        return False
    other = schema.keys(fields.quantity_else)
    if not other:
        return False
    doubled = dialect.build(Row(cells | {other[0]: "2"}, Schema(tuple(cells), dialect.aliases)))
    return doubled.usage_quantity != record.usage_quantity


def _placeholders(fields: LineFields, schema: Schema) -> dict[str, str]:
    """Per-line cells for building a kind: quantities 1 (so the record's quantity is the unit's factor),
    cost 0."""
    values = {
        fields.key: "kind",
        fields.start: _PLACEHOLDER_TIME,
        fields.end: _PLACEHOLDER_TIME,
        fields.period: "",
        fields.quantity: "1",
        fields.quantity_else: "1",
        fields.cost: "0",
        fields.resource: "",
    }
    values.pop(None, None)  # a dialect without a key, end or second quantity column
    cells: dict[str, str] = {}
    for field, value in values.items():
        keys = schema.keys(field)
        cells.update(dict.fromkeys(keys, ""))
        if keys:
            cells[keys[0]] = value
    return cells
