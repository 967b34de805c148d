"""Resource bounds on import files: what a small hostile file could otherwise inflate into.

Every bound answers with a ``ParseError`` that names it, so the batch fails with a reason instead of the
worker holding gigabytes. The figures are chosen far above what real exports hold (the largest CUR, FOCUS
or GCP row we have seen is under 100 KB; model-card front matter is a few KB) and documented in
docs/import-formats.md; the memory test (tests/ingest/test_hostile_memory.py) measures what they guarantee.

- ``MAX_RECORD_BYTES``: one CSV record (quoted line breaks included) or one JSON line, after inflating.
- ``MAX_PARQUET_COLUMN_CHUNK_BYTES``: one column of one row group, uncompressed, as the file's footer
  declares it; ``MAX_CELL_BYTES`` checks each text cell again once Arrow has read a batch, before it
  becomes Python objects (a footer can understate).
- ``MAX_WHOLE_FILE_BYTES``: formats parsed from memory (tracker files, reference tables, model cards), not
  streamed like billing exports.
- ``MAX_YAML_BYTES``: a model card's front matter; YAML anchors and aliases are refused outright (a
  468-byte "billion laughs" card expands to hundreds of MB).
"""

from __future__ import annotations

import functools
import io
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from ingest.records import ParseError

MIB = 1024 * 1024
MAX_RECORD_BYTES = 4 * MIB
MAX_CELL_BYTES = 4 * MIB
MAX_PARQUET_COLUMN_CHUNK_BYTES = 64 * MIB
MAX_WHOLE_FILE_BYTES = 64 * MIB
MAX_YAML_BYTES = 1 * MIB


class RecordLimiter(io.RawIOBase):
    """Passes ``inner``'s bytes through, raising ParseError once one record runs past ``limit`` bytes.

    A record ends at a line break outside double quotes (RFC 4180: a doubled ``""`` inside a quoted cell
    keeps the parity, so counting quotes tells inside from outside). With ``quoted=False`` (JSON lines,
    whose strings escape quotes with a backslash) every line break ends a record.
    """

    def __init__(self, inner: IO[bytes], limit: int = MAX_RECORD_BYTES, *, quoted: bool = True):
        self._inner = inner
        self._limit = limit
        self._quoted = quoted
        self._inside = False  # inside a quoted cell at the end of what was read so far
        self._open = 0  # bytes of the record still open
        self._offset = 0  # bytes read so far, for the message

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        # Reads never exceed the limit, so a record over it always spans two reads and is seen.
        data = self._inner.read(min(len(buffer), self._limit))
        self._account(data)
        buffer[: len(data)] = data
        return len(data)

    def _account(self, data: bytes) -> None:
        first = self._boundary(data, forward=True)
        inside_at_end = self._inside ^ (self._quoted and bool(data.count(b'"') % 2))
        self._offset += len(data)
        if first < 0:
            self._open += len(data)
        else:
            if self._open + first + 1 > self._limit:  # the record open before this read ends at ``first``
                self._refuse()
            self._open = len(data) - self._boundary(data, forward=False, inside_at_end=inside_at_end) - 1
        self._inside = inside_at_end
        if self._open > self._limit:
            self._refuse()

    def _boundary(self, data: bytes, *, forward: bool, inside_at_end: bool = False) -> int:
        """The first (or last) line break of ``data`` outside quotes, -1 when there is none.

        Usually the first line break looked at; only a quoted cell spanning lines makes this walk further."""
        inside, start, end = (self._inside if forward else inside_at_end), 0, len(data)
        while (position := data.find(b"\n", start, end) if forward else data.rfind(b"\n", start, end)) >= 0:
            if self._quoted:
                between = data.count(b'"', start, position) if forward else data.count(b'"', position + 1, end)
                inside ^= bool(between % 2)
            if not inside:
                return position
            start, end = (position + 1, end) if forward else (start, position)
        return -1

    def _refuse(self):
        raise ParseError(
            f"a record longer than {self._limit:,} bytes within the first {self._offset:,} bytes of the file: "
            "no export of this kind has such rows; refusing to read it"
        )


class BoundedRecords(io.BytesIO):
    """A file's bytes in memory (a piece of an export) whose records were all measured within
    MAX_RECORD_BYTES when the file was split (ingest/pieces.py): ``limited`` passes it through, and Arrow
    reads ``data`` in place, with no Python between."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.data = data

    @functools.cached_property
    def ascii(self) -> bool:
        """Every byte is ASCII, so the text needs no UTF-8 check (worked out only for a reader that asks)."""
        return self.data.isascii()


def limited(stream: IO[bytes], *, quoted: bool = True) -> IO[bytes]:
    """``stream`` read through a RecordLimiter, buffered; ``BoundedRecords`` as it is."""
    if isinstance(stream, BoundedRecords):
        return stream
    return io.BufferedReader(RecordLimiter(stream, quoted=quoted))


def parquet_check(metadata, row_groups: tuple[int, ...] | list[int] | None = None) -> None:
    """Refuse a Parquet file whose footer declares a column chunk over MAX_PARQUET_COLUMN_CHUNK_BYTES."""
    for group in row_groups or range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            if column.total_uncompressed_size > MAX_PARQUET_COLUMN_CHUNK_BYTES:
                raise ParseError(
                    f"Parquet column {column.path_in_schema!r} holds {column.total_uncompressed_size:,} bytes "
                    f"uncompressed in row group {group}; the limit is {MAX_PARQUET_COLUMN_CHUNK_BYTES:,} per "
                    "column and row group: write the file with smaller row groups"
                )


def cells_check(batch: pa.RecordBatch) -> None:
    """Refuse a batch with a text or binary cell over MAX_CELL_BYTES, before it becomes Python objects.

    Cells inside structs, lists and maps (CUR 2.0's ``resource_tags``) are looked at too."""
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        longest = _longest_cell(column)
        if longest > MAX_CELL_BYTES:
            raise ParseError(f"column {name!r} has a cell of {longest:,} bytes; the limit is {MAX_CELL_BYTES:,}")


def _longest_cell(column: pa.Array) -> int:
    kind = column.type
    if pa.types.is_struct(kind):
        return max((_longest_cell(column.field(i)) for i in range(kind.num_fields)), default=0)
    if pa.types.is_map(kind):
        return max(_longest_cell(column.keys), _longest_cell(column.items))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _longest_cell(column.flatten())
    text_or_bytes = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)
    if len(column) and any(is_kind(kind) for is_kind in text_or_bytes):
        return pc.max(pc.binary_length(column)).as_py() or 0
    return 0


def whole_file_check(size_bytes: int, source: str) -> None:
    """Refuse a file of a format parsed from memory when it is over MAX_WHOLE_FILE_BYTES."""
    if size_bytes > MAX_WHOLE_FILE_BYTES:
        raise ParseError(
            f"the file is {size_bytes:,} bytes; {source} files are read whole and the limit is "
            f"{MAX_WHOLE_FILE_BYTES:,} bytes: split it into several files"
        )


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors' aliases: an alias is where a "billion laughs" file expands."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not accepted", mark)
        return super().compose_node(parent, index)


def yaml_load(text: str):
    """The YAML document ``text``, refused (ParseError) over MAX_YAML_BYTES; aliases raise ``yaml.YAMLError``."""
    size = len(text.encode())
    if size > MAX_YAML_BYTES:
        raise ParseError(f"the YAML front matter is {size:,} bytes; the limit is {MAX_YAML_BYTES:,}")
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
