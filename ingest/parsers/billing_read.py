"""Streaming reads of billing exports: CSV, gzip, Parquet and newline-delimited JSON, in chunks of raw rows.

A raw row is a ``dict`` from the file's column name to its cell: ``str`` for CSV; for Parquet the text of each
scalar value (``parquet_text``: what the cell would hold in a CSV export, the one form both the row path and
the columnar path read) with lists and maps kept as values (a list of pairs for a map); the JSON value for
JSONL. Nested objects are flattened with dots (``{"service": {"description": x}}`` → ``service.description``),
so the BigQuery JSON export and its flattened CSV give the same column names.

Row numbers: CSV rows count physical lines with the header as row 1 (blank lines are counted and skipped);
Parquet and JSONL rows are the record's 1-based index + 1, so the first record is row 2 as in a CSV.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from emissions.json_depth import JsonTooDeepError, json_loads
from ingest.parsers.gc_pause import gc_paused
from ingest.parsers.input_limits import cells_check, limited, parquet_check
from ingest.records import ParseError

DEFAULT_MAX_DECOMPRESSED_BYTES = 20 * 1024**3
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"

RawRow = tuple[int, dict[str, Any]]
"""``(row_number, cells)``."""


class LimitedReader(io.RawIOBase):
    """A readable stream that raises ParseError once more than ``limit`` bytes came out of ``inner``.

    Wrapped around a gzip stream it stops a gzip bomb after ``limit`` bytes instead of inflating it all.
    """

    def __init__(self, inner: IO[bytes], limit: int | None):
        self._inner = inner
        self._limit = limit
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (EOFError, OSError, zlib.error) as exc:
            # A truncated or corrupt gzip member surfaces here, in the middle of a read.
            raise ParseError(f"the compressed file is truncated or corrupt: {exc}") from exc
        self._count += len(data)
        if self._limit is not None and self._count > self._limit:
            raise ParseError(f"the file decompresses to more than {self._limit} bytes; refusing to read further")
        buffer[: len(data)] = data
        return len(data)


def _peek(stream: IO[bytes], size: int) -> tuple[bytes, IO[bytes]]:
    """The first ``size`` bytes of ``stream`` and a stream that still starts at the beginning."""
    if stream.seekable():
        position = stream.tell()
        head = stream.read(size)
        stream.seek(position)
        return head, stream
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(LimitedReader(stream, None))
    return buffered.peek(size)[:size], buffered


def iter_raw_chunks(
    source: str | Path | IO[bytes],
    *,
    chunk_rows: int = 50_000,
    allow_jsonl: bool = False,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    first_row: int = 2,
    row_groups: tuple[int, ...] | None = None,
) -> Iterator[tuple[list[str], list[RawRow]]]:
    """Yield ``(columns, rows)``, at most ``chunk_rows`` rows each; the format is told by the bytes, not the name.

    ``first_row`` numbers the first record (a piece of a larger file, ingest/pieces.py, starts further
    down); ``row_groups`` reads only those row groups of a Parquet file.

    Raises ParseError for an empty, truncated or unreadable file, or a gzip stream inflating past
    ``max_decompressed_bytes``. JSON lines are only accepted when ``allow_jsonl`` (the GCP export).
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    owned = isinstance(source, str | Path)
    handle: IO[bytes] = open(source, "rb") if owned else source  # noqa: SIM115 - closed in finally
    stream = handle
    try:
        head, stream = _peek(stream, 4)
        if not head:
            raise ParseError("the file is empty: expected a billing export (CSV, CSV.gz, Parquet or JSON lines)")
        if head == _PARQUET_MAGIC:
            yield from _parquet_chunks(source if owned else stream, chunk_rows, first_row, row_groups)
            return
        if head.startswith(_GZIP_MAGIC):
            inflated = gzip.GzipFile(fileobj=stream, mode="rb")
            stream = io.BufferedReader(LimitedReader(inflated, max_decompressed_bytes))
            head, stream = _peek(stream, 64)
            if not head:
                raise ParseError("the compressed file is empty")
        if allow_jsonl and looks_like_jsonl(head):
            yield from jsonl_chunks(limited(stream, quoted=False), chunk_rows, first_row)
        else:
            yield from _csv_chunks(limited(stream), chunk_rows, first_row)
    finally:
        if owned:
            handle.close()  # the caller's file object stays open


