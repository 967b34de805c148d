"""The explicit table of import sources: parser (pure) and the emissions service that loads it.

Adding a source means one parser module and one entry here; nothing is registered implicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emissions import services as emissions_services
from ingest.parsers import sites


@dataclass(frozen=True)
class Source:
    """An import source: ``parse(bytes)`` yields rows; ``load(organization=, records=)`` upserts them."""

    label: str
    parse: Callable
    load: Callable


PARSERS: dict[str, Source] = {
    "sites": Source(label="Sites (inventory CSV)", parse=sites.parse, load=emissions_services.site_upsert_many),
}
