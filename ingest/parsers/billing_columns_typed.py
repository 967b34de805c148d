"""The columnar path of billing exports whose cells are typed: flat Parquet and JSON lines (the GCP export).

Both end in ``batch_lines`` (billing_columns_core.py), as a CSV does, and read exactly what the row path reads:

- Parquet: both paths read a batch through ``parquet_text`` (billing_read.py), one function turning every
  typed value into the text a CSV cell would hold. The row path builds from those text cells, the columnar
  path takes the same text columns: the two see the same cells, so the CSV reasoning carries over, row
  digests included.
- JSON lines: both paths decode the lines with ``json_records`` (the same typed JSON values), so the row
  path's digests and records stay what they were; the columnar path takes nested objects apart column by
  column (``_flat_columns``) into the cells ``flatten`` gives the row path. A line's kind is built from its
  own typed cells (lines grouped by value and type, ``_typed_kinds``), its digest hashes the text
  ``Row.digest`` hashes (``str`` of a number or a list, ``_digest_texts``), and only the per-line fields
  become text, where the text reads back as the value (``_cell_text``); any other value sends its block
  row by row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from emissions.records import CloudUsageLines
from ingest.parsers.billing_columns_core import (
    ColumnarUnavailable,
    ColumnCodes,
    batch_lines,
    kind_columns,
    kind_groups,
    kind_records,
    row_digests,
    text_stream,
)
from ingest.parsers.billing_read import (
    RawRow,
    flat_rows,
    is_map_column,
    json_records,
    jsonl_blocks,
    parquet_rows,
    parquet_text,
)
from ingest.parsers.billing_rows import Dialect, LineFields, Schema, build_chunk, check_header
from ingest.parsers.gc_pause import gc_paused
from ingest.parsers.input_limits import cells_check, parquet_check
from ingest.records import ParsedRow, ParseError, RowIssue

PARQUET_BATCH_ROWS = 10_000
JSONL_BLOCK_ROWS = 10_000
# How a per-line field's JSON value may be written: text only, or also a number, or also a list (credits).
_TEXT, _NUMBER, _LIST = "text", "number", "list"
# Far below where ``float(int)`` overflows (about 1.8e308), where the row path fails instead of reading a number.
_LARGEST_INT = 10**300
_MISSING = object()  # a key a JSON line leaves out (the row path skips it, unlike a null)
_EMPTY: dict = {}  # in place of a cell that is not an object when a column's objects are flattened


def parquet_lines(
    dialect: Dialect, fields: LineFields, stream: IO[bytes], first_row: int, row_groups: tuple[int, ...]
) -> Iterator[CloudUsageLines | list[ParsedRow | RowIssue]]:
    """A flat Parquet export column-wise: each batch in ``parquet_text``'s form, read as a CSV batch.

    Any dialect, keyed by a line id or by the row digest (the digest hashes the same text both ways).
    Files with nested columns (structs, lists, CUR 2.0 maps) or a column type without a text form, and
    Parquet Arrow refuses, raise ColumnarUnavailable: the row path reads them. A batch that is not clean is
    built row by row from the same text rows the row path reads. ``row_groups``: only those, numbered
    from ``first_row`` (a piece of a larger file).
    """
    try:
        parquet = pq.ParquetFile(stream)
        arrow_schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise ColumnarUnavailable(str(exc)) from exc
    parquet_check(parquet.metadata, row_groups)
    names = arrow_schema.names
    if len(set(names)) != len(names) or any(pa.types.is_nested(field.type) for field in arrow_schema):
        raise ColumnarUnavailable("nested or repeated Parquet columns")
    empty = parquet_text(pa.RecordBatch.from_pylist([], schema=arrow_schema))
    if any(column.type != pa.string() for column in empty.columns):
        raise ColumnarUnavailable("a Parquet column type without a text form")
    check_header(dialect, names)
    schema = Schema(tuple(names), dialect.aliases)
    next_row = first_row
    kind_cache: dict = {}  # the kinds built so far, for every block of the file (kind_records)
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=list(row_groups) or None):
            cells_check(batch)
            text = parquet_text(batch)
            lines = batch_lines(dialect, fields, schema, text, next_row, kind_cache=kind_cache)
            yield lines if lines is not None else build_chunk(dialect, parquet_rows(text, next_row))
            next_row += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise ColumnarUnavailable(str(exc)) from exc


def jsonl_lines(
    dialect: Dialect, fields: LineFields, stream: IO[bytes], gzipped: bool, first_row: int = 2
) -> Iterator[CloudUsageLines | list[ParsedRow | RowIssue]]:
    """Newline-delimited JSON (plain or gzip) block by block: the row path's decoded records, then columns.

    The stdlib parses the lines, as on the row path (Arrow's JSON reader infers types per column: ``1`` and
    ``1.5`` would both become doubles and the digest text would change). What is saved is ``build`` per
    line. A header without the dialect's required fields raises ColumnarUnavailable: the row path checks
    its own first chunk and decides.
    """
    checked = False
    for first, text_lines in jsonl_blocks(text_stream(stream, gzipped, quoted=False), JSONL_BLOCK_ROWS, first_row):
        # One pause from the lines to Arrow's columns: the block's records are gone when the collector runs.
        with gc_paused():
            records = json_records(first, text_lines)
            flat = _flat_columns(records)
            names, rows = flat_rows(records) if flat is None else (list(flat[0]), None)
            if not checked:
                try:
                    check_header(dialect, names)
                except ParseError as exc:
                    raise ColumnarUnavailable(str(exc)) from exc
                checked = True
            lines = _typed_lines(dialect, fields, first, *flat) if flat is not None else None
            block = lines if lines is not None else build_chunk(dialect, rows or flat_rows(records)[1])
            del records, flat, rows
        yield block


def _typed_lines(
    dialect: Dialect, fields: LineFields, first_row: int, values: dict[str, list], value_types: dict[str, set[type]]
) -> CloudUsageLines | None:
    """A block's typed cells and each column's value types (``_flat_columns``), numbered from ``first_row``, as
    columns; None when a per-line cell holds a value ``_cell_text`` does not write, or two columns match one
    field name (the row path decides)."""
    schema = Schema(tuple(values), dialect.aliases)
    if len(set(schema.norm.values())) != len(schema.norm):
        return None  # which of the two a row reads depends on its key order
    text_columns = {name: _text_column(cells) for name, cells in values.items()}
    types: dict[str, set[type]] = {
        name: {str} if text is not None else value_types[name] for name, text in text_columns.items()
    }
    # The cells as Row.digest hashes them (``str`` of a number or a list).
    digest_texts = {
        name: text if text is not None else pa.array(_digest_texts(values[name], types[name]), pa.string())
        for name, text in text_columns.items()
    }
    columns = {}
    for column, category in _line_categories(fields, schema).items():
        text = text_columns[column]
        if text is None and category == _NUMBER and types[column] == {float}:
            text = digest_texts[column]  # ``repr``, as _cell_text writes a float
        elif text is None:
            texts = [_cell_text(value, category) for value in values[column]]
            if None in texts:
                return None
            text = pa.array(texts, pa.string())
        columns[column] = text
    if not columns:
        return None
    codes = ColumnCodes(digest_texts)
    digests = None
    if fields.key is None:
        digests = row_digests(codes, schema)
        if digests is None:
            return None
    kinds = _typed_kinds(dialect, fields, schema, values, types, codes)
    if kinds is None:
        return None
    batch = pa.RecordBatch.from_pydict(columns)
    return batch_lines(dialect, fields, schema, batch, first_row, given_kinds=kinds, digests=digests)


def _flat_columns(records: list[RawRow]) -> tuple[dict[str, list], dict[str, set[type]]] | None:
    """Decoded JSON records' cells column by column, as ``flatten`` names them (``_MISSING`` where a record
    has no such cell), columns sorted, and each column's set of value types; None when a record is not an
    object or the records are not numbered one after the other (the row path reads them), or a dotted name is
    also a key of its own (which cell a row keeps then depends on its key order).

    Nested objects are taken apart column by column rather than record by record: a block's records share a
    few key sequences, so each level is one transposition (``_columns``).
    """
    if not records or records[-1][0] - records[0][0] != len(records) - 1:
        return None
    if any("__invalid_json__" in record for _, record in records):
        return None
    flat: dict[str, list] = {}
    flat_types: dict[str, set[type]] = {}
    pending = [("", _columns([record for _, record in records]))]
    while pending:
        prefix, columns = pending.pop()
        for key, cells in columns.items():
            name = prefix + key
            types = set(map(type, cells))
            if dict in types and not is_map_column(name):
                if types == {dict} and all(cells):  # objects on every line, none empty: the usual case
                    pending.append((name + ".", _columns(cells)))
                    continue
                # Non-empty objects are flattened further; every other cell (``{}`` too) stays in this column.
                nested = [cell if cell.__class__ is dict and cell else _EMPTY for cell in cells]
                pending.append((name + ".", _columns(nested)))
                cells = [_MISSING if cell.__class__ is dict and cell else cell for cell in cells]
                if all(cell is _MISSING for cell in cells):
                    continue
                types = set(map(type, cells))
            if name in flat:
                return None
            flat[name], flat_types[name] = cells, types
    return dict(sorted(flat.items())), flat_types


def _columns(records: list[dict]) -> dict[str, list]:
    """The records' cells column by column (``_MISSING`` where a record leaves a key out).

    Records are transposed shape by shape (a JSON export leaves out null fields, so a block has a few key
    sequences): no Python loop per cell, no copy of each record.
    """
    keys = list(map(tuple, records))
    if keys.count(keys[0]) == len(keys):  # one shape
        return dict(zip(keys[0], _transposed(records), strict=True))
    shapes: dict[tuple[str, ...], list[int]] = {}
    for line, shape in enumerate(keys):
        shapes.setdefault(shape, []).append(line)
    columns = {name: np.full(len(records), _MISSING, dtype=object) for name in set().union(*shapes)}
    for shape, lines in shapes.items():
        for name, values in zip(shape, _transposed(records[line] for line in lines), strict=True):
            # fromiter keeps each value whole (a list stays one cell, not a row of cells).
            columns[name][lines] = np.fromiter(values, dtype=object, count=len(lines))
    return {name: column.tolist() for name, column in columns.items()}


def _text_column(cells: list) -> pa.Array | None:
    """The column as an Arrow string array when every cell is text (no null, no left-out key), else None.

    Arrow checks the cells in C: a cell of any other type (number, list, dict, ``_MISSING``) is refused
    (bytes are taken, but JSON never decodes to bytes), and a null makes a null slot.
    """
    try:
        text = pa.array(cells, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    return text if text.null_count == 0 else None


def _transposed(rows: Iterable[dict]) -> list[list]:
    """Rows of one key sequence as the lists of their values, key by key."""
    return list(map(list, zip(*map(dict.values, rows), strict=True)))


def _line_categories(fields: LineFields, schema: Schema) -> dict[str, str]:
    """Each per-line column and how its values may be written (a column of two fields: text only)."""
    found: dict[str, str] = {}
    for field in fields.names():
        if field in (fields.quantity, fields.quantity_else, fields.cost):
            category = _NUMBER
        else:
            category = _LIST if field == fields.credits else _TEXT
        for column in schema.keys(field):
            found[column] = category if found.get(column, category) == category else _TEXT
    return found


def _cell_text(value: Any, category: str) -> str | None:
    """A per-line JSON value as the CSV cell that ``batch_lines`` reads as the row path reads the value;
    None for any other value.

    Text is itself; null, left out, ``[]`` and ``{}`` are the empty cell (``is_empty``). A number field also
    takes an int (``str``, below 10**300) or a float (``repr``): both read back as the same float
    (``float(value)`` and Arrow's parse round correctly). Credits also take a list, as its JSON (decoded by
    ``loads_lenient`` to an equal list).
    """
    if value.__class__ is str:
        return value
    if value is None or value is _MISSING or (value.__class__ in (list, dict) and not value):
        return ""
    if category == _NUMBER:
        if value.__class__ is float:
            return repr(value)
        if value.__class__ is int and abs(value) < _LARGEST_INT:
            return str(value)
    elif category == _LIST and value.__class__ is list:
        return json.dumps(value)
    return None


def _digest_texts(cells: list, types: set[type]) -> list[str]:
    """A column's cells (of these ``types``) as ``Row.digest`` hashes them, for ``row_digests`` (which trims
    text and leaves out blank and NULL cells as ``Row.digest`` does): text as it is; left out, null, ``[]``
    and ``{}`` empty (``is_empty``); any other value ``str``, which has no outer blanks, is never NULL and
    escapes control characters (a list's strings are written with ``repr``), so trimming changes nothing."""
    if types <= {float, int}:
        return list(map(str, cells))  # a number is never empty
    if types == {list}:
        return [str(value) if value else "" for value in cells]
    return [
        value
        if value.__class__ is str
        else ""
        if value is None or value is _MISSING or (value.__class__ in (list, dict) and not value)
        else str(value)
        for value in cells
    ]


def _typed_kinds(
    dialect: Dialect,
    fields: LineFields,
    schema: Schema,
    values: dict[str, list],
    types: dict[str, set[type]],
    codes: ColumnCodes,
) -> tuple[list, np.ndarray, list[bool]] | None:
    """The lines' kinds, as ``_kinds`` gives them, from typed cells: lines of one kind hold equal values of
    equal types in every kind column, and each kind is built from its first line's own cells.

    A column of one type is keyed by its digest text (``str``: ``repr`` for these JSON values, which tells
    values apart; the empty cell only for that type's empty value); another by each cell's type and text
    (a null, a left-out key, ``[]`` and ``""`` differ, as do ``1``, ``1.0``, ``"1"`` and ``True``).
    ``codes``: the digest texts, encoded once for the row digests and the kinds.
    """
    names = kind_columns(dialect, fields, schema)
    keys = [
        codes[name]
        if len(types[name]) == 1
        else pa.array([f"{type(value).__name__}:{value}" for value in values[name]], pa.string())
        for name in names
    ]
    kind_index, first_lines = kind_groups(keys, len(next(iter(values.values()))))
    lines = [{name: values[name][line] for name in names if values[name][line] is not _MISSING} for line in first_lines]
    built = kind_records(dialect, fields, schema, lines)
    return None if built is None else (built[0], kind_index, built[1])
