"""The site page (``/sites/<slug>/``): what a site is (zone, ownership, PUE, load profile), its metered
electricity for the period, and — where the organization buys that electricity — its Scope 2 by the
inventory's method beside the revision's hourly-matched one, its 24/7 carbon-free score and its hour-of-day
heatmap (the same calculation as the hourly Scope 2 page, ``emissions.services.hourly_scope2``, read for one
site: a site's share of its market boundary's hours)."""

from __future__ import annotations

from django.db.models import Count, Sum

from emissions.models import HourlyMeterReading, MeterReading, Organization, Site
from emissions.periods import Period
from emissions.services.hourly_scope2 import organization_hourly_scope2, period_bounds_utc
from reporting.selectors.common import PageData
from reporting.selectors.scope2_hourly import cfe_heatmap_frame, methods_frame, scope2_ledger_by_site, site_row


def site_dashboard(*, organization: Organization, site: Site, period: Period) -> PageData:
    """Facts: ``metered_kwh`` (the site's meter readings overlapping the period, as the inventory books
    them), ``hourly_metered_kwh`` and ``hourly_readings`` (hourly meter data inside the period), and for a
    site that buys its electricity ``hourly`` (a ``site_row``: both methods, CFE, profiled hours) and its
    ``notes``. Charts: ``cfe_heatmap`` and ``methods`` as on the hourly Scope 2 page, for this site."""
    readings = MeterReading.objects.for_org(organization).filter(
        site=site, period_start__lte=period.end, period_end__gte=period.start
    )
    start, end = period_bounds_utc(period)
    hourly_readings = HourlyMeterReading.objects.filter(site=site, hour_start__gte=start, hour_start__lt=end).aggregate(
        kwh=Sum("energy_kwh"), hours=Count("id")
    )
    facts: dict = {
        "metered_kwh": readings.aggregate(kwh=Sum("energy_kwh"))["kwh"] or 0.0,
        "meter_readings": readings.count(),
        "hourly_metered_kwh": hourly_readings["kwh"] or 0.0,
        "hourly_readings": hourly_readings["hours"] or 0,
        "hourly": None,
        "notes": [],
    }
    charts: dict = {}
    if site.buys_electricity:
        result = organization_hourly_scope2(organization=organization, period=period)
        mine = next(entry for entry in result.sites if entry.site.pk == site.pk)
        facts["hourly"] = site_row(mine, scope2_ledger_by_site(organization, period).get(site.pk, {}))
        facts["notes"] = mine.notes
        charts = {"cfe_heatmap": cfe_heatmap_frame([mine]), "methods": methods_frame(facts["hourly"])}
    return PageData(facts=facts, charts=charts)
