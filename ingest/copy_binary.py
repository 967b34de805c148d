"""PostgreSQL's binary ``COPY`` format written column-wise from Arrow arrays, with numpy: no Python per line.

PostgreSQL takes a value in binary without parsing its text: a billing line table's typed columns cost its
``COPY`` about a sixth less CPU this way (docs/billing-benchmark-history.md). pgpq writes this format from Arrow, but
it is not among the packages this project can install offline, so the few types of a billing line are written
here. Each value is the one PostgreSQL would store from the text Arrow's CSV writer gives for it (tested
value by value against a CSV ``COPY`` of the same columns in tests/ingest/test_copy_binary.py).

The format (PostgreSQL documentation, "COPY", binary format): a signature and two 32-bit fields, then per row
a 16-bit field count and per field a 32-bit length (-1 for NULL) followed by the value in the type's ``send``
format, big-endian; a 16-bit -1 ends the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # no flags, no header extension
TRAILER = b"\xff\xff"
_EPOCH_DATE = date(2000, 1, 1)  # PostgreSQL's epoch for dates and timestamps
_EPOCH_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A cost in numeric(22, 10) is sent as six base-10000 digits: three of the integer part (below 10**12, the
# type's limit), three of the ten decimals (padded to twelve). PostgreSQL rounds the text of a float (its
# shortest form) to ten decimals, half away from zero. Below 10**5, that text times 10**10 lies within 0.14
# of the float times 10**10 as numpy computes it (under 2**53: half a unit in the last place of each), so
# where the product is within 0.35 of an integer, that integer is the stored value; the rest (near a tie,
# large or not finite; never a cost rounded to ten decimals below 10**5) is worked out from the text.
_NUMERIC_FAST_BELOW = 1e5
_NUMERIC_FAST_MARGIN = 0.35
_NUMERIC_SCALE = 10


def copy_binary(columns: Sequence[tuple[pa.Array, str]]) -> bytes:
    """The ``COPY … (FORMAT binary)`` payload of equal-length ``columns``, each an Arrow array and the
    PostgreSQL type of its column (``bigint``, ``integer``, ``double precision``, ``boolean``, ``date``,
    ``timestamp with time zone``, ``uuid``, ``jsonb``, ``numeric(…, 10)``, ``varchar(…)`` or ``text``).

    Arrays: integers, floats and booleans as such; dates as ``date32``; timestamps as ``timestamp("us",
    "UTC")``; UUIDs as 16-byte ``fixed_size_binary``; JSON and text as strings; numeric as ``float64``.
    Every byte but a text's is laid out in numpy, one block of bytes per line between two texts; Arrow then
    joins each line's blocks and texts, once. Fixed-width columns put first make a single block.
    """
    count = len(columns[0][0])
    if not count:
        return SIGNATURE + TRAILER
    field_count = np.broadcast_to(np.frombuffer(len(columns).to_bytes(2, "big"), np.uint8), (count, 2))
    block: list[_Piece] = [(None, field_count, None)]
    parts = []  # each line's blocks and texts, in order
    for values, pg_type in columns:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        nulls = None if values.null_count == 0 else ~values.is_valid().to_numpy(zero_copy_only=False)
        if is_text(pg_type):
            as_binary = values.cast(pa.binary())
            lengths = _numbers(pc.binary_length(as_binary), np.int32)
            if pg_type == "jsonb":  # the text follows a version byte, 1
                as_binary, lengths = pc.binary_join_element_wise(b"\x01", as_binary, b""), lengths + 1
            block.append((_matrix(lengths, ">i4"), None, nulls))
            parts += [_block(block, count), as_binary if nulls is None else as_binary.fill_null(b"")]
            block = []
        else:
            value_bytes = _fixed_bytes(values, pg_type)
            # One length for every line: a broadcast view, not an array per line.
            length = np.broadcast_to(np.frombuffer(value_bytes.shape[1].to_bytes(4, "big"), np.uint8), (count, 4))
            if nulls is None:
                block.append((length, value_bytes, None))
            else:  # the values of the lines that have one, joined after the block (taking whole rows is fast)
                block.append((length, None, nulls))
                parts += [_block(block, count), _rows_binary(value_bytes, ~nulls)]
                block = []
    if block:
        parts.append(_block(block, count))
    rows = pc.binary_join_element_wise(*parts, b"") if len(parts) > 1 else parts[0]
    offsets = np.frombuffer(rows.buffers()[1], np.int32, count + 1, rows.offset * 4)
    return b"".join((SIGNATURE, memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]], TRAILER))


def is_text(pg_type: str) -> bool:
    """Whether ``copy_binary`` writes a column of this type as text (variable width) rather than fixed width."""
    return pg_type in ("text", "jsonb") or pg_type.startswith(("varchar", "character varying"))


# Part of a block: a field's length bytes (None for the line's field count), the bytes after them (None when
# they are joined after the block), and the lines where the field is NULL (its length becomes -1), or None.
_Piece = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]


def _block(pieces: list[_Piece], count: int) -> pa.Array:
    """Consecutive fields' bytes per line as one binary array, laid out in one numpy matrix."""
    widths = [(0 if length is None else 4) + (0 if after is None else after.shape[1]) for length, after, _ in pieces]
    matrix = np.empty((count, sum(widths)), np.uint8)
    at = 0
    for (length, after, nulls), width in zip(pieces, widths, strict=True):
        if length is not None:
            matrix[:, at : at + 4] = length
            if nulls is not None:
                matrix[nulls, at : at + 4] = 0xFF
        if after is not None:
            matrix[:, at + width - after.shape[1] : at + width] = after
        at += width
    return _rows_binary(matrix, None)


