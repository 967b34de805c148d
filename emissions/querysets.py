"""Reusable query filters: the tenant-scoping chokepoint lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from django.db import models

from emissions.periods import period_range


class OrgScopedQuerySet(models.QuerySet):
    """QuerySet of a model that belongs to one organization.

    ``org_path`` on the model names the lookup from the model to its Organization
    (``"organization"`` by default, ``"run__organization"`` for run samples, ...).
    """

    def for_org(self, organization) -> Self:
        path = getattr(self.model, "org_path", "organization")
        return self.filter(**{path: organization})


class RunQuerySet(OrgScopedQuerySet):
    """Runs, with the filter every list and count of runs shown to people uses."""

    def _empty_member(self) -> models.Q:
        """A rank member holding nothing: no sample and no energy.

        Such a run is an id a CodeCarbon client opened twice (a retried or doubled ``POST /runs``): its job's
        counting run holds all its work (``emissions.services.run_ranks``), so listing it would show one run
        as two, the second at 0 kWh. It stays stored, since its client may still write to it; a real rank
        that has not reported yet is one too until its first sample.
        """
        samples = self.model.samples.rel.related_model.objects.filter(run=models.OuterRef("pk"))
        return models.Q(~models.Exists(samples), rank_of__isnull=False, energy_kwh=0)

    def without_empty_members(self) -> RunQuerySet:
        """Leave out rank members holding nothing (``_empty_member``)."""
        return self.exclude(self._empty_member())

    def empty_members(self) -> RunQuerySet:
        """Only the rank members holding nothing (``_empty_member``)."""
        return self.filter(self._empty_member())


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


class HourlyIntensityQuerySet(models.QuerySet):
    """Hourly grid intensities: shipped datasets (no organization) and organizations' own
    (``grid_intensity_hourly`` imports). Every read for an organization starts with ``visible_to``, the one
    chokepoint: another organization's own hours never reach a figure of this one."""

    def visible_to(self, organization) -> HourlyIntensityQuerySet:
        """Hours of shipped datasets and of the organization's own datasets; never another organization's."""
        return self.filter(models.Q(dataset__organization__isnull=True) | models.Q(dataset__organization=organization))

    def own_first(self) -> HourlyIntensityQuerySet:
        """Ordered by zone and hour, and within an hour the organization's own datasets before shipped ones, then
        by dataset id (the older dataset first): read after ``visible_to``, the first row of an hour wins."""
        return self.order_by(
            "zone_id", "hour_start", models.F("dataset__organization_id").asc(nulls_last=True), "dataset_id"
        )

    def by_hour(self, *fields: str) -> dict[tuple[str, datetime], tuple]:
        """``{(zone code, hour_start): (value of each of fields)}``, one entry per zone and hour where several
        datasets hold it: each field's value is the first non-empty one in ``own_first`` order, so the
        organization's own value wins over a shipped one, and a value its own row leaves empty (a residual
        mix, a carbon-free share) comes from the first shipped dataset that has it."""
        values: dict[tuple[str, datetime], list] = {}
        for zone, hour, *row in (
            self.own_first().values_list("zone__code", "hour_start", *fields).iterator(chunk_size=20_000)
        ):
            known = values.get((zone, hour))
            if known is None:
                values[(zone, hour)] = row
            else:
                for index, value in enumerate(row):
                    if known[index] is None:
                        known[index] = value
        return {key: tuple(row) for key, row in values.items()}
