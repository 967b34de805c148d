"""The report's supplementary section: Scope 2 with hourly matching, the GHG Protocol Scope 2 revision's
method (public consultation draft, 2025), beside the inventory's 2015-method figures (docs/hourly-scope2.md).

The 2015 method's market-based figure stays the inventory's (E1-6.49b); these rows carry no XBRL concept
and are never part of a total. Meter data, certificates and hourly factors are not part of the ledger, so
``hourly_scope2_snapshot`` computes the figures once, when the report's calculations are pinned, and the
Report keeps them (``Report.hourly_scope2``); ``hourly_scope2_section`` builds the rows from that snapshot
alone, so every later rendering shows the same numbers.

Snapshot keys: ``method``, ``computed_at`` (ISO 8601), ``annual_instruments_kwh``, ``cfe_score`` (0–1 or
null: unknown) and ``sites``, one dict per site that buys its electricity with ``slug``, ``name``, ``zone``,
``load_kwh``, ``matched_kwh``, ``market_kg_co2e``, ``location_kg_co2e``, ``carbon_free_kwh``,
``cfe_score``, ``profiled_hours``, ``hours_without_hourly_factor``, ``hours_without_hourly_cfe``,
``hours_without_cfe_data``, ``notes`` and the inventory's own figures of the site in the pinned calculation
(``inventory_location_kg_co2e``, ``inventory_market_kg_co2e``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.db.models import Sum

from emissions.choices import Scope
from emissions.models import EmissionRecord
from emissions.periods import Period
from emissions.services.hourly_scope2 import organization_hourly_scope2
from emissions.units import KG_PER_T, KWH_PER_MWH
from reporting.models import Report
from reporting.reports.figures import INVENTORY_BASES

SECTION = "scope2_hourly"
TITLE = (
    "Scope 2, hourly matching (GHG Protocol Scope 2 revision, consultation draft 2025 \u2014 not the inventory figure)"
)
METHOD = "hourly matching, GHG Protocol Scope 2 revision (public consultation draft, 2025)"
HOURLY_COLUMN = "Hourly matching (revision)"
INVENTORY_COLUMN = "Inventory (2015 method)"
UNKNOWN = "unknown"
# Decimals of the stored value per kind (as the datapoints: tonnes and MWh to the gram and the watt-hour).
DECIMALS = {"ghg": 6, "energy": 6, "percent": 4, "hours": 0}


@dataclass(frozen=True)
class HourlyRow:
    """One line of the section: the revision's figure (``hourly``) and, for the emissions rows, the
    inventory's 2015-method figure beside it (``inventory``; None elsewhere). A None ``hourly`` is unknown
    (a 24/7 score without a carbon-free share for some hour), never 0."""

    ref: str
    label: str
    unit: str
    kind: str
    hourly: float | None
    inventory: float | None = None
    note: str = ""

    @property
    def compared(self) -> bool:
        return self.inventory is not None


@dataclass(frozen=True)
class HourlyScope2Section:
    """The section as every format shows it: its title, what it is, the rows and the calculation's notes."""

    title: str
    intro: str
    computed_at: str
    rows: list[HourlyRow]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "intro": self.intro,
            "computed_at": self.computed_at,
            "columns": {"hourly": HOURLY_COLUMN, "inventory": INVENTORY_COLUMN},
            # "unknown" rather than null: a 24/7 score without data is not "not reported", and never 0.
            "rows": [{**asdict(row), "hourly": UNKNOWN if row.hourly is None else row.hourly} for row in self.rows],
            "notes": self.notes,
        }


def value_text(value: float | None, kind: str, *, decimals: int | None = None, grouped: bool = False) -> str:
    """A figure with the decimals of its kind (or ``decimals``), thousands grouped or not; ``unknown`` for None."""
    if value is None:
        return UNKNOWN
    places = DECIMALS.get(kind, 6) if decimals is None else decimals
    return f"{value:,.{places}f}" if grouped else f"{value:.{places}f}"


