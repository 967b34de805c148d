"""Provider region spellings → the region names of emissions/reference_data/cloud_regions.csv.

Azure exports spell one region many ways: ``eastus`` (programmatic), ``EastUS`` (EA PascalCase), ``East US``
(display name), ``EASTUS`` (MCA), ``US East`` (the legacy EA meter region). Lower-casing and removing
spaces, ``_`` and ``-`` gives the programmatic name for most of them; the rest (legacy names, display
names in another word order, and billing zones that are not regions) are listed with their sources in
``azure_region_aliases.csv`` (see azure_region_aliases.md).
"""

from __future__ import annotations

import csv
import functools
import re

from emissions.cloud_tables import REFERENCE_DIR

_SEPARATORS = re.compile(r"[\s_-]+")


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text.strip().lower())


@functools.cache
def _azure_names() -> tuple[frozenset[str], dict[str, str]]:
    """The Azure region names we have, and alias (compacted) → region name ("" for a billing zone)."""
    with open(REFERENCE_DIR / "cloud_regions.csv", newline="", encoding="utf-8") as handle:
        regions = frozenset(row["region"] for row in csv.DictReader(handle) if row["provider"] == "azure")
    with open(REFERENCE_DIR / "azure_region_aliases.csv", newline="", encoding="utf-8") as handle:
        aliases = {_compact(row["alias"]): row["region"] for row in csv.DictReader(handle)}
    return regions, aliases


def azure_region(written: str) -> str:
    """The Azure region name of a spelling in an export; ``""`` for a billing zone (``Zone 1``,
    ``Intercontinental``); the text as written when the spelling is unknown (the ledger names it in a gap).

    >>> azure_region("US East 2"), azure_region("SouthCentralUS"), azure_region("WESTUS")
    ('eastus2', 'southcentralus', 'westus')
    """
    if not written:
        return ""
    regions, aliases = _azure_names()
    compact = _compact(written)
    if compact in aliases:  # first: "Unknown" and "AP East" compact to rows of cloud_regions.csv too
        return aliases[compact]
    return compact if compact in regions else written
