"""Number formatting filters that keep units honest in templates."""

from django import template

register = template.Library()


@register.filter
def thousands(value) -> str:
    """Round to a whole number with thousands separators: 12345.6 -> '12,346'."""
    try:
        return f"{float(value):,.0f}"
    except (TypeError, ValueError):
        return "–"


@register.filter
def mwh(kwh) -> str:
    """kWh to MWh with one decimal: 12345.6 -> '12.3'."""
    try:
        return f"{float(kwh) / 1000.0:,.1f}"
    except (TypeError, ValueError):
        return "–"


@register.filter
def decimal(value, places=1) -> str:
    """A number with thousands separators and ``places`` decimals: 1234.56|decimal:1 -> '1,234.6'."""
    try:
        return f"{float(value):,.{int(places)}f}"
    except (TypeError, ValueError):
        return "–"


@register.filter
def amount(value, places=3) -> str:
    """``decimal`` for ordinary values; a non-zero value too small for ``places`` decimals keeps three
    significant digits (a short laptop run: 4.2e-06 kgCO2e, not 0.000)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if number and abs(number) < 10 ** -int(places):
        return f"{number:.3g}"
    return f"{number:,.{int(places)}f}"


@register.filter
def tonnes(kg) -> str:
    """kg to tonnes with one decimal: 12345.6 -> '12.3'."""
    try:
        return f"{float(kg) / 1000.0:,.1f}"
    except (TypeError, ValueError):
        return "–"


@register.filter
def pct(value) -> str:
    """A percentage with one decimal and its sign: 12.34 -> '12.3 %'; None -> '–'."""
    try:
        return f"{float(value):,.1f} %"
    except (TypeError, ValueError):
        return "–"


@register.filter
def signed_pct(value) -> str:
    """A change in percent with its sign: 5 -> '+5.0 %', -2.5 -> '−2.5 %'; None (nothing before) -> 'n/a'."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return f"{'+' if number >= 0 else '−'}{abs(number):,.1f} %"


@register.filter
def reconciliation_text(report: dict) -> list[str]:
    """A billing batch's reconciliation (ingest/reconciliation.py) as short lines; warnings start "WARNING"."""
    from ingest.reconciliation import reconciliation_lines

    return reconciliation_lines(report or {})
