"""Number formatting filters that keep units honest in templates.

Every figure of emissions on a page goes through ``co2e``: one scale (g below 1 kg, kg below 1 t, t above)
and one precision per unit, so the same amount reads the same on every page. No filter ever prints
``nan``, ``inf`` or ``-0.0``: a missing or meaningless value is ``—`` (``MISSING``).
"""

import math

from django import template

from emissions.units import G_PER_KG, KG_PER_T, KWH_PER_MWH

register = template.Library()

MISSING = "—"
MINUS = "-"  # as Python writes it (CSV downloads and the API agree); signed_pct keeps its U+2212 "−"
_KG_PER = {"g": 1 / G_PER_KG, "kg": 1.0, "t": KG_PER_T}


def _number(value) -> float | None:
    """``value`` as a finite float, or None (None, blank, text, NaN and infinities)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _signed(text: str, negative: bool) -> str:
    """``text`` with a minus sign when negative, unless it rounded to zero (never ``-0.0``)."""
    if negative and any(digit in "123456789" for digit in text):
        return MINUS + text
    return text


def _small(number: float) -> str:
    """A positive number under 0.05 with two significant digits, never in exponent notation: 0.0042."""
    places = max(1, 1 - math.floor(math.log10(number)))
    return f"{number:.{places}f}"


@register.filter
def co2e(value, unit: str = "kg") -> str:
    """An amount of CO2e, scaled: ``{{ kg|co2e }}`` (or ``|co2e:"t"``, ``|co2e:"g"`` for other inputs).

    g below 1 kg (one decimal; two significant digits under 0.05 g), kg below 1 t (one decimal), t from
    1 t (three decimals, i.e. to the kg): 0.005 → "5.0 g CO2e", 12.34 → "12.3 kg CO2e", 3204 → "3.204 t CO2e".
    """
    number = _number(value)
    if number is None or unit not in _KG_PER:
        return MISSING
    kg = abs(number) * _KG_PER[unit]
    if round(kg, 1) >= KG_PER_T:
        text = f"{kg / KG_PER_T:,.3f} t"
    elif round(kg * G_PER_KG, 1) >= G_PER_KG:
        text = f"{kg:,.1f} kg"
    elif kg == 0:
        text = "0.0 kg"
    else:
        grams = kg * G_PER_KG
        text = f"{grams:,.1f} g" if grams >= 0.05 else f"{_small(grams)} g"
    return _signed(text, number < 0) + " CO2e"


@register.filter
def thousands(value) -> str:
    """Round to a whole number with thousands separators: 12345.6 -> '12,346'."""
    number = _number(value)
    return MISSING if number is None else _signed(f"{abs(number):,.0f}", number < 0)


@register.filter
def mwh(kwh) -> str:
    """kWh to MWh with one decimal: 12345.6 -> '12.3'."""
    number = _number(kwh)
    return MISSING if number is None else _signed(f"{abs(number) / KWH_PER_MWH:,.1f}", number < 0)


@register.filter
def decimal(value, places=1) -> str:
    """A number with thousands separators and ``places`` decimals: 1234.56|decimal:1 -> '1,234.6'."""
    number = _number(value)
    return MISSING if number is None else _signed(f"{abs(number):,.{int(places)}f}", number < 0)


@register.filter
def amount(value, places=3) -> str:
    """``decimal`` for ordinary values; a non-zero value too small for ``places`` decimals keeps three
    significant digits (a short laptop run: 4.2e-06 kgCO2e, not 0.000)."""
    number = _number(value)
    if number is None:
        return MISSING
    if number and abs(number) < 10 ** -int(places):
        return (MINUS if number < 0 else "") + f"{abs(number):.3g}"
    return _signed(f"{abs(number):,.{int(places)}f}", number < 0)


@register.filter
def tonnes(kg) -> str:
    """kg to tonnes with one decimal: 12345.6 -> '12.3'."""
    number = _number(kg)
    return MISSING if number is None else _signed(f"{abs(number) / KG_PER_T:,.1f}", number < 0)


@register.filter
def pct(value) -> str:
    """A percentage with one decimal: 12.34 -> '12.3 %'; None or NaN -> '—'; -0.04 -> '0.0 %'."""
    number = _number(value)
    return MISSING if number is None else _signed(f"{abs(number):,.1f}", number < 0) + " %"


@register.filter
def signed_pct(value) -> str:
    """A change in percent with its sign: 5 -> '+5.0 %', -2.5 -> '−2.5 %'; a change that rounds to nothing
    -> '0.0 %'; None (nothing to compare against) -> '—'."""
    number = _number(value)
    if number is None:
        return MISSING
    text = f"{abs(number):,.1f}"
    if not any(digit in "123456789" for digit in text):
        return f"{text} %"
    return f"{'+' if number > 0 else '−'}{text} %"


@register.filter
def reconciliation_text(report: dict) -> list[str]:
    """A billing batch's reconciliation (ingest/reconciliation.py) as short lines; warnings start "WARNING"."""
    from ingest.reconciliation import reconciliation_lines

    return reconciliation_lines(report or {})
