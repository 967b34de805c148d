"""The array half of storing billing lines read column-wise (``CloudUsageLines``), with numpy and Arrow.

The write is the domain's (``emissions.services.cloud_lines.cloud_usage_upsert_lines``: owners, estimates,
stored values, one ``COPY … (FORMAT binary)`` per block, written by ingest/copy_binary.py). The domain imports
no array library, so the package that reads lines column-wise (ingest/parsers/billing_columns.py) hands it
this work as ``ARROW_ARRAYS``. No Python runs per line here but the line digest's and line key's hashes, the
numbers' text for the digest and the cost's rounding.
"""

from __future__ import annotations

import uuid
from functools import cache
from hashlib import sha256

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

from emissions.models import CloudUsage, cloud_line_keys_raw
from emissions.records import CloudUsageLines
from emissions.services.cloud import COST_DECIMALS
from emissions.services.cloud_lines import LineArrays
from ingest.copy_binary import copy_binary, is_text
from ingest.float_round import round_like_python

# Columns with a value per line (the others have one per kind and quantity).
_PER_LINE = frozenset(
    (
        "line_item_key", "line_key", "billing_period", "usage_start", "usage_end", "usage_quantity", "cost",
        "resource_id", "row_digest", "source_row",
    )
)  # fmt: skip


def lines_pairs(lines: CloudUsageLines) -> tuple[np.ndarray, list[int], list[float]]:
    """Each line's index into the distinct (kind, quantity) pairs, and the pairs' kinds and quantities, in
    (kind, quantity) order. One integer per pair (kind × distinct quantities + quantity's rank): numpy sorts
    integers several times faster than (kind, quantity) records."""
    quantities, quantity_rank = np.unique(lines.usage_quantity, return_inverse=True)
    combined = lines.kind_index.astype(np.int64) * len(quantities) + quantity_rank.reshape(-1)
    distinct, index = np.unique(combined, return_inverse=True)
    kinds, ranks = np.divmod(distinct, len(quantities))
    return index.reshape(-1), kinds.tolist(), quantities[ranks].tolist()


def lines_keys_unique(lines: CloudUsageLines) -> bool:
    """Whether no two lines share (provider, billing period, line key): the unique key of stored lines."""
    keys = pa.array(lines.line_item_key, pa.string())
    if pc.count_distinct(keys).as_py() == len(keys):  # the usual case: no key repeats at all
        return True
    providers = pa.array([kind.provider for kind in lines.kinds], pa.string()).take(pa.array(lines.kind_index))
    periods = pa.array(lines.billing_period[1].astype(np.int64)).cast(pa.string())
    return pc.count_distinct(pc.binary_join_element_wise(providers, periods, keys, "\x1f")).as_py() == len(keys)


def lines_copy(
    lines: CloudUsageLines, stored: list[dict], pair_index: np.ndarray, pair_hex: list[str]
) -> tuple[list[str], bytes, str]:
    """The CloudUsage field names of the columns, the lines as a binary COPY payload of them in key order, and
    that format's name (``binary``)."""
    table = _table(lines, stored, pair_index, pair_hex)
    types = _column_types(tuple(table.column_names))
    # Fixed-width columns first: copy_binary lays them out as one block of bytes per line.
    order = sorted(range(len(types)), key=lambda at: is_text(types[at]))
    payload = copy_binary([(table.column(at), types[at]) for at in order])
    return [table.column_names[at] for at in order], payload, "binary"


ARROW_ARRAYS = LineArrays(pairs=lines_pairs, keys_unique=lines_keys_unique, copy_payload=lines_copy)

_UTC = pa.timestamp("us", "UTC")
# Arrow types of the pair columns' values (given in Python, one per pair), by PostgreSQL type.
_PAIR_TYPES = {"bigint": pa.int64(), "integer": pa.int64(), "double precision": pa.float64(), "boolean": pa.bool_()}


@cache
def _column_types(names: tuple[str, ...]) -> tuple[str, ...]:
    """The PostgreSQL type of each CloudUsage column (by field name), as the binary COPY writer names them."""
    fields = {field.attname: field for field in CloudUsage._meta.concrete_fields} | {
        field.name: field for field in CloudUsage._meta.concrete_fields
    }
    return tuple(str(fields[name].db_type(connection)) for name in names)


def _pair_column(values: list, pg_type: str) -> pa.Array:
    """One value per pair as an Arrow array of the column's type (UUIDs as 16 bytes, text as strings)."""
    if pg_type == "uuid":
        return pa.array([None if value is None else uuid.UUID(str(value)).bytes for value in values], pa.binary(16))
    return pa.array(values, _PAIR_TYPES.get(pg_type, pa.string()))