def _csv_chunks(stream: IO[bytes], chunk_rows: int, first_row: int) -> Iterator[tuple[list[str], list[RawRow]]]:
    # dtype=str and keep_default_na=False: cells stay exactly as written ("NA" is a region, "" is empty);
    # skip_blank_lines=False keeps row numbers equal to line numbers.
    try:
        reader = pd.read_csv(
            stream,
            chunksize=chunk_rows,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
        next_row = first_row
        for frame in reader:
            columns = [str(c) for c in frame.columns]
            # Column lists zipped into rows: several times faster than DataFrame.to_dict("records").
            values = [frame.iloc[:, index].tolist() for index in range(len(columns))]
            rows = [
                (next_row + offset, dict(zip(columns, cells, strict=True)))
                for offset, cells in enumerate(zip(*values, strict=True))
                if any(cells)
            ]
            next_row += len(frame)
            yield columns, rows
    except pd.errors.EmptyDataError as exc:
        raise ParseError("the file has no header row: expected a billing export") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"the file is not readable CSV (garbled or truncated): {exc}") from exc


def _parquet_chunks(
    source: str | Path | IO[bytes], chunk_rows: int, first_row: int, row_groups: tuple[int, ...] | None
) -> Iterator[tuple[list[str], list[RawRow]]]:
    try:
        parquet = pq.ParquetFile(source)
        parquet_check(parquet.metadata, row_groups)
        next_row = first_row
        for batch in parquet.iter_batches(batch_size=chunk_rows, row_groups=row_groups):
            cells_check(batch)
            rows = parquet_rows(parquet_text(batch), next_row)
            next_row += len(rows)
            yield sorted({key for _, cells in rows for key in cells}) or parquet.schema_arrow.names, rows
    except (pa.ArrowException, OSError) as exc:
        raise ParseError(f"the Parquet file is not readable (truncated or corrupt): {exc}") from exc


def looks_like_jsonl(head: bytes) -> bool:
    """Whether a file's first bytes (4 of a plain file, 64 inflated of a gzip one) open a JSON object."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parquet_rows(text: pa.RecordBatch, first_row: int) -> list[RawRow]:
    """The raw rows of a ``parquet_text`` batch, numbered from ``first_row`` (every record, none skipped)."""
    return [(first_row + offset, flatten(record)) for offset, record in enumerate(text.to_pylist())]


def parquet_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A Parquet batch with each scalar value as the text a CSV export would hold: the only form in which
    either path reads a Parquet cell, so both read the same cells (billing_columns.py).

    The text form, value by value: null → ``""``; text as it is; integers in decimal; floats (float32 widened
    to float64 first) integer-valued below 2**63 in decimal without ``.0`` (an account id 111111111111.0 reads
    ``111111111111``), others as their shortest round-trip decimal (Arrow's: ``0.00001``, ``1e+16``, ``nan``);
    booleans ``True``/``False``; decimals with their scale; dates ``YYYY-MM-DD``; timestamps ISO 8601 with a
    space, in UTC with ``Z`` when they have a time zone, naive ones as written (read as UTC), with the
    fraction of their unit. Struct fields get the same form inside the struct; lists, maps, binary and other
    types keep their values (the columnar path declines such files). Every number and timestamp reads back
    as the same value (``float(text)``, ``parse_timestamp(text)``), so records are those of the typed values;
    row digests (``Row.digest``) hash this text.
    """
    columns = [_column_text(column) for column in batch.columns]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _column_text(column: pa.Array) -> pa.Array:
    """One column in ``parquet_text``'s form, or the column itself when its type has no text form here."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _column_text(column.dictionary_decode())
    if pa.types.is_struct(kind):
        children = [_column_text(child) for child in column.flatten()]
        fields = [field.with_type(child.type) for field, child in zip(kind, children, strict=True)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=column.is_null())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        text = column if pa.types.is_string(kind) else pc.cast(column, pa.string())
    elif pa.types.is_boolean(kind):
        text = pc.if_else(column, "True", "False")
    elif pa.types.is_floating(kind):
        text = _float_text(pc.cast(column, pa.float64()))
    elif pa.types.is_timestamp(kind):
        # Arrow writes a zoned time in its own zone with an offset: in UTC it ends in Z.
        utc = column if kind.tz is None else pc.cast(column, pa.timestamp(kind.unit, "UTC"))
        text = pc.cast(utc, pa.string())
    elif pa.types.is_integer(kind) or pa.types.is_decimal(kind) or pa.types.is_date(kind):
        text = pc.cast(column, pa.string())
    else:
        return column
    return text.fill_null("")


def _float_text(column: pa.Array) -> pa.Array:
    """Floats as text: integer values below 2**63 as integers (exact: such a float is that integer), the
    rest as Arrow's shortest round-trip text."""
    whole = pc.and_(pc.equal(column, pc.trunc(column)), pc.less(pc.abs(column), 2.0**63)).fill_null(False)
    integers = pc.cast(pc.cast(pc.if_else(whole, column, 0.0), pa.int64()), pa.string())
    return pc.if_else(whole, integers, pc.cast(column, pa.string()))


