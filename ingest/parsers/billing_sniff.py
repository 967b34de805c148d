"""Which billing export dialect a header is, and the ``billing`` auto source that reads any of them.

FOCUS is checked first: AWS and Azure also export FOCUS, and a FOCUS file must not be read as CUR or Azure.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import IO, Any

from ingest.parsers import aws_cur, azure_cost, focus, gcp_billing
from ingest.parsers.billing_columns import ColumnarUnavailable, dialect_lines
from ingest.parsers.billing_read import DEFAULT_MAX_DECOMPRESSED_BYTES, iter_raw_chunks
from ingest.parsers.billing_rows import Dialect, build_chunk, check_header, normalize
from ingest.records import ParsedRow, ParseError, RowIssue

DIALECTS: dict[str, Dialect] = {
    "focus": focus.DIALECT,
    "aws_cur": aws_cur.DIALECT,
    "gcp_billing": gcp_billing.DIALECT,
    "azure_cost": azure_cost.DIALECT,
}

# dialect → sets of normalized columns; the dialect matches when one whole set is in the header. In order.
SIGNATURES: dict[str, tuple[frozenset[str], ...]] = {
    "focus": (
        frozenset({"chargecategory", "chargeperiodstart", "billingaccountid", "effectivecost"}),
        frozenset({"chargecategory", "chargeperiodstart", "billingaccountid", "billedcost"}),
    ),
    "aws_cur": (frozenset({"lineitemusagestartdate", "lineitemusageamount"}), frozenset({"identitylineitemid"})),
    "gcp_billing": (
        frozenset({"usagestarttime", "servicedescription"}),
        frozenset({"usagestarttime", "cost", "skuid"}),
    ),
    "azure_cost": (
        frozenset({"metercategory", "unitofmeasure"}),
        frozenset({"metercategory", "consumedquantity"}),
        frozenset({"metercategory", "quantity"}),
        frozenset({"metercategory", "usagequantity"}),  # the legacy pay-as-you-go usage export
    ),
}


def sniff_dialect(header: Iterable[str]) -> str:
    """``aws_cur`` | ``gcp_billing`` | ``azure_cost`` | ``focus`` for a header (column names as written).

    Raises ParseError naming the expected columns when no dialect matches.
    """
    present = {normalize(name) for name in header}
    for dialect, signatures in SIGNATURES.items():
        if any(signature <= present for signature in signatures):
            return dialect
    raise ParseError(
        "the header matches no billing export: expected FOCUS (ChargeCategory, ChargePeriodStart, BillingAccountId, "
        "EffectiveCost), AWS CUR (lineItem/UsageStartDate, lineItem/UsageAmount), GCP (usage_start_time, "
        "service.description) or Azure (MeterCategory, UnitOfMeasure)"
    )


def read_chunks(
    source: str | Path | IO[bytes],
    *,
    chunk_rows: int = 50_000,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    **piece: Any,
) -> Iterator[list[ParsedRow | RowIssue]]:
    """Stream any billing export, its dialect sniffed from the first chunk's columns (row numbers as in
    the dialect modules). JSON lines are accepted and must then be a GCP export. ``piece`` as in
    ``iter_raw_chunks``."""
    raw = iter_raw_chunks(
        source, chunk_rows=chunk_rows, allow_jsonl=True, max_decompressed_bytes=max_decompressed_bytes, **piece
    )
    first = next(raw, None)
    if first is None:
        return
    dialect = DIALECTS[sniff_dialect(first[0])]
    check_header(dialect, first[0])
    for _columns, rows in chain([first], raw):
        yield build_chunk(dialect, rows)


def read_lines(stream: IO[bytes], *, first_row: int = 2, row_groups: tuple[int, ...] = ()) -> Iterator[Any]:
    """The columnar path of the sniffed dialect (ingest/parsers/billing_columns.py); ColumnarUnavailable
    when that dialect is read row by row. Raises ParseError, as :func:`read_chunks`, for an unknown header."""
    first = next(iter_raw_chunks(stream, chunk_rows=1, allow_jsonl=True), None)
    stream.seek(0)
    if first is None:
        raise ColumnarUnavailable("empty file")
    return dialect_lines(DIALECTS[sniff_dialect(first[0])], stream, first_row=first_row, row_groups=row_groups)


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """:func:`read_chunks` over in-memory bytes, one row at a time (the generic batch path)."""
    limit = (options or {}).get("max_decompressed_bytes", DEFAULT_MAX_DECOMPRESSED_BYTES)
    for chunk in read_chunks(io.BytesIO(content), max_decompressed_bytes=limit):
        yield from chunk
