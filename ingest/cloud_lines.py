"""The array half of storing billing lines read column-wise (``CloudUsageLines``), with numpy and Arrow.

The write is the domain's (``emissions.services.cloud_lines.cloud_usage_upsert_lines``: owners, estimates,
stored values, one ``COPY … (FORMAT csv)`` per block). The domain imports no array library, so the package
that reads lines column-wise (ingest/parsers/billing_columns.py) hands it this work as ``ARROW_ARRAYS``.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from emissions.records import CloudUsageLines
from emissions.services.cloud import COST_DECIMALS, line_digest
from emissions.services.cloud_lines import LineArrays


def lines_pairs(lines: CloudUsageLines) -> tuple[np.ndarray, list[int], list[float]]:
    """Each line's index into the distinct (kind, quantity) pairs, and the pairs' kinds and quantities."""
    pairs = np.empty(len(lines.kind_index), dtype=[("kind", np.int32), ("quantity", np.float64)])
    pairs["kind"], pairs["quantity"] = lines.kind_index, lines.usage_quantity
    distinct, index = np.unique(pairs, return_inverse=True)
    return index.reshape(-1), distinct["kind"].tolist(), distinct["quantity"].tolist()


def lines_copy_csv(
    lines: CloudUsageLines, stored: list[dict], pair_index: np.ndarray, pair_hex: list[str]
) -> tuple[list[str], bytes]:
    """The CloudUsage field names of the columns, and the lines as headerless CSV rows of them, in key order."""
    table = _table(lines, stored, pair_index, pair_hex)
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    return table.column_names, buffer.getvalue()


ARROW_ARRAYS = LineArrays(pairs=lines_pairs, copy_csv=lines_copy_csv)


def _iso(values_index: tuple[tuple, np.ndarray]) -> list[str]:
    values, index = values_index
    return np.array([value.isoformat() for value in values], dtype=object)[index].tolist()


def _table(lines: CloudUsageLines, stored: list[dict], pair_index: np.ndarray, pair_hex: list[str]) -> pa.Table:
    """The lines as an Arrow table of CloudUsage columns (field names), in key order."""
    take = pa.array(pair_index)
    columns = {name: pa.array([values[name] for values in stored]).take(take) for name in stored[0]}
    periods, starts, ends = _iso(lines.billing_period), _iso(lines.usage_start), _iso(lines.usage_end)
    hexes = np.array(pair_hex, dtype=object)[pair_index].tolist()
    quantities, costs = lines.usage_quantity.tolist(), lines.cost.tolist()
    digests = [
        line_digest(*fields)
        for fields in zip(
            hexes, lines.line_item_key, periods, starts, ends, quantities, costs, lines.resource_id, strict=True
        )
    ]
    columns |= {
        "line_item_key": pa.array(lines.line_item_key, pa.string()),
        "billing_period": pa.array(periods, pa.string()),
        "usage_start": pa.array(starts, pa.string()),
        "usage_end": pa.array(ends, pa.string()),
        "usage_quantity": pa.array(lines.usage_quantity, pa.float64()),
        "cost": pa.array([round(cost, COST_DECIMALS) for cost in costs], pa.float64()),
        "resource_id": pa.array(lines.resource_id, pa.string()),
        "row_digest": pa.array(digests, pa.string()),
        "source_row": pa.array(lines.row_number, pa.int64()),
    }
    table = pa.table(columns)
    return table.sort_by([("provider", "ascending"), ("billing_period", "ascending"), ("line_item_key", "ascending")])
