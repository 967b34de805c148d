"""Writes for sites (the ``sites`` inventory import)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.text import slugify

from emissions.models import GridZone, Organization, Site
from emissions.records import SiteRecord, UpsertOutcome


@transaction.atomic
def site_upsert_many(
    *, organization: Organization, records: Sequence[SiteRecord], source_batch_id: int | None = None
) -> UpsertOutcome:
    """Create or update sites by slug; an identical re-import counts as duplicates and writes nothing.

    ``source_batch_id`` is accepted like every loader's, but a site keeps no batch reference.
    """
    outcome = UpsertOutcome()
    zones = {zone.code: zone for zone in GridZone.objects.filter(code__in={r.grid_zone_code for r in records})}
    existing = {site.slug: site for site in Site.objects.for_org(organization)}
    for index, record in enumerate(records):
        zone = zones.get(record.grid_zone_code)
        if zone is None:
            outcome.rejected[index] = f"unknown grid zone {record.grid_zone_code!r} (see /admin/emissions/gridzone/)"
            continue
        values = {
            "name": record.name,
            "ownership": record.ownership,
            "zone": zone,
            "pue": record.pue,
            "wue_l_per_kwh": record.wue_l_per_kwh,
            "buys_electricity": record.buys_electricity,
        }
        slug = slugify(record.name)
        site = existing.get(slug)
        if site is None:
            existing[slug] = Site.objects.create(organization=organization, slug=slug, **values)
            outcome.loaded += 1
        elif all(getattr(site, name) == value for name, value in values.items()):
            outcome.duplicate += 1
        else:
            for name, value in values.items():
                setattr(site, name, value)
            site.save(update_fields=list(values))
            outcome.loaded += 1
    return outcome
