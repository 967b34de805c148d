"""The hourly Scope 2 page (``/scope2-hourly/``): the revision's hourly-matched market-based figure beside the
inventory's 2015-method figures, per site and for the organization, the 24/7 carbon-free score and its
hour-of-day heatmap. The hourly figure is computed on request (``emissions.services.hourly_scope2``); the
inventory's figures come from the daily rollup (operational Scope 2 lines of each site)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pandas as pd
from django.db.models import Sum

from emissions.choices import Basis
from emissions.models import DailyEmissionRollup, Organization
from emissions.periods import Period
from emissions.services.hourly_scope2 import SiteHourly, organization_hourly_scope2
from emissions.units import KG_PER_T
from reporting.selectors.common import PageData

HEATMAP_COLUMNS = ["month", "hour_utc", "cfe_pct", "load_kwh"]
METHOD_COLUMNS = ["figure", "emissions_t_co2e"]


def scope2_hourly_dashboard(*, organization: Organization, period: Period) -> PageData:
    """Facts: ``sites`` (one row per site that buys its electricity: load, both market-based figures, both
    location-based figures, CFE score, matched and profiled counts), ``totals`` (the same summed),
    ``annual_instruments_kwh`` and ``notes``. Charts: ``cfe_heatmap`` (``HEATMAP_COLUMNS``: the carbon-free
    share of load per month and UTC hour of day, %) and ``methods`` (``METHOD_COLUMNS``: the four figures, t)."""
    result = organization_hourly_scope2(organization=organization, period=period)
    ledger = scope2_ledger_by_site(organization, period)
    sites = [site_row(site, ledger.get(site.site.pk, {})) for site in result.sites]
    totals: dict[str, Any] = {
        key: sum(row[key] for row in sites)
        for key in (
            "load_kwh",
            "matched_kwh",
            "hourly_market_kg_co2e",
            "inventory_market_kg_co2e",
            "hourly_location_kg_co2e",
            "inventory_location_kg_co2e",
            "profiled_hours",
            "tracker_hours",
            "hours_without_hourly_factor",
        )
    }
    totals["cfe_pct"] = None if result.cfe_score is None else 100.0 * result.cfe_score
    methods = methods_frame(totals)
    return PageData(
        facts={
            "sites": sites,
            "totals": totals,
            "annual_instruments_kwh": result.annual_instruments_kwh,
            "notes": [note for site in result.sites for note in site.notes],
            # Sites whose 24/7 score is unknown (an hour without any carbon-free share): the organization's too.
            "unknown_cfe_sites": [row["site"] for row in sites if row["cfe_pct"] is None and row["load_kwh"]],
        },
        charts={"cfe_heatmap": cfe_heatmap_frame(result.sites), "methods": methods},
    )


def scope2_ledger_by_site(organization: Organization, period: Period) -> dict[int, dict]:
    """The inventory's operational Scope 2 per site over the period: ``{site id: {"location": kg, "market": kg}}``
    from the daily rollup."""
    return {
        row["site_id"]: row
        for row in DailyEmissionRollup.objects.for_org(organization)
        .filter(day__gte=period.start, day__lte=period.end, scope=2, basis=Basis.OPERATIONAL, site__isnull=False)
        .values("site_id")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }


def site_row(site: SiteHourly, ledger: dict) -> dict[str, Any]:
    """One site's figures: its hourly ones beside the inventory's (``ledger``: kg by method, or empty)."""
    return {
        "site": site.site.name,
        "slug": site.site.slug,
        "zone": site.site.zone.code,
        "load_kwh": site.load_kwh,
        "matched_kwh": site.matched_kwh,
        "hourly_market_kg_co2e": site.market_kg_co2e,
        "inventory_market_kg_co2e": ledger.get("market") or 0.0,
        "hourly_location_kg_co2e": site.location_kg_co2e,
        "inventory_location_kg_co2e": ledger.get("location") or 0.0,
        "cfe_pct": None if site.cfe_score is None else 100.0 * site.cfe_score,
        "profiled_hours": site.profiled_hours,
        "tracker_hours": site.tracker_hours,
        "hours_without_hourly_factor": site.hours_without_hourly_factor,
    }


def methods_frame(figures: dict[str, Any]) -> pd.DataFrame:
    """The four Scope 2 figures of a ``site_row`` (or their sums) in tonnes, ``METHOD_COLUMNS``."""
    return pd.DataFrame(
        [
            ("Market-based, 2015 method (the inventory)", figures["inventory_market_kg_co2e"] / KG_PER_T),
            ("Market-based, hourly matching (revision)", figures["hourly_market_kg_co2e"] / KG_PER_T),
            ("Location-based, the inventory's factors", figures["inventory_location_kg_co2e"] / KG_PER_T),
            ("Location-based, hourly factors", figures["hourly_location_kg_co2e"] / KG_PER_T),
        ],
        columns=METHOD_COLUMNS,
    )


def sites_cfe_heatmap_frame(*, organization: Organization, period: Period) -> pd.DataFrame:
    """The overview's heatmap: every site's 24/7 carbon-free share by month and UTC hour (``HEATMAP_COLUMNS``)."""
    return cfe_heatmap_frame(organization_hourly_scope2(organization=organization, period=period).sites)


def cfe_heatmap_frame(sites: Iterable[SiteHourly]) -> pd.DataFrame:
    """Σ carbon-free kWh ÷ Σ load kWh (%) per month and UTC hour of day over the sites' hours."""
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for site in sites:
        for key, (carbon_free_kwh, load_kwh) in site.cells.items():
            sums[key][0] += carbon_free_kwh
            sums[key][1] += load_kwh
    rows = [(month, hour, 100.0 * cf / load, load) for (month, hour), (cf, load) in sorted(sums.items()) if load]
    return pd.DataFrame(rows, columns=HEATMAP_COLUMNS)
