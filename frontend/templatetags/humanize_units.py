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
