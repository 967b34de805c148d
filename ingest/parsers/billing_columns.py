"""The columnar path of a billing export (``read_lines``): CSV, plain or gzip, read here with Arrow; flat
Parquet and JSON lines by billing_columns_typed.py; each batch turned into ``CloudUsageLines`` by the
column-wise core (billing_columns_core.py), or into row items where a batch is not clean.

tests/ingest/test_billing_columns.py and test_billing_columns_typed.py check both paths give equal records
on every sample file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyarrow as pa
import pyarrow.csv as pa_csv

from emissions.records import CloudUsageLines
from ingest.parsers.billing_columns_core import ColumnarUnavailable, batch_lines, text_stream
from ingest.parsers.billing_columns_typed import jsonl_lines, parquet_lines
from ingest.parsers.billing_read import looks_like_jsonl
from ingest.parsers.billing_rows import (
    Dialect,
    LineFields,
    Schema,
    build_chunk,
    check_header,
)
from ingest.parsers.input_limits import BoundedRecords
from ingest.records import ParsedRow, RowIssue

# About 10,000 CUR lines per block: large enough for Arrow to pay off, small enough for flat memory.
BLOCK_BYTES = 4 << 20


def read_lines(
    dialect: Dialect, fields: LineFields, stream: IO[bytes], *, first_row: int = 2, row_groups: tuple[int, ...] = ()
) -> Iterator[CloudUsageLines | list[ParsedRow | RowIssue]]:
    """Stream a billing export (CSV plain or gzip, flat Parquet, JSON lines where the dialect allows them)
    as ``CloudUsageLines``, or row items for a batch that is not clean.

    Raises ColumnarUnavailable when the bytes are not a file read here (nested Parquet, JSON lines of a
    dialect without them, a ragged or garbled CSV), possibly after some batches: the caller discards them
    and reads the file row by row. Raises ParseError, as the row path does, when the header lacks a
    required field or a gzip stream inflates past ``DEFAULT_MAX_DECOMPRESSED_BYTES``. ``first_row`` and
    ``row_groups`` place a piece of a larger file.
    """
    gzipped = stream.read(2) == b"\x1f\x8b"
    head = text_stream(stream, gzipped).read(64)
    if head[:4] == b"PAR1" and not gzipped:
        yield from parquet_lines(dialect, fields, stream, first_row, row_groups)
        return
    # The row path looks at 4 bytes of a plain file, 64 of an inflated one: the same bytes decide here.
    jsonl = looks_like_jsonl(head if gzipped else head[:4])
    if jsonl and dialect.allow_jsonl:
        yield from jsonl_lines(dialect, fields, stream, gzipped, first_row)
        return
    if head[:4] == b"PAR1" or jsonl:
        raise ColumnarUnavailable("not CSV")
    try:
        # The header first (Arrow needs the column names to read every column as text), then the file.
        header_stream = text_stream(stream, gzipped)
        names = pa_csv.open_csv(header_stream, read_options=pa_csv.ReadOptions(block_size=1 << 20)).schema.names
        if len(set(names)) != len(names):
            raise ColumnarUnavailable("repeated column names")
        # A piece whose records the split measured is read in place (no Python between Arrow and the bytes),
        # and ASCII needs no UTF-8 check.
        measured = stream if isinstance(stream, BoundedRecords) and not gzipped else None
        reader = pa_csv.open_csv(
            pa.BufferReader(measured.data) if measured else text_stream(stream, gzipped),
            # One thread: the other core is busy with PostgreSQL or another worker; read-ahead only costs memory.
            read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            # Every column as text, empty cells as "": the cells the row path sees.
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                check_utf8=not (measured and measured.ascii),
            ),
        )
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise ColumnarUnavailable(str(exc)) from exc
    check_header(dialect, names)
    schema = Schema(tuple(names), dialect.aliases)
    next_row = first_row
    kind_cache: dict = {}  # the kinds built so far, for every block of the file (kind_records)
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            # Arrow's allocator is not made to hand freed pages back here (release_unused): a worker's next
            # piece reuses them, and the allocator returns what stays unused on its own.
            return
        except (pa.ArrowException, ValueError) as exc:
            raise ColumnarUnavailable(str(exc)) from exc
        lines = batch_lines(dialect, fields, schema, batch, next_row, kind_cache=kind_cache)
        yield lines if lines is not None else build_chunk(dialect, _raw_rows(batch, next_row))
        next_row += batch.num_rows


def dialect_lines(
    dialect: Dialect, stream: IO[bytes], *, first_row: int = 2, row_groups: tuple[int, ...] = ()
) -> Iterator[CloudUsageLines | list[ParsedRow | RowIssue]]:
    """The columnar path of a dialect (a dialect module's ``read_lines``): ``read_lines`` with its LineFields.

    Raises ColumnarUnavailable at once for a dialect read row by row (no ``line_fields``). ``row_groups``:
    only those row groups of a Parquet file (a piece of a larger one).
    """
    if dialect.line_fields is None:
        raise ColumnarUnavailable(f"{dialect.name} is read row by row")
    return read_lines(dialect, dialect.line_fields, stream, first_row=first_row, row_groups=row_groups)


def _raw_rows(batch: pa.RecordBatch, first_row: int) -> list[tuple[int, dict[str, str]]]:
    """The batch as the row path's raw rows (blank lines skipped, their numbers kept)."""
    names = batch.schema.names
    columns = [column.to_pylist() for column in batch.columns]
    return [
        (first_row + offset, dict(zip(names, cells, strict=True)))
        for offset, cells in enumerate(zip(*columns, strict=True))
        if any(cells)
    ]
