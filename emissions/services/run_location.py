"""Where a run ran, for its grid factor: every run gets a location when anything says where it was.

Order (docs/methodology.md, "Off-site runs"):

1. the site of the token or the import (the organization said so);
2. the tracker's cloud provider and region (a cloud region maps to a grid zone);
3. the tracker's country and sub-national region: a US state, Canadian province, Australian state or any
   subdivision zone that has a grid factor (CodeCarbon writes ``region`` as the lower-case name,
   ``"quebec"``; an ISO 3166-2 code such as ``US-VA`` or ``VA`` also works); else the country;
4. the organization's default location (Settings → Organization).

Steps 3 and 4 place the run by a report, not a fact: such runs are flagged and their ledger records carry
the ``estimated_location`` quality tier.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from emissions.choices import LocationSource
from emissions.models import CloudRegion, GridFactor, GridZone, Organization, Site
from emissions.records import RunRecord


@dataclass(frozen=True)
class RunLocation:
    """The outcome for one record: at most one of site, cloud region and grid zone is set."""

    site: Site | None = None
    cloud_region: CloudRegion | None = None
    grid_zone: GridZone | None = None
    source: str = LocationSource.UNKNOWN
    flags: tuple[str, ...] = ()


def _name_key(text: str) -> str:
    """``"Île-de-France"`` and ``"ile de france"`` compare equal: no accents, case or punctuation."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.casefold())


class RunLocator:
    """Resolves records' locations for one organization (tables read once per batch)."""

    def __init__(self, organization: Organization):
        self.organization = organization
        self.regions = {(r.provider, r.region): r for r in CloudRegion.objects.order_by("dataset_id")}
        zones = list(GridZone.objects.select_related("parent"))
        self.countries = {z.country_iso3: z for z in zones if z.parent_id is None and z.country_iso3}
        with_factor = set(GridFactor.objects.visible_to(organization).values_list("zone_id", flat=True).distinct())
        self.subdivisions: dict[tuple[str, str], GridZone] = {}
        for zone in zones:
            if zone.parent_id is None or zone.pk not in with_factor:
                continue
            for key in (_name_key(zone.name), _name_key(zone.code), _name_key(zone.code.split("-", 1)[-1])):
                self.subdivisions.setdefault((zone.country_iso3, key), zone)
        self.default_zone = organization.default_grid_zone

    def locate(self, record: RunRecord, *, site: Site | None) -> RunLocation:
        """The location of one record (see the module docstring for the order)."""
        flags = []
        region = self.regions.get((record.cloud_provider.lower(), record.cloud_region.lower()))
        if record.cloud_region and region is None:
            flags.append("unknown_cloud_region")
        if site is not None:
            return RunLocation(site=site, source=LocationSource.SITE, flags=tuple(flags))
        if region is not None:
            return RunLocation(cloud_region=region, source=LocationSource.CLOUD_REGION, flags=tuple(flags))
        country = self.countries.get(record.country_iso3.upper()) if record.country_iso3 else None
        if country is not None:
            subdivision = self.subdivisions.get((country.country_iso3, _name_key(record.tracker_region)))
            if record.tracker_region and subdivision is not None:
                return RunLocation(
                    grid_zone=subdivision,
                    source=LocationSource.TRACKER_REGION,
                    flags=(*flags, "location_from_tracker"),
                )
            return RunLocation(
                grid_zone=country, source=LocationSource.TRACKER_COUNTRY, flags=(*flags, "location_from_tracker")
            )
        if self.default_zone is not None:
            return RunLocation(
                grid_zone=self.default_zone,
                source=LocationSource.ORGANIZATION_DEFAULT,
                flags=(*flags, "location_organization_default"),
            )
        return RunLocation(flags=tuple(flags))
