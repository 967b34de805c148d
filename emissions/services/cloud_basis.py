"""The coefficient sets of billing lines' estimates (``CloudEstimateBasis``): written once per organization and
set, named from each line by its digest (``CloudUsage.coefficients_digest``).

The digest is the first 128 bits of the SHA-256 of the set as JSON text, so both write paths (records and
columns) give a line the same digest without asking the database.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from emissions.models import CloudEstimateBasis, Organization


def coefficients_digest(text: str) -> uuid.UUID:
    """The digest of a coefficient set written as JSON text."""
    return uuid.UUID(bytes=hashlib.sha256(text.encode()).digest()[:16])


class BasisBook:
    """The coefficient sets one write of lines refers to. ``digest(pairs)`` names a line's set (None for an
    empty one); ``save()`` stores the sets the organization does not have yet, before the lines are written."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self._digests: dict[tuple, uuid.UUID | None] = {}
        self._sets: dict[uuid.UUID, dict] = {}

    def digest(self, coefficients: tuple[tuple[str, object], ...]) -> uuid.UUID | None:
        """The digest of a set given as (name, value) pairs; lines of one kind share them, so each is dumped once."""
        if coefficients not in self._digests:
            values = dict(coefficients)
            found = coefficients_digest(json.dumps(values)) if values else None
            self._digests[coefficients] = found
            if found is not None:
                self._sets[found] = values
        return self._digests[coefficients]

    def save(self) -> None:
        """Store the sets not stored yet: one query for those stored (committed) already, one insert."""
        if not self._sets:
            return
        stored = set(
            CloudEstimateBasis.objects.for_org(self.organization)
            .filter(digest__in=list(self._sets))
            .values_list("digest", flat=True)
        )
        CloudEstimateBasis.objects.bulk_create(
            [
                CloudEstimateBasis(organization=self.organization, digest=digest, coefficients=values)
                for digest, values in self._sets.items()
                if digest not in stored
            ]
        )
        self._sets.clear()