def _hex_array(raw: bytes, width: int) -> pa.Array:
    """Values of ``width`` bytes each, given end to end, as an Arrow array of their lower-case hex digits."""
    count = len(raw) // width
    offsets = np.arange(0, 2 * width * (count + 1), 2 * width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(raw.hex().encode())])


def _spread(values_index: tuple[tuple, np.ndarray], arrow_type: pa.DataType) -> tuple[pa.Array, pa.Array]:
    """Each line's date or time, given as distinct values and an index per line: in ISO 8601 (as line digests
    write it) and as an Arrow array of ``arrow_type`` (an aware time converted to UTC, a naive one taken as
    UTC, as the database session is)."""
    values, index = values_index
    spread = pa.array(index)
    return pa.array([value.isoformat() for value in values], pa.string()).take(spread), pa.array(
        values, arrow_type
    ).take(spread)


def _digests(lines: CloudUsageLines, texts: dict[str, pa.Array]) -> pa.Array:
    """``line_digest`` of every line (``texts``: the kind digest, key, month, start, end and resource of each
    line as text): its text joined column-wise, hashed per line."""
    text = pc.binary_join_element_wise(
        *(texts[name] for name in ("kind", "line_item_key", "billing_period", "usage_start", "usage_end")),
        _reprs(lines.usage_quantity),
        _reprs(lines.cost),
        texts["resource_id"],
        "|",
    )
    return _hex_array(b"".join([sha256(line).digest() for line in text.cast(pa.binary()).to_pylist()]), 32)


def _reprs(values: np.ndarray) -> pa.Array:
    """``repr`` of each float64, as an Arrow string array: written once per distinct value (by bit pattern, so
    ``-0.0`` and ``0.0`` stay apart), a block's quantities and costs repeat."""
    bits, index = np.unique(np.ascontiguousarray(values, dtype=np.float64).view(np.int64), return_inverse=True)
    texts = pa.array(list(map(repr, bits.view(np.float64).tolist())), pa.string())
    return texts.take(pa.array(index.reshape(-1)))


def _table(lines: CloudUsageLines, stored: list[dict], pair_index: np.ndarray, pair_hex: list[str]) -> pa.Table:
    """The lines as an Arrow table of CloudUsage columns (field names) in their types, in the unique key's order
    (emissions.services.cloud._unique_order: chunks lock shared keys in one order). The order is worked out
    first, so that each column is taken once, straight into it."""
    spread = pa.array(pair_index)  # each line's pair, in file order
    names = [name for name in stored[0] if name not in _PER_LINE]
    types = dict(zip(names, _column_types(tuple(names)), strict=True))
    pair_columns = {name: _pair_column([pair[name] for pair in stored], types[name]) for name in names}
    texts = {
        "kind": pa.array(pair_hex, pa.string()).take(spread),
        "line_item_key": pa.array(lines.line_item_key, pa.string()),
        "resource_id": pa.array(lines.resource_id, pa.string()),
    }
    typed = {}
    for name, arrow_type in (("billing_period", pa.date32()), ("usage_start", _UTC), ("usage_end", _UTC)):
        texts[name], typed[name] = _spread(getattr(lines, name), arrow_type)
    # 16 bytes per line, end to end: the uuid column's binary form, and a sort key in the order of its hex digits.
    key_raw = pa.py_buffer(cloud_line_keys_raw(lines.line_item_key))
    line_key = pa.Array.from_buffers(pa.binary(16), len(lines), [None, key_raw])
    per_line = {
        "line_item_key": texts["line_item_key"],
        **typed,
        "resource_id": texts["resource_id"],
        "usage_quantity": pa.array(lines.usage_quantity, pa.float64()),
        "cost": pa.array(round_like_python(lines.cost, COST_DECIMALS), pa.float64()),
        "row_digest": _digests(lines, texts),
        "source_row": pa.array(lines.row_number, pa.int64()),
        "line_key": line_key,
    }
    order = pc.sort_indices(
        pa.table(
            [texts["billing_period"], line_key.cast(pa.binary()), pair_columns["provider"].take(spread)],
            ["m", "k", "p"],
        ),
        sort_keys=[("m", "ascending"), ("k", "ascending"), ("p", "ascending")],
    )
    pairs_in_order = pa.array(pair_index[order.to_numpy()])
    columns = {name: values.take(pairs_in_order) for name, values in pair_columns.items()}
    return pa.table(columns | {name: values.take(order) for name, values in per_line.items()})
