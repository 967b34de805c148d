"""The explicit table of import sources: parser (pure) and the emissions service that loads it.

Adding a source means one parser module and one entry here; nothing is registered implicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emissions.services.sites import site_upsert_many
from ingest.parsers import sites


@dataclass(frozen=True)
class Source:
    """An import source: ``parse(bytes)`` yields rows; ``load(organization=, records=, source_batch_id=)``
    upserts them and returns an ``UpsertOutcome``."""

    label: str
    parse: Callable
    load: Callable


PARSERS: dict[str, Source] = {
    "sites": Source(label="Sites (inventory CSV)", parse=sites.parse, load=site_upsert_many),
}
