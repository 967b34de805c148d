"""What billing lines share by kind, stored once per organization and distinct set and named from each line by
its digest: the coefficient sets of their estimates (``CloudEstimateBasis``, ``CloudUsage.coefficients_digest``)
and their tags (``CloudTagSet``, ``CloudUsage.tags_digest``).

A digest is the first 128 bits of the SHA-256 of the set as JSON text, so both write paths (records and
columns) give a line the same digest without asking the database. Tags are written with their keys sorted: a
set read back from PostgreSQL's ``jsonb`` (which orders keys its own way) gets the digest it was written with.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from emissions.models import CloudEstimateBasis, CloudTagSet, Organization


def set_digest(text: str) -> uuid.UUID:
    """The digest of a set written as JSON text (a coefficient set, or a tag set with its keys sorted)."""
    return uuid.UUID(bytes=hashlib.sha256(text.encode()).digest()[:16])


def tags_digest(tags: dict) -> uuid.UUID | None:
    """The digest of a line's tags, keys sorted (None for none)."""
    return set_digest(json.dumps(tags, sort_keys=True)) if tags else None


def coefficients_digest(coefficients: dict) -> uuid.UUID | None:
    """The digest of an estimate's coefficients, in the order the estimate lists them (None for none)."""
    return set_digest(json.dumps(coefficients)) if coefficients else None


SetModel = TypeVar("SetModel", CloudEstimateBasis, CloudTagSet)
Digest = uuid.UUID | None


class SetBook(Generic[SetModel]):
    """The sets one write of lines refers to, of one model (``CloudEstimateBasis`` or ``CloudTagSet``, whose
    ``field`` holds the set, named by ``digest_of``). ``digest(pairs)`` names a line's set (None for an empty
    one); ``save()`` stores the sets the organization does not have yet, before the lines are written."""

    def __init__(
        self, organization: Organization, model: type[SetModel], field: str, digest_of: Callable[[dict], Digest]
    ) -> None:
        self.organization = organization
        self.model: type[SetModel] = model
        self.field, self.digest_of = field, digest_of
        self._digests: dict[tuple, uuid.UUID | None] = {}
        self._sets: dict[uuid.UUID, dict] = {}

    def digest(self, pairs: tuple[tuple[str, object], ...]) -> uuid.UUID | None:
        """The digest of a set given as (name, value) pairs; lines of one kind share them, so each is dumped once."""
        if pairs not in self._digests:
            values = dict(pairs)
            found = self.digest_of(values)
            self._digests[pairs] = found
            if found is not None:
                self._sets[found] = values
        return self._digests[pairs]

    def save(self) -> None:
        """Store the sets not stored yet: one query for those stored (committed) already, one insert."""
        if not self._sets:
            return
        stored = set(
            self.model.objects.for_org(self.organization)
            .filter(digest__in=list(self._sets))
            .values_list("digest", flat=True)
        )
        self.model.objects.bulk_create(
            [
                self.model(organization=self.organization, digest=digest, **{self.field: values})
                for digest, values in self._sets.items()
                if digest not in stored
            ]
        )
        self._sets.clear()


def basis_book(organization: Organization) -> SetBook[CloudEstimateBasis]:
    """The coefficient sets of one write of lines (their JSON in the order the estimate lists them)."""
    return SetBook(organization, CloudEstimateBasis, "coefficients", coefficients_digest)


def tag_book(organization: Organization) -> SetBook[CloudTagSet]:
    """The tag sets of one write of lines."""
    return SetBook(organization, CloudTagSet, "tags", tags_digest)


def cloud_tag_set_store(organization: Organization, tags: dict[str, str]) -> uuid.UUID | None:
    """Store ``tags`` as one of the organization's tag sets (once) and return the digest a line names it by;
    for a line written one at a time (the bulk writers keep a ``tag_book`` per write)."""
    book = tag_book(organization)
    digest = book.digest(tuple(tags.items()))
    book.save()
    return digest
