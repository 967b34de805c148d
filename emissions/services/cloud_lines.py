"""Writes for billing lines in columns (``CloudUsageLines``): owner, estimate and stored values per kind of line,
per-line fields as arrays, and one ``COPY`` per batch (binary, written by ingest/copy_binary.py).

The values are exactly those ``cloud_usage_upsert_many`` stores for the same records (same owner, estimate,
truncation, rounding and ``row_digest``): tests/ingest/test_billing_columns.py compares the stored tables.

The array work (grouping lines by kind and quantity, writing the COPY payload) needs numpy and Arrow, which
the domain does not import: the package that reads lines column-wise passes it in as ``LineArrays``
(ingest/cloud_lines.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection, transaction

from emissions.models import Organization
from emissions.records import CloudEstimate, CloudUsageLines, CloudUsageRecord, UpsertOutcome
from emissions.services.cloud import (
    Attributor,
    _line,
    cloud_region_ids,
    cloud_usage_upsert_many,
    kind_digest,
    upsert_by_copy,
)
from emissions.services.cloud_basis import basis_book, tag_book


@dataclass(frozen=True)
class LineArrays:
    """The array work of the columnar path (ingest/cloud_lines.py implements it with numpy and Arrow).

    ``keys_unique(lines)``: whether no two lines share (provider, billing period, line key). ``pairs(lines)``:
    each line's index into the distinct (kind, quantity) pairs (an array, handed back to
    ``copy_payload`` as it is), and the pairs' kinds and quantities as lists. ``copy_payload(lines, stored,
    pair_index, pair_hex)``: the field names of the CloudUsage columns, the lines as a COPY payload of them
    in key order (given each pair's stored values and kind digest) and its format: what ``upsert_by_copy``
    writes.
    """

    pairs: Callable[[CloudUsageLines], tuple[Any, list[int], list[float]]]
    keys_unique: Callable[[CloudUsageLines], bool]
    copy_payload: Callable[[CloudUsageLines, list[dict], Any, list[str]], tuple[list[str], bytes, str]]


class LinesShared:
    """What the blocks of one load of lines share (a file or a piece of one, written in one transaction): the
    organization's owners (AllocationRule, teams, projects, and the owners found so far), the regions' ids and the
    coefficient and tag sets already written. Read once per load, not once per block of 10,000 lines (five queries a
    block, and the owners worked out again)."""

    def __init__(self, organization: Organization):
        self.organization = organization
        self.attributor = Attributor(organization)
        self.regions = cloud_region_ids()
        self.book = basis_book(organization)
        self.tags = tag_book(organization)


@transaction.atomic
def cloud_usage_upsert_lines(
    *,
    organization: Organization,
    lines: CloudUsageLines,
    estimator: Callable[[CloudUsageRecord], CloudEstimate],
    arrays: LineArrays,
    source_batch_id: int | None = None,
    shared: LinesShared | None = None,
) -> UpsertOutcome:
    """Estimate, attribute and bulk-upsert billing lines given in columns; identical lines count as duplicates.

    Off PostgreSQL, or when a key repeats within the lines (the last one wins), the lines go through
    ``cloud_usage_upsert_many`` as records. ``shared``: what earlier blocks of the same load (the same
    transaction, the same organization) read already.
    """
    if connection.vendor != "postgresql" or not arrays.keys_unique(lines):
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
    if shared is None or shared.organization.pk != organization.pk:
        shared = LinesShared(organization)
    owners = [shared.attributor.owner(kind) for kind in lines.kinds]
    regions, book, tags = shared.regions, shared.book, shared.tags
    # A line's estimate depends on its kind and its quantity; hourly lines share a few quantities.
    pair_index, pair_kind, pair_quantity = arrays.pairs(lines)
    fingerprint = getattr(estimator, "fingerprint", None)
    stored, pair_hex = [], []
    for kind_at, quantity in zip(pair_kind, pair_quantity, strict=True):
        record = replace(lines.kinds[kind_at], usage_quantity=quantity)
        estimate = estimator(record)
        owner = owners[kind_at]
        pair_hex.append(kind_digest(record, fingerprint or estimate, owner))
        values = _line(organization, record, estimate, owner, "", regions, source_batch_id, None, 0)
        for name, digest in (("coefficients_digest", book.digest(estimate.coefficients)),
                             ("tags_digest", tags.digest(record.tags))):  # fmt: skip
            values[name] = None if digest is None else str(digest)
        stored.append(values)
    book.save()
    tags.save()
    names, payload, copy_format = arrays.copy_payload(lines, stored, pair_index, pair_hex)
    outcome.duplicate = upsert_by_copy(names, len(lines), lambda copy: copy.write(payload), copy_format)
    outcome.loaded = len(lines) - outcome.duplicate
    return outcome
