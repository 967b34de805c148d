"""One colour per thing shown in a chart, the same on every page and under every filter.

A series keeps its colour because it is looked up by name here, never taken from its position among the
series a filter happens to leave (a team filter that drops Scope 1 must not repaint Scope 2). Names not
listed (teams, projects, sites) get a colour from a hash of the name: stable, if not unique.
Colour-blind-safe (Okabe–Ito) where the series are few; categories of Scope 3 extend it.
"""

from __future__ import annotations

import zlib

from emissions.choices import QualityTier, RunKind

# Okabe–Ito, with the house green first.
PALETTE = ["#1f7a4d", "#e69f00", "#56b4e9", "#cc79a7", "#0072b2", "#d55e00", "#009e73", "#f0e442", "#999999"]
LOCATION_COLOR, MARKET_COLOR = "#1f7a4d", "#0072b2"
REFERENCE_COLOR = "#999999"  # a comparison line or bar: even pace, "as run", catalogue defaults
FORECAST_COLOR = "#d55e00"  # a projection: a budget's forecast at the current rate

SCOPE_COLORS = {
    "Scope 1": "#d55e00",
    "Scope 2": "#1f7a4d",
    "Scope 3": "#e69f00",
    "Scope 3 Cat 1": "#e69f00",
    "Scope 3 Cat 2": "#cc79a7",
    "Scope 3 Cat 3": "#56b4e9",
    "Scope 3 Cat 4": "#8c6bb1",
    "Scope 3 Cat 5": "#a6761d",
    "Scope 3 Cat 6": "#f0e442",
    "Scope 3 Cat 7": "#666666",
    "Scope 3 Cat 8": "#e7298a",
    "Scope 3 Cat 11": "#17becf",
    "Scope 3 Cat 12": "#bcbd22",
    "Scope 3 Cat 13": "#8dd3c7",
}
# Data-quality tiers, best (dark green) to worst (grey): keyed by code and by label.
_TIER_COLORS = {
    QualityTier.METERED: "#1f7a4d",
    QualityTier.PROVIDER_REPORTED: "#009e73",
    QualityTier.SUPPLIER_SPECIFIC: "#0072b2",
    QualityTier.MEASURED: "#56b4e9",
    QualityTier.ESTIMATED_TDP: "#e69f00",
    QualityTier.ESTIMATED_LOCATION: "#f0e442",
    QualityTier.BILLING_ESTIMATE: "#cc79a7",
    QualityTier.DEFAULT: "#999999",
}
TIER_COLORS = {**{str(t): c for t, c in _TIER_COLORS.items()}, **{t.label: c for t, c in _TIER_COLORS.items()}}
_KIND_COLORS = {
    RunKind.TRAINING: "#0072b2",
    RunKind.FINE_TUNING: "#56b4e9",
    RunKind.INFERENCE: "#e69f00",
    RunKind.EVALUATION: "#cc79a7",
    RunKind.DEVELOPMENT: "#999999",
}
KIND_COLORS = {**{str(k): c for k, c in _KIND_COLORS.items()}, **{k.label: c for k, c in _KIND_COLORS.items()}}
OTHER_COLORS = {
    "Location-based": LOCATION_COLOR,
    "Market-based": MARKET_COLOR,
    "aws": "#e69f00",
    "gcp": "#0072b2",
    "azure": "#56b4e9",
    "in service": "#1f7a4d",
    "retired": "#999999",
    "(unallocated)": "#bbbbbb",
    "Unallocated": "#bbbbbb",
    "unallocated": "#bbbbbb",
    "GPU": "#1f7a4d",
    "CPU": "#0072b2",
    "RAM": "#e69f00",
    "Others": "#bbbbbb",
}
SERIES_COLORS = {**OTHER_COLORS, **KIND_COLORS, **TIER_COLORS, **SCOPE_COLORS}
# Series in this order when a chart shows several (scopes by number, tiers best first), the rest by name.
SERIES_ORDER = [*SCOPE_COLORS, *TIER_COLORS]


def series_color(name) -> str:
    """The colour of a series, point or slice named ``name`` (as shown, before HTML escaping)."""
    text = str(name)
    if text in SERIES_COLORS:
        return SERIES_COLORS[text]
    return PALETTE[zlib.crc32(text.encode()) % len(PALETTE)]


def series_sorted(names) -> list:
    """``names`` in the fixed order of SERIES_ORDER, unknown names after them alphabetically."""
    rank = {name: index for index, name in enumerate(SERIES_ORDER)}
    return sorted(names, key=lambda name: (rank.get(str(name), len(rank)), str(name)))
