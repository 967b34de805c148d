"""The words of the pages: one plain-language explanation per term, and plain labels for stored codes.

Templates use ``{% term "pue" %}`` (frontend/templatetags/glossary.py) wherever a term of the trade
appears, so it carries the same explanation on every page, and ``|plain`` wherever a stored code
(``provider_reported``, ``grid_average``) would otherwise reach the page.
"""

from __future__ import annotations

import re

from emissions.choices import AssetClass, Basis, CloudProvider, LocationSource, QualityTier, RunKind

# term → (how it is written on the page, what it means). Keep each explanation to one or two sentences.
TERMS: dict[str, tuple[str, str]] = {
    "co2e": (
        "CO2e",
        "Carbon dioxide equivalent: every greenhouse gas weighted by how much it warms over 100 years "
        "compared with CO2.",
    ),
    "pue": (
        "PUE",
        "Power usage effectiveness: the data centre's total energy divided by what its IT equipment uses. "
        "1.2 means 20 % more for cooling and power losses.",
    ),
    "wue": ("WUE", "Water usage effectiveness: litres of water a site uses per kWh of IT energy."),
    "sci": (
        "SCI",
        "Software Carbon Intensity (ISO/IEC 21031): the energy's emissions plus the hardware's embodied share, "
        "per unit of work, e.g. per 1,000 requests.",
    ),
    "location": (
        "location-based",
        "Scope 2 method: electricity counted at the average emissions of the grid where it was used.",
    ),
    "market": (
        "market-based",
        "Scope 2 method: electricity counted after the contracts bought for it (certificates, power purchase "
        "agreements, green tariffs); the rest at the grid's residual mix.",
    ),
    "inventory": (
        "inventory view",
        "The GHG Protocol inventory, as reported: hardware counts in full when it is bought (Scope 3, "
        "category 2, capital goods).",
    ),
    "management": (
        "management view",
        "For steering teams: hardware's embodied emissions are spread over its expected life (amortized) and "
        "charged to the teams that use it.",
    ),
    "scope1": ("Scope 1", "Direct emissions: fuel burnt on site (generators) and refrigerant leaks."),
    "scope2": ("Scope 2", "Emissions of the electricity bought for the organization's own sites."),
    "scope3": (
        "Scope 3",
        "Emissions in the value chain: hardware bought (embodied), cloud and other third-party compute, and "
        "the upstream of the energy used.",
    ),
    "embodied": (
        "embodied",
        "Emissions from making the hardware (cradle to gate), before it is switched on.",
    ),
    "amortized": ("amortized", "Spread evenly over the hardware's expected life, one share per period."),
    "gpu_hours": ("GPU-hours", "GPUs × hours they were in use: 8 GPUs for 2 hours are 16 GPU-hours."),
    "idle_share": (
        "idle share",
        "The part of a site's metered electricity no run accounts for: idle machines, storage and networking.",
    ),
    "quality": (
        "data quality",
        "Where a figure's activity data comes from, best first: metered, provider-reported, supplier-specific, "
        "measured, then estimates (from TDP, location, billing) and default values.",
    ),
    "residual_mix": (
        "residual mix",
        "A grid's emissions left after the renewable certificates sold on it are taken out: what uncovered "
        "electricity counts at, market-based.",
    ),
    "tdp": ("TDP", "Thermal design power: a chip's rated power draw, used when its real draw was not measured."),
}

# Quality tiers: what each means, for tooltips on the tier's label.
TIER_HELP: dict[str, str] = {
    QualityTier.METERED: "Read from a meter at the site.",
    QualityTier.PROVIDER_REPORTED: "Reported by the cloud provider in its own carbon export.",
    QualityTier.SUPPLIER_SPECIFIC: "The hardware supplier's own product footprint for what was bought.",
    QualityTier.MEASURED: "Measured on the machine by the tracker (RAPL for CPUs, NVML for GPUs).",
    QualityTier.ESTIMATED_TDP: "Estimated from the chips' rated power (TDP) and the run's duration.",
    QualityTier.ESTIMATED_LOCATION: "Measured energy, but where it ran was reported or assumed, not known.",
    QualityTier.BILLING_ESTIMATE: "Estimated from a cloud bill: usage × energy per unit × the region's grid.",
    QualityTier.DEFAULT: "A catalogue default, for lack of anything better.",
}

# Stored codes → the words a page shows. Model choices first, then codes stored as plain strings.
PLAIN: dict[str, str] = {
    **dict(QualityTier.choices),
    **dict(Basis.choices),
    **dict(RunKind.choices),
    **dict(CloudProvider.choices),
    **dict(AssetClass.choices),
    **{code: label for code, label in LocationSource.choices if code},
    # The market-based remainder (emissions/calculations.py ``remainder_basis``).
    "residual_mix": "residual mix",
    "grid_average": "grid average (no residual mix on file)",
    "remainder_basis": "uncovered electricity at",
    # A cloud billing line's owner (emissions/services/cloud.py).
    "resource_tag": "Resource tag",
    "project_label": "Project label",
    "account": "Allocation rule (account)",
    "unallocated": "Unallocated",
    # Scope 2 methods and views as stored in budgets, figures and query strings.
    "location": "Location-based",
    "market": "Market-based",
    "inventory": "Inventory view",
    "management": "Management view",
}

# Codes matched inside free text: every code with an underscore, and the quality tiers (``metered``).
_IN_TEXT = sorted({*(code for code in PLAIN if "_" in code), *QualityTier.values}, key=len, reverse=True)
_CODE = re.compile(r"\b(" + "|".join(map(re.escape, _IN_TEXT)) + r")\b")


def plain(code) -> str:
    """The label of a stored code (``provider_reported`` → ``Provider-reported``); other text unchanged."""
    text = "" if code is None else str(code)
    return PLAIN.get(text, text)


def plain_text(text) -> str:
    """Stored codes inside ``text`` replaced by their labels, for lists of codes such as a figure's quality:
    ``provider_reported 80.0%, metered 20.0%`` → ``Provider-reported 80.0%, Metered 20.0%``."""
    return _CODE.sub(lambda match: PLAIN[match.group(1)], "" if text is None else str(text))
