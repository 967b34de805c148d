"""The versioned concept maps: ESRS E1 (``reporting/data/esrs_*.csv``, one file per taxonomy) and VSME B3
(``reporting/data/vsme_b3_concepts.csv``).

A map is data, not code: when EFRAG amends a taxonomy, a new map file changes labels, concept names and
members without touching the builder. Its first line is a ``#`` comment with ``key=value`` pairs:
``taxonomy_id`` (the key a Report stores), ``map_version``, ``taxonomy``, ``namespace`` and ``entry_point``.
The ESRS maps form the registry a report chooses from (``esrs_taxonomies``); adding a taxonomy is adding
a file (docs/reports.md, "Taxonomy versions").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CONCEPT_MAP_PATH = DATA_DIR / "esrs_e1_concepts.csv"
VSME_MAP_PATH = DATA_DIR / "vsme_b3_concepts.csv"
# The taxonomy of reports that name none (and of every report made before the choice existed); Report.taxonomy
# repeats it as its field default (reporting/models.py cannot import this package).
DEFAULT_TAXONOMY = "esrs-set1-2023-12-22"


@dataclass(frozen=True)
class Concept:
    """One datapoint row of the report: its ref, label, unit and XBRL tagging.

    ``kind`` drives the unit and rounding: ``energy`` (MWh), ``ghg`` (tCO2e), ``percent`` (%, a
    fraction in XBRL), ``ghg_intensity`` (tCO2e per EUR million), ``monetary`` (EUR) and
    ``intensity`` (gCO2e per functional unit, management only). ``concept`` is the local name in
    the ESRS namespace (empty: not tagged); ``axis``/``member`` a Scope 3 category dimension.
    """

    ref: str
    section: str
    show: str
    label: str
    unit: str
    kind: str
    concept: str
    axis: str
    member: str
    note: str
    # VSME map only: the ESRS refs the figure is computed from (``E1-6.48a + E1-6.49a``, ``a / b``) and the
    # EFRAG Digital Template's named range for the value.
    source: str = ""
    template_name: str = ""


@dataclass(frozen=True)
class ConceptMap:
    taxonomy_id: str
    map_version: str
    taxonomy: str
    namespace: str
    entry_point: str
    concepts: tuple[Concept, ...]


@cache
def concept_map_load(path: Path = CONCEPT_MAP_PATH) -> ConceptMap:
    """Read and check the concept map once per process."""
    with path.open(encoding="utf-8", newline="") as handle:
        header = handle.readline().lstrip("#").strip()
        meta = dict(part.strip().split("=", 1) for part in header.split(";"))
        concepts = tuple(Concept(**row) for row in csv.DictReader(handle))
    refs = [concept.ref for concept in concepts]
    if len(refs) != len(set(refs)):
        raise ValueError(f"{path.name}: duplicate refs")
    return ConceptMap(
        taxonomy_id=meta["taxonomy_id"],
        map_version=meta["map_version"],
        taxonomy=meta["taxonomy"],
        namespace=meta["namespace"],
        entry_point=meta["entry_point"],
        concepts=concepts,
    )


@cache
def esrs_taxonomies() -> dict[str, ConceptMap]:
    """The ESRS concept maps by taxonomy id: every ``reporting/data/esrs_*.csv``, the default first."""
    maps: dict[str, ConceptMap] = {}
    for path in sorted(DATA_DIR.glob("esrs_*.csv")):
        concept_map = concept_map_load(path)
        if concept_map.taxonomy_id in maps:
            raise ValueError(f"{path.name}: taxonomy_id {concept_map.taxonomy_id} is in another map too")
        maps[concept_map.taxonomy_id] = concept_map
    return {key: maps[key] for key in sorted(maps, key=lambda key: (key != DEFAULT_TAXONOMY, key))}


def taxonomy_choices() -> list[tuple[str, str]]:
    """(taxonomy id, title) of every ESRS map, for forms and the API."""
    return [(key, f"{key}: {value.taxonomy}") for key, value in esrs_taxonomies().items()]


def taxonomy_concept_map(taxonomy_id: str) -> ConceptMap:
    """The ESRS concept map of a taxonomy id (``ValueError`` naming the available ones when unknown)."""
    maps = esrs_taxonomies()
    if taxonomy_id not in maps:
        raise ValueError(f"Unknown taxonomy {taxonomy_id!r}; available: {', '.join(maps)}.")
    return maps[taxonomy_id]