def jsonl_chunks(stream: IO[bytes], chunk_rows: int, first_row: int = 2) -> Iterator[tuple[list[str], list[RawRow]]]:
    """The raw rows of newline-delimited JSON, ``chunk_rows`` at a time, each chunk with the union of its
    rows' column names; a line that is not a JSON object becomes a row holding ``__invalid_json__``. Records
    are numbered from ``first_row`` (a piece of a larger file, ingest/pieces.py, starts further down)."""
    for first, lines in jsonl_blocks(stream, chunk_rows, first_row):
        with gc_paused():
            chunk = flat_rows(json_records(first, lines))
        yield chunk


def jsonl_blocks(stream: IO[bytes], chunk_rows: int, first_row: int = 2) -> Iterator[tuple[int, list[str]]]:
    """The non-blank lines of newline-delimited JSON, ``chunk_rows`` at a time, each block with the row
    number of its first line (``json_records`` decodes them)."""
    # Read line by line rather than with pandas.read_json: it would guess types (dates, big integers) and
    # lose the record boundaries we number rows by.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig")
    next_row = first_row
    try:
        while lines := list(islice(filter(str.strip, text), chunk_rows)):
            yield next_row, lines
            next_row += len(lines)
    except UnicodeDecodeError as exc:
        raise ParseError(f"the file is not UTF-8 JSON lines (byte {exc.start})") from exc
    finally:
        text.detach()


def json_records(first_row: int, lines: list[str]) -> list[RawRow]:
    """JSON lines numbered from ``first_row``, each line's object as decoded (nested objects kept)."""
    return [(first_row + offset, _json_record(line)) for offset, line in enumerate(lines)]


def _json_record(line: str) -> dict[str, Any]:
    """A JSON line's object; ``__invalid_json__`` (with the reason) for a line that is not an object."""
    try:
        record = json_loads(line)
    except JsonTooDeepError as exc:
        return {"__invalid_json__": str(exc), "__raw__": line[:500]}
    except json.JSONDecodeError as exc:
        return {"__invalid_json__": f"{exc.msg} at column {exc.colno}", "__raw__": line[:500]}
    return record if isinstance(record, dict) else {"__invalid_json__": "not an object"}


def flat_rows(records: list[RawRow]) -> tuple[list[str], list[RawRow]]:
    """Decoded JSON records as raw rows (``flatten``), with the union of their column names, sorted."""
    rows = [(number, flatten(record)) for number, record in records]
    # JSON exports omit null fields, so the columns of a chunk are the union of its records' keys.
    return sorted(set().union(*(cells for _, cells in rows))), rows


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts flattened to dotted keys; lists and other values kept as they are."""
    flat: dict[str, Any] = {}
    _flatten_into(flat, record, prefix)
    return flat


def _flatten_into(flat: dict[str, Any], record: dict[str, Any], prefix: str) -> None:
    # Into one dict, keys in the order a recursive merge would insert them (once per line of a JSON export).
    for key, value in record.items():
        if isinstance(value, dict) and value and not is_map_column(prefix + key):
            _flatten_into(flat, value, f"{prefix}{key}.")
        else:
            flat[prefix + key] = value


def is_map_column(name: str) -> bool:
    # CUR 2.0 ``product`` / ``resource_tags`` / ``cost_category`` are maps: keep them whole so their keys are
    # not mistaken for columns (``product.region`` would shadow ``product_region`` after normalization).
    return name.lower() in {"product", "resource_tags", "resourcetags", "cost_category", "discount", "tags"}
