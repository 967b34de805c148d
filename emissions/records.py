"""Normalized input records: the contract between ingest parsers and emissions services.

Frozen dataclasses with units in every field name. They live in ``emissions`` so that services can
type their arguments without importing ``ingest`` (imports point inward).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SiteRecord:
    """One row of the ``sites`` inventory file."""

    name: str
    ownership: str
    grid_zone_code: str
    pue: float
    wue_l_per_kwh: float
    buys_electricity: bool


@dataclass
class UpsertOutcome:
    """What an idempotent upsert did with a list of records.

    ``loaded`` counts records newly written or changed, ``duplicate`` records already stored
    identically, and ``rejected`` maps a record's position in the input list to the reason.
    """

    loaded: int = 0
    duplicate: int = 0
    rejected: dict[int, str] = field(default_factory=dict)