# --- The snapshot, taken when the report is pinned -------------------------------------------------


def hourly_scope2_snapshot(*, report: Report) -> dict:
    """The hourly-matched Scope 2 of the report's period now, with each site's inventory figures of the
    report's pinned calculation, as JSON-ready values at full precision (the section rounds)."""
    if report.calculation is None:
        raise ValueError("the report has no pinned calculation yet")
    period = Period(label=report.period_label, start=report.period_start, end=report.period_end)
    result = organization_hourly_scope2(organization=report.organization, period=period)
    inventory = {
        row["site_id"]: row
        for row in EmissionRecord.objects.filter(
            calculation=report.calculation, scope=Scope.SCOPE_2, basis__in=INVENTORY_BASES, site__isnull=False
        )
        .values("site_id")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by()
    }
    sites = []
    for site in result.sites:
        own = inventory.get(site.site.pk, {})
        sites.append(
            {
                "slug": site.site.slug,
                "name": site.site.name,
                "zone": site.site.zone.code,
                "load_kwh": site.load_kwh,
                "matched_kwh": site.matched_kwh,
                "market_kg_co2e": site.market_kg_co2e,
                "location_kg_co2e": site.location_kg_co2e,
                "carbon_free_kwh": site.carbon_free_kwh,
                "cfe_score": site.cfe_score,
                "profiled_hours": site.profiled_hours,
                "hours_without_hourly_factor": site.hours_without_hourly_factor,
                "hours_without_hourly_cfe": site.hours_without_hourly_cfe,
                "hours_without_cfe_data": site.hours_without_cfe_data,
                "notes": list(site.notes),
                "inventory_location_kg_co2e": own.get("location") or 0.0,
                "inventory_market_kg_co2e": own.get("market") or 0.0,
            }
        )
    return {
        "method": METHOD,
        "computed_at": report.as_of.isoformat() if report.as_of else "",
        "annual_instruments_kwh": result.annual_instruments_kwh,
        "cfe_score": result.cfe_score,
        "sites": sites,
    }


# --- The section, built from the snapshot alone ----------------------------------------------------


def _round(value: float | None, kind: str) -> float | None:
    if value is None:
        return None
    if kind == "hours":
        return int(value)
    rounded = round(value, DECIMALS[kind])
    return 0.0 if rounded == 0 else rounded  # no "-0.0" in the files


def _t(kg: float) -> float | None:
    return _round(kg / KG_PER_T, "ghg")


def _mwh(kwh: float) -> float | None:
    return _round(kwh / KWH_PER_MWH, "energy")


def _pct(score: float | None) -> float | None:
    return None if score is None else _round(100.0 * score, "percent")


CFE_NOTE = (
    "carbon-free kWh (certificates matched + the grid's carbon-free share of the rest) / load kWh, hour by hour; "
    "unknown when some hour has no carbon-free share of the grid at all (never counted as 0)"
)


