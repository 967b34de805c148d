"""Reusable query filters: the tenant-scoping chokepoint lives here."""

from __future__ import annotations

from django.db import models


class OrgScopedQuerySet(models.QuerySet):
    """QuerySet of a model that belongs to one organization.

    ``org_path`` on the model names the lookup from the model to its Organization
    (``"organization"`` by default, ``"run__organization"`` for run samples, ...).
    """

    def for_org(self, organization) -> OrgScopedQuerySet:
        path = getattr(self.model, "org_path", "organization")
        return self.filter(**{path: organization})


class ReferenceQuerySet(models.QuerySet):
    """QuerySet of reference data shared by all organizations plus each one's own overrides."""

    def visible_to(self, organization) -> ReferenceQuerySet:
        """Shipped rows (no organization) and the organization's own rows; never another's."""
        return self.filter(models.Q(organization__isnull=True) | models.Q(organization=organization))
