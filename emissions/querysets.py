"""Reusable query filters: the tenant-scoping chokepoint lives here."""

from __future__ import annotations

from django.db import models

from emissions.periods import period_range


class OrgScopedQuerySet(models.QuerySet):
    """QuerySet of a model that belongs to one organization.

    ``org_path`` on the model names the lookup from the model to its Organization
    (``"organization"`` by default, ``"run__organization"`` for run samples, ...).
    """

    def for_org(self, organization) -> OrgScopedQuerySet:
        path = getattr(self.model, "org_path", "organization")
        return self.filter(**{path: organization})


class CalculationQuerySet(OrgScopedQuerySet):
    """Calculations, with the filter every reader of the ledger's days uses."""

    def in_period_range(self, today=None) -> CalculationQuerySet:
        """Calculations whose period lies within the periods users may ask for (1990 to next year).

        Anything else was stored before periods were bounded (e.g. ``9999-Q4``): its days sit at the ends of
        the calendar, where day arithmetic overflows, so readers skip it and ``rollup_rebuild`` deletes it.
        """
        first, last = period_range(today)
        return self.filter(period_start__gte=first, period_end__lte=last)


class ReferenceQuerySet(models.QuerySet):
    """QuerySet of reference data shared by all organizations plus each one's own overrides."""

    def visible_to(self, organization) -> ReferenceQuerySet:
        """Shipped rows (no organization) and the organization's own rows; never another's."""
        return self.filter(models.Q(organization__isnull=True) | models.Q(organization=organization))
