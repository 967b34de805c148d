"""The versioned ESRS E1 concept map (``reporting/data/esrs_e1_concepts.csv``).

The map is data, not code: when EFRAG amends the taxonomy, a new map version changes labels,
concept names and members without touching the builder. Its first line is a ``#`` comment with
``key=value`` pairs: ``map_version``, ``taxonomy``, ``namespace`` and ``entry_point``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONCEPT_MAP_PATH = Path(__file__).resolve().parent.parent / "data" / "esrs_e1_concepts.csv"


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


@dataclass(frozen=True)
class ConceptMap:
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
        map_version=meta["map_version"],
        taxonomy=meta["taxonomy"],
        namespace=meta["namespace"],
        entry_point=meta["entry_point"],
        concepts=concepts,
    )
