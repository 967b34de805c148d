"""The array half of storing billing lines read column-wise (``CloudUsageLines``), with numpy and Arrow.

The write is the domain's (``emissions.services.cloud_lines.cloud_usage_upsert_lines``: owners, estimates,
stored values, one ``COPY … (FORMAT csv)`` per block). The domain imports no array library, so the package
that reads lines column-wise (ingest/parsers/billing_columns.py) hands it this work as ``ARROW_ARRAYS``.
No Python runs per line here but the line digest's hash, its numbers' text and the cost's rounding.
"""

from __future__ import annotations

import io
from hashlib import sha256

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from emissions.models import cloud_line_key_hex
from emissions.records import CloudUsageLines
from emissions.services.cloud import COST_DECIMALS
from emissions.services.cloud_lines import LineArrays

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


def lines_copy_csv(
    lines: CloudUsageLines, stored: list[dict], pair_index: np.ndarray, pair_hex: list[str]
) -> tuple[list[str], bytes]:
    """The CloudUsage field names of the columns, and the lines as headerless CSV rows of them, in key order."""
    table = _table(lines, stored, pair_index, pair_hex)
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    return table.column_names, buffer.getvalue()


ARROW_ARRAYS = LineArrays(pairs=lines_pairs, keys_unique=lines_keys_unique, copy_csv=lines_copy_csv)


def _text(values_index: tuple[tuple, np.ndarray]) -> pa.Array:
    """Each line's value (given as distinct values and an index per line) in ISO 8601, as line digests write it."""
    values, index = values_index
    return pa.array([value.isoformat() for value in values], pa.string()).take(pa.array(index))


def _digests(lines: CloudUsageLines, texts: dict[str, pa.Array]) -> pa.Array:
    """``line_digest`` of every line (``texts``: the kind digest, key, month, start, end and resource of each
    line as text): its text joined column-wise, hashed per line."""
    text = pc.binary_join_element_wise(
        *(texts[name] for name in ("kind", "line_item_key", "billing_period", "usage_start", "usage_end")),
        pa.array(list(map(repr, lines.usage_quantity.tolist())), pa.string()),
        pa.array(list(map(repr, lines.cost.tolist())), pa.string()),
        texts["resource_id"],
        "|",
    )
    return pa.array([sha256(line).hexdigest() for line in text.cast(pa.binary()).to_pylist()], pa.string())


def _table(lines: CloudUsageLines, stored: list[dict], pair_index: np.ndarray, pair_hex: list[str]) -> pa.Table:
    """The lines as an Arrow table of CloudUsage columns (field names), in the unique key's order
    (emissions.services.cloud._unique_order: chunks lock shared keys in one order). The order is worked out
    first, so that each column is taken once, straight into it."""
    spread = pa.array(pair_index)  # each line's pair, in file order
    pair_columns = {name: pa.array([pair[name] for pair in stored]) for name in stored[0] if name not in _PER_LINE}
    texts = {
        "kind": pa.array(pair_hex, pa.string()).take(spread),
        "line_item_key": pa.array(lines.line_item_key, pa.string()),
        "billing_period": _text(lines.billing_period),
        "usage_start": _text(lines.usage_start),
        "usage_end": _text(lines.usage_end),
        "resource_id": pa.array(lines.resource_id, pa.string()),
    }
    per_line = {name: texts[name] for name in texts if name != "kind"} | {
        "usage_quantity": pa.array(lines.usage_quantity, pa.float64()),
        "cost": pa.array([round(cost, COST_DECIMALS) for cost in lines.cost.tolist()], pa.float64()),
        "row_digest": _digests(lines, texts),
        "source_row": pa.array(lines.row_number, pa.int64()),
        "line_key": pa.array(list(map(cloud_line_key_hex, lines.line_item_key)), pa.string()),
    }
    order = pc.sort_indices(
        pa.table(
            [pair_columns["provider"].take(spread), per_line["billing_period"], per_line["line_key"]], ["p", "m", "k"]
        ),
        sort_keys=[("p", "ascending"), ("m", "ascending"), ("k", "ascending")],
    )
    pairs_in_order = pa.array(pair_index[order.to_numpy()])
    columns = {name: values.take(pairs_in_order) for name, values in pair_columns.items()}
    return pa.table(columns | {name: values.take(order) for name, values in per_line.items()})
