"""PostgreSQL's binary ``COPY`` format written column-wise from Arrow arrays, with numpy: no Python per line.

PostgreSQL takes a value in binary without parsing its text: a billing line table's typed columns cost its
``COPY`` about a sixth less CPU this way (README, billing benchmark). pgpq writes this format from Arrow, but
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
_NULL = b"\xff\xff\xff\xff"
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
    """
    count = len(columns[0][0])
    if not count:
        return SIGNATURE + TRAILER
    cells = [_cells(values, pg_type) for values, pg_type in columns]
    field_count = pa.scalar(len(columns).to_bytes(2, "big"), pa.binary())
    rows = pc.binary_join_element_wise(field_count, *cells, b"")
    offsets = np.frombuffer(rows.buffers()[1], np.int32, count + 1, rows.offset * 4)
    return SIGNATURE + memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]].tobytes() + TRAILER


def _cells(values: pa.Array, pg_type: str) -> pa.Array:
    """Each value of ``values`` as a binary field: its length and its bytes, or the NULL marker."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    valid = None if values.null_count == 0 else values.is_valid().to_numpy(zero_copy_only=False)
    if pg_type in ("text", "jsonb") or pg_type.startswith(("varchar", "character varying")):
        return _text_cells(values, jsonb=pg_type == "jsonb")
    if pg_type.startswith("numeric"):
        if not pg_type.endswith(f", {_NUMERIC_SCALE})"):
            raise ValueError(f"binary COPY writes numeric with {_NUMERIC_SCALE} decimals only, not {pg_type!r}")
        return _fixed_cells(_numeric_bytes(values), valid)
    if pg_type == "uuid":
        width = 16
        filled = values.fill_null(pa.scalar(bytes(width), values.type)) if valid is not None else values
        matrix = np.frombuffer(filled.buffers()[1], np.uint8, len(filled) * width, filled.offset * width)
        return _fixed_cells(matrix.reshape(-1, width), valid)
    big_endian = {"bigint": ">i8", "integer": ">i4", "double precision": ">f8", "boolean": "u1"}
    if pg_type == "date":
        numbers = _numbers(values.cast(pa.int32()), np.int32) - (_EPOCH_DATE - date(1970, 1, 1)).days
        return _fixed_cells(_matrix(numbers, ">i4"), valid)
    if pg_type == "timestamp with time zone":
        offset = (_EPOCH_TIME - datetime(1970, 1, 1, tzinfo=UTC)) // _MICROSECOND
        numbers = _numbers(values.cast(pa.timestamp("us", "UTC")).cast(pa.int64()), np.int64) - offset
        return _fixed_cells(_matrix(numbers, ">i8"), valid)
    if pg_type not in big_endian:
        raise ValueError(f"no binary COPY writer for the PostgreSQL type {pg_type!r}")
    numpy_type = {"bigint": np.int64, "integer": np.int32, "double precision": np.float64, "boolean": np.uint8}
    numbers = _numbers(values, numpy_type[pg_type])
    return _fixed_cells(_matrix(numbers, big_endian[pg_type]), valid)


def _numbers(values: pa.Array, numpy_type) -> np.ndarray:
    """``values`` as a numpy array, nulls as zero (their cells are written as NULL)."""
    if values.null_count:
        values = values.fill_null(pa.scalar(0, values.type) if not pa.types.is_boolean(values.type) else False)
    return values.to_numpy(zero_copy_only=False).astype(numpy_type, copy=False)


def _matrix(numbers: np.ndarray, big_endian: str) -> np.ndarray:
    """One row of bytes per value: ``numbers`` in the big-endian type ``big_endian``."""
    converted = numbers.astype(big_endian)
    return converted.view(np.uint8).reshape(len(numbers), converted.itemsize)


def _fixed_cells(matrix: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """Binary fields of fixed-width values (a row of bytes each), NULL where ``valid`` is False."""
    count, width = matrix.shape
    cells = np.empty((count, 4 + width), np.uint8)
    cells[:, :4] = np.frombuffer(width.to_bytes(4, "big"), np.uint8)
    cells[:, 4:] = matrix
    if valid is None:
        offsets = np.arange(count + 1, dtype=np.int32) * (4 + width)
        data = cells.reshape(-1)
    else:
        cells[~valid, :4] = 0xFF
        keep = np.ones(cells.shape, bool)
        keep[~valid, 4:] = False
        data = cells[keep]
        offsets = np.zeros(count + 1, np.int32)
        np.cumsum(np.where(valid, 4 + width, 4), out=offsets[1:])
    return pa.Array.from_buffers(pa.binary(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _text_cells(values: pa.Array, *, jsonb: bool) -> pa.Array:
    """Binary fields of text (UTF-8, as sent) or jsonb (a version byte, 1, before the JSON text)."""
    as_binary = values.cast(pa.binary())
    lengths = _numbers(pc.binary_length(as_binary), np.int32) + (1 if jsonb else 0)
    prefix = _matrix(lengths, ">i4")
    if jsonb:
        prefix = np.hstack([prefix, np.ones((len(lengths), 1), np.uint8)])
    count, width = prefix.shape
    offsets = np.arange(count + 1, dtype=np.int32) * width
    heads = pa.Array.from_buffers(pa.binary(), count, [None, pa.py_buffer(offsets), pa.py_buffer(prefix.copy())])
    joined = pc.binary_join_element_wise(heads, as_binary, b"")
    return joined.fill_null(_NULL) if values.null_count else joined


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
