"""Writes for the organization's off-site run settings: its default location and inventory rule."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from emissions.choices import LocationSource
from emissions.models import GridZone, Organization, Run
from emissions.services.refresh import ALL_PERIODS, figures_refresh_request


@transaction.atomic
def organization_offsite_update(
    *, organization: Organization, default_grid_zone: GridZone | None, offsite_runs_scope: str
) -> int:
    """Set where unlocated runs are taken to run and where off-site runs go in the inventory.

    Runs that nothing else locates (no site, cloud region or tracker country) follow the default: moved to
    the new zone, or back to unlocated when it is cleared. Every period is then recomputed. Returns how
    many runs moved.
    """
    organization.default_grid_zone = default_grid_zone
    organization.offsite_runs_scope = offsite_runs_scope
    organization.full_clean()
    organization.save(update_fields=["default_grid_zone", "offsite_runs_scope"])
    unlocated = Run.objects.for_org(organization).filter(
        site__isnull=True,
        cloud_region__isnull=True,
        location_source__in=[LocationSource.UNKNOWN, LocationSource.ORGANIZATION_DEFAULT],
    )
    now = timezone.now()
    if default_grid_zone is None:
        moved = unlocated.exclude(grid_zone=None).update(
            grid_zone=None, location_source=LocationSource.UNKNOWN, updated_at=now
        )
    else:
        moved = unlocated.exclude(grid_zone=default_grid_zone).update(
            grid_zone=default_grid_zone, location_source=LocationSource.ORGANIZATION_DEFAULT, updated_at=now
        )
    # The flag travels with the location: it says the default placed the run.
    for run in unlocated.only("pk", "flags"):
        flags = set(run.flags) - {"location_organization_default"}
        if default_grid_zone is not None:
            flags.add("location_organization_default")
        if sorted(flags) != sorted(run.flags):
            Run.objects.filter(pk=run.pk).update(flags=sorted(flags))
    figures_refresh_request(organization_id=organization.pk, days=ALL_PERIODS)
    return moved
