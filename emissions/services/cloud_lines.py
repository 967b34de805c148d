"""Writes for billing lines in columns (``CloudUsageLines``): owner, estimate and stored values per kind of line,
per-line fields as arrays, and one ``COPY … (FORMAT csv)`` per batch.

The values are exactly those ``cloud_usage_upsert_many`` stores for the same records (same owner, estimate,
truncation, rounding and ``row_digest``): tests/emissions/test_cloud_lines.py compares the stored tables.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection, transaction

from emissions.models import CloudRegion, Organization
from emissions.records import CloudEstimate, CloudUsageLines, CloudUsageRecord, UpsertOutcome
from emissions.services.cloud import (
    COST_DECIMALS,
    Attributor,
    _line,
    cloud_usage_upsert_many,
    kind_digest,
    line_digest,
    upsert_by_copy,
)


@transaction.atomic
def cloud_usage_upsert_lines(
    *,
    organization: Organization,
    lines: CloudUsageLines,
    estimator: Callable[[CloudUsageRecord], CloudEstimate],
    source_batch_id: int | None = None,
) -> UpsertOutcome:
    """Estimate, attribute and bulk-upsert billing lines given in columns; identical lines count as duplicates.

    Off PostgreSQL, or when a key repeats within the lines (the last one wins), the lines go through
    ``cloud_usage_upsert_many`` as records.
    """
    if connection.vendor != "postgresql" or not _keys_unique(lines):
        return cloud_usage_upsert_many(
            organization=organization,
            records=lines.records(),
            estimator=estimator,
            source_batch_id=source_batch_id,
            row_numbers=lines.row_number.tolist(),
        )
    outcome = UpsertOutcome()
    if not len(lines):
        return outcome
    attributor = Attributor(organization)
    owners = [attributor.owner(kind) for kind in lines.kinds]
    regions = {(r.provider, r.region): r.pk for r in CloudRegion.objects.order_by("dataset_id")}
    # A line's estimate depends on its kind and its quantity; hourly lines share a few quantities.
    pair_index, pair_kind, pair_quantity = _pairs(lines.kind_index, lines.usage_quantity)
    fingerprint = getattr(estimator, "fingerprint", None)
    stored, pair_hex = [], []
    for kind_at, quantity in zip(pair_kind.tolist(), pair_quantity.tolist(), strict=True):
        record = replace(lines.kinds[kind_at], usage_quantity=quantity)
        estimate = estimator(record)
        owner = owners[kind_at]
        pair_hex.append(kind_digest(record, fingerprint or estimate, owner))
        values = _line(organization, record, estimate, owner, "", regions, source_batch_id, None, 0)
        values["tags"], values["coefficients"] = json.dumps(dict(record.tags)), json.dumps(dict(estimate.coefficients))
        stored.append(values)
    table = _table(lines, stored, pair_index, pair_hex)
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    outcome.duplicate = upsert_by_copy(
        table.column_names, len(lines), lambda copy: copy.write(buffer.getbuffer()), "csv"
    )
    outcome.loaded = len(lines) - outcome.duplicate
    return outcome


def _keys_unique(lines: CloudUsageLines) -> bool:
    providers = [kind.provider for kind in lines.kinds]
    keys = zip(lines.kind_index.tolist(), lines.billing_period[1].tolist(), lines.line_item_key, strict=True)
    return len({(providers[kind], period, key) for kind, period, key in keys}) == len(lines)


def _pairs(kind_index: np.ndarray, quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's index into the distinct (kind, quantity) pairs, and the pairs' kinds and quantities."""
    pairs = np.empty(len(kind_index), dtype=[("kind", np.int32), ("quantity", np.float64)])
    pairs["kind"], pairs["quantity"] = kind_index, quantity
    distinct, index = np.unique(pairs, return_inverse=True)
    return index.reshape(-1), distinct["kind"], distinct["quantity"]


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
        for fields in zip(hexes, lines.line_item_key, periods, starts, ends, quantities, costs, lines.resource_id,
                          strict=True)
    ]  # fmt: skip
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
