"""Provider region spellings → the region names of emissions/reference_data/cloud_regions.csv.

Azure exports spell one region many ways: ``eastus`` (programmatic), ``EastUS`` (EA PascalCase), ``East US``
(display name), ``EASTUS`` (MCA), ``US East`` (the legacy EA meter region). Lower-casing and removing
spaces, ``_`` and ``-`` gives the programmatic name for most of them; the rest (legacy names, display
names in another word order, and billing zones that are not regions) are listed with their sources in
``azure_region_aliases.csv`` (see azure_region_aliases.md).

FOCUS gives a region as ``RegionId`` and ``RegionName``; a row with only the name (AWS writes ``US East (N.
Virginia)``, the ``location`` of our region table) is named by its region's code too (``provider_region``).
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
    regions = frozenset(region for provider, region in _region_codes()[0] if provider == "azure")
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


@functools.cache
def _region_codes() -> tuple[frozenset[tuple[str, str]], dict[tuple[str, str], str]]:
    """(provider, region) of every region we have, and (provider, compacted display name) → region, for the
    display names that name one region only."""
    with open(REFERENCE_DIR / "cloud_regions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    named: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row["location"]:
            named.setdefault((row["provider"], _compact(row["location"])), set()).add(row["region"])
    return (
        frozenset((row["provider"], row["region"]) for row in rows),
        {key: next(iter(regions)) for key, regions in named.items() if len(regions) == 1},
    )


def provider_region(provider: str, written: str) -> str:
    """The region code of a region as an export writes it, for ``provider`` (``aws``, ``gcp``, ``azure``...):
    Azure's spellings as ``azure_region`` reads them; for the others, a code as it is (or in another case), a
    display name of our region table (``US East (N. Virginia)``) as its code; else the text as written.

    >>> provider_region("aws", "US East (N. Virginia)"), provider_region("aws", "US-EAST-1")
    ('us-east-1', 'us-east-1')
    """
    if provider == "azure":
        return azure_region(written)
    codes, by_name = _region_codes()
    text = written.strip()
    if not text or (provider, text) in codes:
        return text
    if (provider, text.lower()) in codes:
        return text.lower()
    return by_name.get((provider, _compact(text)), written)