def _rows_binary(matrix: np.ndarray, rows: np.ndarray | None) -> pa.Array:
    """Each row of a byte matrix as a binary value; with ``rows`` (a mask), the rows left out are empty."""
    count, width = matrix.shape
    if rows is None:
        data, offsets = matrix.reshape(-1), np.arange(count + 1, dtype=np.int32) * width
    else:
        data, offsets = matrix[rows].reshape(-1), np.zeros(count + 1, np.int32)
        np.cumsum(rows * np.int32(width), out=offsets[1:])
    return pa.Array.from_buffers(pa.binary(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _fixed_bytes(values: pa.Array, pg_type: str) -> np.ndarray:
    """The values of a fixed-width column in the type's binary form, a row of bytes each (NULLs as zeros)."""
    if pg_type.startswith("numeric"):
        if not pg_type.endswith(f", {_NUMERIC_SCALE})"):
            raise ValueError(f"binary COPY writes numeric with {_NUMERIC_SCALE} decimals only, not {pg_type!r}")
        return _numeric_bytes(values)
    if pg_type == "uuid":
        width = 16
        filled = values.fill_null(pa.scalar(bytes(width), values.type)) if values.null_count else values
        return np.frombuffer(filled.buffers()[1], np.uint8, len(filled) * width, filled.offset * width).reshape(
            -1, width
        )
    if pg_type == "date":
        numbers = _numbers(values.cast(pa.int32()), np.int32) - (_EPOCH_DATE - date(1970, 1, 1)).days
        return _matrix(numbers, ">i4")
    if pg_type == "timestamp with time zone":
        offset = (_EPOCH_TIME - datetime(1970, 1, 1, tzinfo=UTC)) // _MICROSECOND
        return _matrix(_numbers(values.cast(pa.timestamp("us", "UTC")).cast(pa.int64()), np.int64) - offset, ">i8")
    big_endian = {"bigint": ">i8", "integer": ">i4", "double precision": ">f8", "boolean": "u1"}
    if pg_type not in big_endian:
        raise ValueError(f"no binary COPY writer for the PostgreSQL type {pg_type!r}")
    if pg_type == "integer":  # numpy would wrap a value out of range silently; PostgreSQL refuses its text
        extremes = pc.min_max(values)
        low, high = extremes["min"].as_py(), extremes["max"].as_py()
        if low is not None and not -(2**31) <= low <= high < 2**31:
            raise ValueError(f"a value out of the range of a PostgreSQL integer: {low if low < 0 else high}")
    numpy_type = {"bigint": np.int64, "integer": np.int32, "double precision": np.float64, "boolean": np.uint8}
    return _matrix(_numbers(values, numpy_type[pg_type]), big_endian[pg_type])


def _numbers(values: pa.Array, numpy_type) -> np.ndarray:
    """``values`` as a numpy array, nulls as zero (their fields are written as NULL)."""
    if values.null_count:
        values = values.fill_null(pa.scalar(0, values.type) if not pa.types.is_boolean(values.type) else False)
    return values.to_numpy(zero_copy_only=False).astype(numpy_type, copy=False)


def _matrix(numbers: np.ndarray, big_endian: str) -> np.ndarray:
    """One row of bytes per value: ``numbers`` in the big-endian type ``big_endian``."""
    converted = numbers.astype(big_endian)
    return converted.view(np.uint8).reshape(len(numbers), converted.itemsize)


def _numeric_bytes(values: pa.Array) -> np.ndarray:
    """numeric(…, 10) in binary: ndigits 6, weight 2, sign, dscale 10, six base-10000 digits, per value."""
    floats = _numbers(values, np.float64)
    count = len(floats)
    fast = np.isfinite(floats) & (np.abs(floats) < _NUMERIC_FAST_BELOW)
    product = np.where(fast, np.abs(floats), 0.0) * 10**_NUMERIC_SCALE
    nearest = np.rint(product)
    fast &= np.abs(product - nearest) < _NUMERIC_FAST_MARGIN
    scaled = np.where(fast, nearest, 0.0).astype(np.int64)
    whole, fraction = np.divmod(scaled, 10**_NUMERIC_SCALE)
    sign = np.where(np.signbit(floats) & (scaled != 0), 0x4000, 0)
    for at in np.flatnonzero(~fast):  # rare: near a tie, large or not finite
        whole[at], fraction[at], sign[at] = _numeric_slow(float(floats[at]))
    fraction = fraction * 100  # ten decimals padded to twelve: three whole base-10000 digits
    digits = [whole // 10**8, whole // 10**4 % 10**4, whole % 10**4]
    digits += [fraction // 10**8, fraction // 10**4 % 10**4, fraction % 10**4]
    header = np.array([6, 2, 0, _NUMERIC_SCALE], np.int64)
    words = np.empty((count, 10), np.int64)
    words[:] = np.concatenate([header, np.zeros(6, np.int64)])
    words[:, 2] = sign
    words[:, 4:] = np.stack(digits, axis=1)  # NaN and infinities too: PostgreSQL reads, then ignores them
    return _matrix(words.reshape(-1), ">u2").reshape(count, 20)


def _numeric_slow(value: float) -> tuple[int, int, int]:
    """(whole part, ten decimals, sign word) of a float's shortest text rounded to ten decimals, half away
    from zero, as PostgreSQL reads it; a NaN as its sign word. An integer part of 10**12 or more gives
    a digit PostgreSQL refuses (above 32767, read as a negative digit): the text would overflow the column."""
    if math.isnan(value):
        return 0, 0, 0xC000
    if math.isinf(value):
        return 0, 0, 0xD000 if value > 0 else 0xF000  # refused by the column's precision, as the text is
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-_NUMERIC_SCALE), ROUND_HALF_UP)
    scaled = int(abs(exact).scaleb(_NUMERIC_SCALE))
    whole, fraction = divmod(scaled, 10**_NUMERIC_SCALE)
    return min(whole, 6 * 10**12), fraction, 0x4000 if exact < 0 else 0