def hourly_scope2_section(
    snapshot: dict, *, inventory_location_t: float, inventory_market_t: float
) -> HourlyScope2Section:
    """The section's rows: the organization's figures, then each site's, from the report's snapshot; the
    organization's inventory figures are the report's own E1-6.49a and E1-6.49b."""
    sites = snapshot["sites"]

    def total(key: str) -> float:
        return sum(site[key] for site in sites)

    rows = [
        HourlyRow(
            "S2H.market",
            "Scope 2 market-based",
            "tCO2e",
            "ghg",
            _t(total("market_kg_co2e")),
            inventory_market_t,
            "hourly: granular certificates matched in their own hour and grid zone, the rest at the residual mix; "
            "inventory: E1-6.49b (2015 method, the inventory figure)",
        ),
        HourlyRow(
            "S2H.location",
            "Scope 2 location-based",
            "tCO2e",
            "ghg",
            _t(total("location_kg_co2e")),
            inventory_location_t,
            "hourly: each hour's own grid factor where loaded, else the month's or year's; inventory: E1-6.49a",
        ),
        HourlyRow(
            "S2H.load",
            "Electricity of the sites that buy it, hour by hour (metered or profiled)",
            "MWh",
            "energy",
            _mwh(total("load_kwh")),
        ),
        HourlyRow(
            "S2H.matched",
            "Electricity matched hour by hour with granular certificates",
            "MWh",
            "energy",
            _mwh(total("matched_kwh")),
        ),
        HourlyRow(
            "S2H.cfe", "24/7 carbon-free energy score", "%", "percent", _pct(snapshot["cfe_score"]), None, CFE_NOTE
        ),
        HourlyRow(
            "S2H.profiled_hours",
            "Site-hours with load spread by a profile (no hourly meter data)",
            "h",
            "hours",
            _round(total("profiled_hours"), "hours"),
        ),
        HourlyRow(
            "S2H.hours_without_hourly_factor",
            "Site-hours without an hourly grid factor (the month's or year's used)",
            "h",
            "hours",
            _round(total("hours_without_hourly_factor"), "hours"),
        ),
        HourlyRow(
            "S2H.annual_instruments",
            "Annual instruments (GOs, RECs, PPAs) of the period, not usable hour by hour",
            "MWh",
            "energy",
            _mwh(snapshot["annual_instruments_kwh"]),
            None,
            "counted in the inventory's market-based figure; never in the hourly one",
        ),
    ]
    for site in sites:
        ref, name = f"S2H.site.{site['slug']}", f"{site['name']} ({site['zone']})"
        rows += [
            HourlyRow(
                f"{ref}.market",
                f"{name}: Scope 2 market-based",
                "tCO2e",
                "ghg",
                _t(site["market_kg_co2e"]),
                _t(site["inventory_market_kg_co2e"]),
            ),
            HourlyRow(
                f"{ref}.location",
                f"{name}: Scope 2 location-based",
                "tCO2e",
                "ghg",
                _t(site["location_kg_co2e"]),
                _t(site["inventory_location_kg_co2e"]),
            ),
            HourlyRow(f"{ref}.load", f"{name}: electricity, hour by hour", "MWh", "energy", _mwh(site["load_kwh"])),
            HourlyRow(f"{ref}.matched", f"{name}: matched hour by hour", "MWh", "energy", _mwh(site["matched_kwh"])),
            HourlyRow(f"{ref}.cfe", f"{name}: 24/7 carbon-free energy score", "%", "percent", _pct(site["cfe_score"])),
            HourlyRow(
                f"{ref}.profiled_hours",
                f"{name}: hours with profiled load",
                "h",
                "hours",
                _round(site["profiled_hours"], "hours"),
            ),
            HourlyRow(
                f"{ref}.hours_without_hourly_factor",
                f"{name}: hours without an hourly grid factor",
                "h",
                "hours",
                _round(site["hours_without_hourly_factor"], "hours"),
            ),
        ]
    intro = (
        "Supplementary information, not an ESRS datapoint and not tagged: the market-based figure of the "
        "GHG Protocol Scope 2 Guidance (2015) stays the inventory's (E1-6.49b). Under the revision's proposal "
        "a certificate covers only its own hour and grid zone (market boundary), load no certificate covers "
        "takes the residual mix, and annual instruments cannot be used. "
        f"Computed once when the report's calculations were pinned ({snapshot['computed_at'] or 'not pinned'}); "
        "regenerating the report shows the same figures."
    )
    notes = [note for site in sites for note in site["notes"]]
    if not sites:
        notes.append("no site of the organization buys its electricity: no Scope 2 to match hour by hour")
    return HourlyScope2Section(title=TITLE, intro=intro, computed_at=snapshot["computed_at"], rows=rows, notes=notes)
