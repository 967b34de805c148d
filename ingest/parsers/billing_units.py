"""Provider usage units → canonical units of ``CloudUsageRecord.usage_unit``, with a conversion factor.

Canonical units: ``hour`` (instance, GPU or resource hours), ``vcpu-hour``, ``gb-hour`` (GiB held for an hour),
``gb-month`` (GiB stored for a month), ``gb`` (GiB transferred or scanned), ``request``, ``month`` (one resource
for a month, e.g. an Azure disk billed ``1/Month``) and ``unit`` (a count with no physical meaning). Providers
write GB where they mean GiB, so both map to ``gb``; TB/TiB are ×1024 GB. An unknown unit is not an error: it
comes back as ``unknown:<text>`` with the quantity unchanged, and the estimator counts it as unclassified.

Azure's ``UnitOfMeasure`` states a block size (``10 Hours``, ``100 GB/Month``): ``Quantity`` counts blocks, so
the block size multiplies the quantity.
"""

from __future__ import annotations

import re

_GIB = 1024**3

# Compact spelling (lower case, without spaces, ``-``, ``/`` and ``_``) → (canonical unit, factor).
UNITS: dict[str, tuple[str, float]] = {
    # time a resource ran
    **dict.fromkeys(("hrs", "hr", "hour", "hours", "h", "instancehours", "instancehour"), ("hour", 1.0)),
    **dict.fromkeys(("seconds", "second", "s", "sec"), ("hour", 1 / 3600)),
    **dict.fromkeys(("minutes", "minute", "min"), ("hour", 1 / 60)),
    **dict.fromkeys(("days", "day"), ("hour", 24.0)),
    **dict.fromkeys(("vcpuhours", "vcpuhour", "vcpuhrs", "corehours", "corehour"), ("vcpu-hour", 1.0)),
    **dict.fromkeys(("vcpuseconds", "vcpusecond"), ("vcpu-hour", 1 / 3600)),
    # memory or storage held over time
    **dict.fromkeys(
        ("gbhours", "gbhour", "gbhrs", "gibhours", "gibhour", "gibibytehour", "gibibytehours"), ("gb-hour", 1.0)
    ),
    **dict.fromkeys(("byteseconds", "bytesecond"), ("gb-hour", 1 / (_GIB * 3600))),
    **dict.fromkeys(("gibibyteseconds", "gbseconds", "gibseconds"), ("gb-hour", 1 / 3600)),
    **dict.fromkeys(("tbhours", "tibhours", "tebibytehour"), ("gb-hour", 1024.0)),
    **dict.fromkeys(
        ("gbmo", "gbmonth", "gbmonths", "gibmonth", "gibmonths", "gibibytemonth", "gibibytemonths", "gbmos"),
        ("gb-month", 1.0),
    ),
    **dict.fromkeys(("tbmo", "tbmonth", "tbmonths", "tibmonth", "tibmonths", "tebibytemonth"), ("gb-month", 1024.0)),
    # amounts transferred or processed
    **dict.fromkeys(("gb", "gib", "gibibyte", "gibibytes", "gigabyte", "gigabytes"), ("gb", 1.0)),
    **dict.fromkeys(("tb", "tib", "tebibyte", "tebibytes", "terabyte", "terabytes"), ("gb", 1024.0)),
    **dict.fromkeys(("mb", "mib", "mebibyte", "mebibytes"), ("gb", 1 / 1024)),
    **dict.fromkeys(("bytes", "byte"), ("gb", 1 / _GIB)),
    # counts
    **dict.fromkeys(("requests", "request", "count", "counts", "calls", "call", "apicalls"), ("request", 1.0)),
    **dict.fromkeys(("month", "months", "mo"), ("month", 1.0)),
    **dict.fromkeys(("unit", "units", "each", "quantity"), ("unit", 1.0)),
}

# A leading block size: "10 Hours", "100 GB/Month", "1/Month", "1K" is not handled (no unit follows).
_BLOCK = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?=[^\d.\s]|$)(.*)$")
_SEPARATORS = re.compile(r"[\s\-/_]+")


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text.strip().lower())


def convert(unit_text: str, quantity: float) -> tuple[str, float]:
    """``(canonical_unit, quantity in that unit)`` for ``quantity`` written in the provider's ``unit_text``.

    >>> convert("10 Hours", 3)
    ('hour', 30.0)
    >>> convert("Widgets", 2)
    ('unknown:Widgets', 2)
    """
    text = (unit_text or "").strip()
    block = 1.0
    match = _BLOCK.match(text)
    if match and match.group(2).strip():
        block = float(match.group(1))
        text_unit = match.group(2)
    else:
        text_unit = text
    known = UNITS.get(_compact(text_unit))
    if known is None:
        return f"unknown:{unit_text.strip() if unit_text else ''}", quantity
    canonical, factor = known
    # One factor, so that a quantity times convert(unit, 1) is exactly this (the columnar path relies on it).
    return canonical, quantity * (block * factor)
