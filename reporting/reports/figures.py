"""The figures of one pinned Calculation, in report units (tCO2e, MWh, %), keyed by datapoint ref.

Totals come from ``emissions.selectors.inventory_summary`` so the report can never disagree with
``manage.py inventory``; breakdowns (sub-categories, energy mix, instruments, quality) are read
from the same calculation's records. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, Sum

from emissions.choices import ActivityKind, Basis, InstrumentKind, QualityTier, Scope
from emissions.functional_units import run_inferences, run_tokens
from emissions.models import (
    Calculation,
    CarbonCredit,
    EmissionRecord,
    EnergyInstrument,
    FuelFactor,
    GridEnergyMix,
    GridZone,
    NetRevenue,
    Run,
)
from emissions.selectors import inventory_summary
from emissions.units import G_PER_KG, KG_PER_T, KWH_PER_MWH, SECONDS_PER_HOUR

INVENTORY_BASES = (Basis.OPERATIONAL, Basis.CAPITAL_GOODS)
# Certificates and contracts that carry renewable attributes (Scope 2 Guidance ch. 7); a supplier
# rate says nothing about the source, so its kWh are split by the zone mix like uncovered kWh.
RENEWABLE_INSTRUMENTS = {
    InstrumentKind.REC,
    InstrumentKind.GO,
    InstrumentKind.IREC,
    InstrumentKind.PPA,
    InstrumentKind.GREEN_TARIFF,
}
_TIER_ORDER = list(QualityTier.values)


@dataclass
class Figures:
    """``values`` and ``quality`` by ref; ``owners`` the dynamic per-team/project rows
    (ref → (label, unit, value)); ``gaps`` what could not be computed, in words; ``unreported`` the refs
    with no data at all behind them in this calculation (no record of their scope, category or kind),
    whose 0 would be a guess, not a measurement: a comparative shows them as not reported."""

    summary: dict
    values: dict[str, float | None] = field(default_factory=dict)
    quality: dict[str, str] = field(default_factory=dict)
    owners: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)
    unreported: set[str] = field(default_factory=set)


def _t(kg: float | None) -> float:
    return (kg or 0.0) / KG_PER_T


def _pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def quality_text(weights: dict[str, float]) -> str:
    """``metered 80.0%, measured 20.0%``: the tiers behind a figure, by weight, best tier first on ties."""
    total = sum(weights.values())
    if total <= 0:
        return ""
    ranked = sorted(weights.items(), key=lambda item: (-round(item[1] / total, 6), _tier_rank(item[0])))
    return ", ".join(f"{tier} {100.0 * weight / total:.1f}%" for tier, weight in ranked if weight > 0)


def _tier_rank(tier: str) -> int:
    return _TIER_ORDER.index(tier) if tier in _TIER_ORDER else len(_TIER_ORDER)


def calculation_figures(*, calculation: Calculation) -> Figures:
    """Every datapoint value of one calculation (see reporting/data/esrs_e1_concepts.csv for the refs)."""
    figures = Figures(summary=inventory_summary(calculation=calculation))
    records = EmissionRecord.objects.filter(calculation=calculation)
    groups = list(
        records.values("scope", "scope3_category", "scope3_subcategory", "basis", "quality", "activity_kind")
        .annotate(location=Sum("emissions_kg_co2e_location"), market=Sum("emissions_kg_co2e_market"))
        .order_by("scope", "scope3_category", "scope3_subcategory", "basis", "quality", "activity_kind")
    )
    _emissions(figures, groups)
    _energy(figures, calculation, records)
    _revenue_and_intensity(figures, calculation)
    _credits(figures, calculation)
    _management(figures, calculation, records, groups)
    return figures


def _pick(groups: list[dict], **match) -> list[dict]:
    def matches(group: dict) -> bool:
        for key, wanted in match.items():
            if key == "bases":
                if group["basis"] not in wanted:
                    return False
            elif group[key] != wanted:
                return False
        return True

    return [group for group in groups if matches(group)]


def _kg(groups: list[dict], column: str = "location") -> float:
    return sum(group[column] or 0.0 for group in groups)


def _quality(groups: list[dict]) -> str:
    weights: dict[str, float] = defaultdict(float)
    for group in groups:
        weights[group["quality"]] += group["location"] or 0.0
    return quality_text(weights)


def _emissions(figures: Figures, groups: list[dict]) -> None:
    summary, values, quality = figures.summary, figures.values, figures.quality
    inventory = _pick(groups, bases=INVENTORY_BASES)
    scope_1, scope_2 = _pick(inventory, scope=Scope.SCOPE_1), _pick(inventory, scope=Scope.SCOPE_2)
    scope_3 = _pick(inventory, scope=Scope.SCOPE_3)
    by_category = summary["scope_3_kg_by_category"]

    def put(ref: str, kg: float, rows: list[dict]) -> None:
        values[ref] = _t(kg)
        quality[ref] = _quality(rows)
        if not rows:
            figures.unreported.add(ref)

    put("E1-6.48a", summary["scope_1_kg"], scope_1)
    for ref, subcategory in (("E1-6.48a-sc", "stationary_combustion"), ("E1-6.48a-fu", "fugitive")):
        rows = _pick(scope_1, scope3_subcategory=subcategory)
        put(ref, _kg(rows), rows)
    put("E1-6.49a", summary["scope_2_location_kg"], scope_2)
    values["E1-6.49b"] = _t(summary["scope_2_market_kg"])
    quality["E1-6.49b"] = quality["E1-6.49a"]
    put("E1-6.51", sum(by_category.values()), scope_3)
    for category in range(1, 16):
        put(f"E1-6.51-c{category}", by_category.get(str(category), 0.0), _pick(scope_3, scope3_category=category))
    cat_1 = _pick(scope_3, scope3_category=1)
    cloud, colocation = _pick(cat_1, scope3_subcategory="cloud"), _pick(cat_1, scope3_subcategory="colocation")
    put("E1-6.51-c1-cloud", _kg(cloud), cloud)
    put("E1-6.51-c1-cloud-mb", _kg(cloud, "market"), cloud)
    put("E1-6.51-c1-colo", _kg(colocation), colocation)
    put("E1-6.51-c1-dc", _kg(cloud) + _kg(colocation), cloud + colocation)
    cat_3 = _pick(scope_3, scope3_category=3)
    for letter in "abc":
        rows = _pick(cat_3, scope3_subcategory=f"3{letter}")
        put(f"E1-6.51-c3{letter}", _kg(rows), rows)
    put("E1-6.52a", summary["total_location_kg"], inventory)
    # The ESRS total (EFRAG's calculation: Scope 1 + market-based Scope 2 + Scope 3, one Scope 3 figure) and,
    # untagged beside it, the same with cloud providers at their own market-based figures.
    values["E1-6.52b"] = _t(summary["scope_1_kg"] + summary["scope_2_market_kg"] + sum(by_category.values()))
    values["E1-6.52b-cloud-mb"] = _t(summary["total_market_kg"])
    quality["E1-6.52b"] = quality["E1-6.52b-cloud-mb"] = quality["E1-6.52a"]
    if "E1-6.49a" in figures.unreported:
        figures.unreported.add("E1-6.49b")
    if "E1-6.52a" in figures.unreported:
        figures.unreported |= {"E1-6.52b", "E1-6.52b-cloud-mb", "E1-6.53-lb", "E1-6.53-mb"}
    primary = _kg(_pick(scope_3, quality=QualityTier.PROVIDER_REPORTED)) + _kg(
        _pick(scope_3, quality=QualityTier.SUPPLIER_SPECIFIC)
    )
    values["E1-6.AR46g"] = _pct(primary, _kg(scope_3))


def _energy(figures: Figures, calculation: Calculation, records) -> None:
    """E1-5: own-operations energy by source, and Scope 2 instrument coverage (AR 45(d))."""
    values, quality = figures.values, figures.quality
    instruments = {
        row["instrument_id"]: row
        for row in EnergyInstrument.objects.for_org(calculation.organization).values("instrument_id", "kind", "bundled")
    }
    mixes = _MixBook()
    kwh = defaultdict(float)  # fossil, nuclear, renewable, covered, bundled, unbundled, scope_2
    weights: dict[str, float] = defaultdict(float)
    electricity = (
        records.filter(basis=Basis.OPERATIONAL)
        .filter(Q(scope=Scope.SCOPE_2) | Q(scope=Scope.SCOPE_3, scope3_subcategory="colocation"))
        .values_list("scope", "energy_kwh", "factors", "period_start", "quality", "site__zone__code")
        .order_by("pk")
    )
    for scope, energy_kwh, factors, day, tier, zone in electricity.iterator(chunk_size=5000):
        energy_kwh = energy_kwh or 0.0
        weights[tier] += energy_kwh
        mixed_kwh = energy_kwh
        if scope == Scope.SCOPE_2:
            kwh["scope_2"] += energy_kwh
            for covered in (factors.get("market") or {}).get("instruments", []):
                instrument = instruments.get(covered["id"], {})
                kwh["covered"] += covered["kwh"]
                kwh["bundled" if instrument.get("bundled") else "unbundled"] += covered["kwh"]
                if instrument.get("kind") in RENEWABLE_INSTRUMENTS and not covered["g_per_kwh"]:
                    kwh["renewable_instruments"] += covered["kwh"]
                    mixed_kwh -= covered["kwh"]
        fossil, nuclear, renewable = mixes.shares(zone=zone, year=day.year, gaps=figures.gaps)
        kwh["fossil"] += mixed_kwh * fossil
        kwh["nuclear"] += mixed_kwh * nuclear
        kwh["renewable_grid"] += mixed_kwh * renewable
    fuel_kwh = _fuel_energy_kwh(records, figures.gaps)
    electricity_kwh = figures.summary["energy_kwh"]
    total_kwh = electricity_kwh + fuel_kwh
    renewable_kwh = kwh["renewable_instruments"] + kwh["renewable_grid"]
    values.update(
        {
            "E1-5.37": total_kwh / KWH_PER_MWH,
            "E1-5.37-el": electricity_kwh / KWH_PER_MWH,
            "E1-5.37-fu": fuel_kwh / KWH_PER_MWH,
            "E1-5.37a": (kwh["fossil"] + fuel_kwh) / KWH_PER_MWH,
            "E1-5.37b": kwh["nuclear"] / KWH_PER_MWH,
            "E1-5.37c": renewable_kwh / KWH_PER_MWH,
            "E1-5.37c-i": 0.0,
            "E1-5.37c-ii": renewable_kwh / KWH_PER_MWH,
            "E1-5.37c-iii": 0.0,
            "E1-5.AR34-fossil": _pct(kwh["fossil"] + fuel_kwh, total_kwh),
            "E1-5.AR34-nuclear": _pct(kwh["nuclear"], total_kwh),
            "E1-5.AR34-renewable": _pct(renewable_kwh, total_kwh),
            "E1-5.VC": figures.summary["cloud_energy_kwh"] / KWH_PER_MWH,
            "E1-6.AR45d": _pct(kwh["covered"], kwh["scope_2"]),
            "E1-6.AR45d-b": _pct(kwh["bundled"], kwh["scope_2"]),
            "E1-6.AR45d-u": _pct(kwh["unbundled"], kwh["scope_2"]),
        }
    )
    if not weights:  # no electricity record: its figures are not reported (fuel, if any, still is)
        figures.unreported |= {
            "E1-5.37-el",
            "E1-5.37b",
            "E1-5.37c",
            "E1-5.37c-ii",
            "E1-6.AR45d",
            "E1-6.AR45d-b",
            "E1-6.AR45d-u",
        }
        if not fuel_kwh:  # no energy data at all
            figures.unreported |= {ref for ref in values if ref.startswith("E1-5.") and ref != "E1-5.VC"}
    if not fuel_kwh:
        figures.unreported.add("E1-5.37-fu")
    if fuel_kwh:
        weights[QualityTier.METERED] += fuel_kwh
    if not figures.summary["cloud_energy_kwh"]:
        figures.unreported.add("E1-5.VC")
    text = quality_text(weights)
    for ref in ("E1-5.37", "E1-5.37a", "E1-5.37b", "E1-5.37c", "E1-5.37c-ii"):
        quality[ref] = text


def _fuel_energy_kwh(records, gaps: list[str]) -> float:
    """Fuel energy from Scope 1 combustion records: kgCO2e / (the same fuel's kgCO2e per kWh NCV)."""
    per_kwh = {
        fuel.lower(): value
        for fuel, unit, value in FuelFactor.objects.values_list("fuel", "unit", "kg_co2e_per_unit").order_by("id")
        if unit.lower().startswith("kwh") and value
    }
    fuels = dict(FuelFactor.objects.values_list("id", "fuel"))
    total = 0.0
    combustion = records.filter(scope=Scope.SCOPE_1, scope3_subcategory="stationary_combustion")
    for kg, factors in combustion.values_list("emissions_kg_co2e_location", "factors").order_by("pk"):
        fuel = fuels.get((factors.get("fuel") or {}).get("id"), "")
        if fuel.lower() in per_kwh:
            total += kg / per_kwh[fuel.lower()]
        else:
            gaps.append(f"no net-CV factor for fuel {fuel or '(unknown)'}: its energy is not in E1-5")
    return total


class _MixBook:
    """Generation mix shares (fossil, nuclear, renewable; fractions summing to 1) by zone and year."""

    def __init__(self):
        self._rows: dict[str, list] = defaultdict(list)
        self._cache: dict[tuple[str, int], tuple[float, float, float]] = {}
        mixes = GridEnergyMix.objects.select_related("zone").order_by("zone__code", "year", "dataset_id")
        for mix in mixes:
            self._rows[mix.zone.code].append(mix)

    def shares(self, *, zone: str | None, year: int, gaps: list[str]) -> tuple[float, float, float]:
        key = (zone or "", year)
        if key not in self._cache:
            self._cache[key] = self._resolve(zone, year, gaps)
        return self._cache[key]

    def _resolve(self, zone: str | None, year: int, gaps: list[str]) -> tuple[float, float, float]:
        candidates = self._rows.get(zone or "", [])
        if not candidates and zone:
            parent = GridZone.objects.filter(code=zone).values_list("parent__code", flat=True).first()
            candidates = self._rows.get(parent or "", [])
        if not candidates:
            gaps.append(f"no generation mix for zone {zone or '(none)'}: its electricity is counted as fossil")
            return 1.0, 0.0, 0.0
        # Same year, else the nearest earlier year, else the nearest later one; newest dataset wins.
        mix = min(
            candidates,
            key=lambda m: (m.year != year, m.year > year, abs(m.year - year), -m.dataset_id),
        )
        total = mix.fossil_share_pct + mix.nuclear_share_pct + mix.renewable_share_pct
        if total <= 0:
            gaps.append(f"empty generation mix for zone {zone}: its electricity is counted as fossil")
            return 1.0, 0.0, 0.0
        return mix.fossil_share_pct / total, mix.nuclear_share_pct / total, mix.renewable_share_pct / total


def _revenue_and_intensity(figures: Figures, calculation: Calculation) -> None:
    rows = list(
        NetRevenue.objects.for_org(calculation.organization).filter(
            period_start__gte=calculation.period_start, period_end__lte=calculation.period_end
        )
    )
    covered_days = sum((row.period_end - row.period_start).days + 1 for row in rows)
    period_days = (calculation.period_end - calculation.period_start).days + 1
    values = figures.values
    if not rows or covered_days != period_days or any(row.currency != "EUR" for row in rows):
        figures.gaps.append("net revenue in EUR does not cover the whole period: no GHG intensity")
        values.update({"E1-6.55": None, "E1-6.53-lb": None, "E1-6.53-mb": None})
        return
    revenue_eur = float(sum(row.amount for row in rows))
    values["E1-6.55"] = revenue_eur
    per_million = revenue_eur / 1e6
    values["E1-6.53-lb"] = values["E1-6.52a"] / per_million if per_million else None
    values["E1-6.53-mb"] = values["E1-6.52b"] / per_million if per_million else None


def _credits(figures: Figures, calculation: Calculation) -> None:
    credits = CarbonCredit.objects.for_org(calculation.organization).filter(
        cancelled_on__gte=calculation.period_start, cancelled_on__lte=calculation.period_end
    )
    by_kind = defaultdict(float)
    for kind, tonnes in credits.values_list("kind", "tonnes_co2e").order_by("pk"):
        by_kind[kind.strip().lower()] += tonnes
    total = sum(by_kind.values())
    if not by_kind:
        figures.unreported |= {"E1-7.59a", "E1-7.AR-removal", "E1-7.AR-reduction"}
    figures.values.update(
        {
            "E1-7.59a": total,
            "E1-7.AR-removal": _pct(by_kind["removal"], total),
            "E1-7.AR-reduction": _pct(by_kind["reduction"], total),
        }
    )


def _management(figures: Figures, calculation: Calculation, records, groups: list[dict]) -> None:
    """The management sheet: amortized embodied, roll-forward, idle shares, SCI, teams and projects."""
    values, management = figures.values, figures.summary["management"]
    amortized = _pick(groups, basis=Basis.EMBODIED_AMORTIZED)
    values["M.embodied-amortized"] = _t(management["embodied_amortized_kg"])
    figures.quality["M.embodied-amortized"] = _quality(_pick(amortized, scope3_category=2))
    values["M.embodied-cloud-runs"] = _t(management.get("embodied_cloud_runs_kg", 0.0))
    values["M.embodied-written-off"] = _t(management["embodied_written_off_kg"])
    roll = calculation.roll_forward or {}
    for ref, key in (
        ("M.rf-opening", "opening_kg"),
        ("M.rf-additions", "additions_kg"),
        ("M.rf-amortized", "amortized_kg"),
        ("M.rf-written-off", "written_off_kg"),
        ("M.rf-closing", "closing_kg"),
    ):
        values[ref] = _t(roll.get(key)) if key in roll else None
    idle = _kg(_pick(amortized, activity_kind=ActivityKind.UNALLOCATED))
    values["M.idle-embodied"] = _pct(idle, _kg(_pick(amortized, scope3_category=2)))  # of the own fleet
    values["M.idle-energy"] = _pct(management["unallocated_energy_kwh"], figures.summary["energy_kwh"])
    _sci(figures, calculation, records)
    _owners(figures, records)


# The records SCI counts: electricity (own sites, colocation, cloud) at location-based factors and amortized embodied.
_SCI_RECORDS = (
    Q(basis=Basis.OPERATIONAL, scope=Scope.SCOPE_2)
    | Q(basis=Basis.OPERATIONAL, scope=Scope.SCOPE_3, scope3_category=1)
    | Q(basis=Basis.EMBODIED_AMORTIZED)
)


def _sci(figures: Figures, calculation: Calculation, records) -> None:
    """SCI = (E × I + M) per R with location-based I and amortized M, over the runs of the period.

    ISO/IEC 21031:2024 puts idle machines in the SCI boundary: a site's idle capacity (metered kWh no run
    used, amortized embodied of GPU-hours no run used) is shared among the site's GPU runs pro rata to their
    GPU-hours. Idle capacity no GPU run can carry (a site without GPU runs in the period, the cloud idle
    GPU bucket) is disclosed beside the scores: ``M.sci-idle-in`` and ``M.sci-idle-out`` (tCO2e).
    """
    sci_records = records.filter(_SCI_RECORDS)
    per_run = dict(
        sci_records.filter(run__isnull=False)
        .values("run_id")
        .annotate(kg=Sum("emissions_kg_co2e_location"))
        .values_list("run_id", "kg")
    )
    # The runs the pinned calculation booked (not today's Run table), so a regenerated report is the same.
    booked = records.filter(run__isnull=False).values("run_id")
    runs = list(
        Run.objects.for_org(calculation.organization)
        .filter(pk__in=booked)
        .values_list("pk", "site_id", "gpu_count", "duration_s", "kind", "inferences_count", "tokens_processed")
        .order_by("pk")
    )
    gpu_hours_by_site: dict[int, float] = defaultdict(float)
    for _, site_id, gpu_count, duration_s, _, _, _ in runs:
        if site_id is not None and gpu_count:
            gpu_hours_by_site[site_id] += gpu_count * duration_s / SECONDS_PER_HOUR
    idle_by_site = _sci_idle_kg(sci_records)
    carried = {site: kg for site, kg in idle_by_site.items() if gpu_hours_by_site.get(site)}
    grams = defaultdict(float)
    units = defaultdict(float)
    for pk, site_id, gpu_count, duration_s, kind, inferences_count, tokens_processed in runs:
        inferences, tokens = run_inferences(kind, inferences_count), run_tokens(tokens_processed)
        gpu_hours = gpu_count * duration_s / SECONDS_PER_HOUR
        idle_kg = carried.get(site_id, 0.0) * gpu_hours / gpu_hours_by_site[site_id] if site_id in carried else 0.0
        g = (per_run.get(pk, 0.0) + idle_kg) * G_PER_KG
        grams["run"], units["run"] = grams["run"] + g, units["run"] + 1
        if gpu_count:
            grams["gpu"], units["gpu"] = grams["gpu"] + g, units["gpu"] + gpu_hours
        if inferences:
            grams["inf"], units["inf"] = grams["inf"] + g, units["inf"] + inferences / 1000.0
        if tokens:
            grams["tok"], units["tok"] = grams["tok"] + g, units["tok"] + tokens / 1e6
    for ref, key in (
        ("M.sci-run", "run"),
        ("M.sci-gpu-hour", "gpu"),
        ("M.sci-1k-inferences", "inf"),
        ("M.sci-1m-tokens", "tok"),
    ):
        figures.values[ref] = grams[key] / units[key] if units[key] else None
    figures.values["M.sci-idle-in"] = _t(sum(carried.values()))
    figures.values["M.sci-idle-out"] = _t(sum(idle_by_site.values()) - sum(carried.values()))


def _sci_idle_kg(sci_records) -> dict[int | None, float]:
    """Idle capacity in the SCI records, kgCO2e by site (None: the cloud idle GPU bucket, which has no site)."""
    idle: dict[int | None, float] = defaultdict(float)
    rows = sci_records.filter(
        run__isnull=True, activity_kind__in=[ActivityKind.UNALLOCATED, ActivityKind.CLOUD_USAGE]
    ).values_list("site_id", "activity_kind", "flags", "emissions_kg_co2e_location")
    for site_id, kind, flags, kg in rows:
        if kind == ActivityKind.UNALLOCATED:
            idle[site_id] += kg or 0.0
        elif "cloud_idle_gpu" in (flags or []):  # billed GPU-hours no tracker run covers
            idle[None] += kg or 0.0
    return idle


def _owners(figures: Figures, records) -> None:
    """Operational (location, market) and amortized embodied tCO2e per team and per project."""
    for owner in ("team", "project"):
        rows = (
            records.filter(basis__in=[Basis.OPERATIONAL, Basis.EMBODIED_AMORTIZED])
            .values(f"{owner}__slug", f"{owner}__name")
            .annotate(
                location=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.OPERATIONAL)),
                market=Sum("emissions_kg_co2e_market", filter=Q(basis=Basis.OPERATIONAL)),
                embodied=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.EMBODIED_AMORTIZED)),
            )
        )
        # Sorted here, not in SQL: SQLite puts NULL (the unallocated bucket) first, PostgreSQL last.
        rows = sorted(
            rows, key=lambda r: (r[f"{owner}__slug"] is None, r[f"{owner}__name"] or "", r[f"{owner}__slug"] or "")
        )
        for row in rows:
            slug, name = row[f"{owner}__slug"], row[f"{owner}__name"]
            key = f"M.{owner}.{slug or '-'}"
            who = f"{name} ({owner})" if slug else f"(no {owner}: unallocated)"
            figures.owners[f"{key}.location"] = (f"{who}: operational, location-based", "tCO2e", _t(row["location"]))
            figures.owners[f"{key}.market"] = (f"{who}: operational, market-based", "tCO2e", _t(row["market"]))
            figures.owners[f"{key}.embodied"] = (f"{who}: amortized embodied", "tCO2e", _t(row["embodied"]))
