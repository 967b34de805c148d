"""The report's content: one row per datapoint, the methodology appendix and the restatements.

``report_content_build`` reads only the calculations pinned on the Report (plus reference data
and the report's own ``as_of``), so building it again later gives the same rows. The supplementary
hourly-matched Scope 2 comes from the snapshot stored on the Report when it was pinned
(reporting/reports/hourly_scope2.py). Every exporter renders a ``ReportContent``; none of them queries
the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from django.db.models import Q

from emissions.choices import DEFAULT_LIFETIME_YEARS, AssetClass, Basis, QualityTier
from emissions.models import (
    Calculation,
    EmissionRecord,
    FactorDataset,
    GlobalWarmingPotential,
    GridEnergyMix,
    HardwareAsset,
)
from emissions.periods import year_earlier_label
from emissions.selectors import calculation_restatement
from emissions.units import KG_PER_T
from reporting.models import Report
from reporting.reports.concepts import taxonomy_concept_map
from reporting.reports.figures import Figures, calculation_figures
from reporting.reports.hourly_scope2 import HourlyScope2Section, hourly_scope2_section

# Decimal places per kind: tonnes and MWh to the gram and the watt-hour.
DECIMALS = {"energy": 6, "ghg": 6, "percent": 4, "ghg_intensity": 6, "monetary": 2, "intensity": 3, "percent_change": 2}

COLUMNS = [
    "section",
    "ref",
    "label",
    "unit",
    "value",
    "year_to_date",
    "previous_period",
    "previous_year_to_date",
    "change_pct",
    "method_note",
    "quality",
    "xbrl_concept",
]


@dataclass(frozen=True)
class Datapoint:
    """One row: ``value`` for the period, ``year_to_date`` (interim reports), the same period(s) one
    year earlier and the change in percent; ``xbrl_concept`` is a QName (``esrs:…``) or empty."""

    section: str
    ref: str
    label: str
    unit: str
    kind: str
    value: float | None
    year_to_date: float | None
    previous_period: float | None
    previous_year_to_date: float | None
    change_pct: float | None
    method_note: str
    quality: str
    xbrl_concept: str
    xbrl_axis: str = ""
    xbrl_member: str = ""


@dataclass
class ReportContent:
    """Everything a format renders. ``totals_kg`` repeats the inventory totals in kgCO2e (to the gram)."""

    meta: dict
    datapoints: list[Datapoint]
    management: list[Datapoint]
    methodology: list[dict]
    restatements: list[dict]
    totals_kg: dict
    column_titles: dict = field(default_factory=dict)
    # Supplementary, never an ESRS datapoint: None for a report pinned before the hourly snapshot existed.
    hourly_scope2: HourlyScope2Section | None = None

    def sections(self) -> dict[str, list[Datapoint]]:
        """Datapoints grouped by section, in map order (E1-5, E1-6, E1-7, management)."""
        grouped: dict[str, list[Datapoint]] = defaultdict(list)
        for row in [*self.datapoints, *self.management]:
            grouped[row.section].append(row)
        return dict(grouped)

    def as_dict(self) -> dict:
        return {
            "meta": self.meta,
            "column_titles": self.column_titles,
            "datapoints": [asdict(row) for row in self.datapoints],
            "management": [asdict(row) for row in self.management],
            "hourly_scope2": self.hourly_scope2.as_dict() if self.hourly_scope2 else None,
            "methodology": self.methodology,
            "restatements": self.restatements,
            "totals_kg": self.totals_kg,
        }


def _round(value: float | None, kind: str) -> float | None:
    if value is None:
        return None
    rounded = round(value, DECIMALS.get(kind, 6))
    return 0.0 if rounded == 0 else rounded  # no "-0.0" in the files


def _change_pct(value: float | None, previous: float | None) -> float | None:
    if value is None or not previous:
        return None
    return round(100.0 * (value - previous) / abs(previous), 2)


def _comparison_label(report: Report) -> str:
    """The label of the period one year before the report's (``2024-Q1`` for ``2025-Q1``)."""
    return year_earlier_label(report.period_label)


def _calc_ref(calculation: Calculation | None) -> str:
    return f"#{calculation.pk}" if calculation is not None else ""


def report_content_build(*, report: Report) -> ReportContent:
    """Build the content of a report from its pinned calculations."""
    if report.calculation is None:
        raise ValueError("the report has no pinned calculation yet")
    concept_map = taxonomy_concept_map(report.taxonomy)
    cache: dict[int, Figures] = {}

    def figures_of(calculation: Calculation | None) -> Figures | None:
        if calculation is None:
            return None
        if calculation.pk not in cache:
            cache[calculation.pk] = calculation_figures(calculation=calculation)
        return cache[calculation.pk]

    current = figures_of(report.calculation)
    ytd = figures_of(report.ytd_calculation) if report.is_interim else None
    previous = figures_of(report.comparison_calculation)
    previous_ytd = figures_of(report.comparison_ytd_calculation) if report.is_interim else None

    def row(*, section, ref, label, unit, kind, note="", concept="", axis="", member="") -> Datapoint:
        def get(figures: Figures | None, *, comparative: bool = False) -> float | None:
            if figures is None:
                return None
            if ref in figures.owners:
                return figures.owners[ref][2]
            if comparative and ref in figures.unreported:
                return None  # no data then: "not reported", never a 0 that a change % is computed from
            return figures.values.get(ref)

        value, prior = _round(get(current), kind), _round(get(previous, comparative=True), kind)
        return Datapoint(
            section=section,
            ref=ref,
            label=label,
            unit=unit,
            kind=kind,
            value=value,
            year_to_date=_round(get(ytd), kind),
            previous_period=prior,
            previous_year_to_date=_round(get(previous_ytd, comparative=True), kind),
            change_pct=_change_pct(value, prior),
            method_note=note,
            quality=current.quality.get(ref, ""),
            xbrl_concept=f"esrs:{concept}" if concept else "",
            xbrl_axis=f"esrs:{axis}" if axis else "",
            xbrl_member=f"esrs:{member}" if member else "",
        )

    esrs, management = [], []
    for concept in concept_map.concepts:
        built = row(
            section=concept.section,
            ref=concept.ref,
            label=concept.label,
            unit=concept.unit,
            kind=concept.kind,
            note=concept.note,
            concept=concept.concept,
            axis=concept.axis,
            member=concept.member,
        )
        if concept.show == "if_nonzero" and not any(
            (built.value, built.year_to_date, built.previous_period, built.previous_year_to_date)
        ):
            continue
        (management if concept.section == "management" else esrs).append(built)
    owner_refs: dict[str, tuple[str, str]] = {}
    for figures in (current, ytd, previous, previous_ytd):
        for ref, (label, unit, _) in (figures.owners if figures else {}).items():
            owner_refs.setdefault(ref, (label, unit))
    for ref, (label, unit) in owner_refs.items():
        management.append(row(section="management", ref=ref, label=label, unit=unit, kind="ghg"))

    restatements = _restatements(report)
    hourly = None
    if report.hourly_scope2 is not None:
        inventory = {row.ref: row.value for row in esrs}
        hourly = hourly_scope2_section(
            report.hourly_scope2,
            inventory_location_t=inventory.get("E1-6.49a") or 0.0,
            inventory_market_t=inventory.get("E1-6.49b") or 0.0,
        )
    content = ReportContent(
        meta=_meta(report, concept_map),
        datapoints=esrs,
        management=management,
        methodology=_methodology(report, current, restatements),
        restatements=restatements,
        totals_kg=_totals_kg(current.summary),
        hourly_scope2=hourly,
    )
    content.column_titles = _column_titles(content.meta)
    return content


def _totals_kg(summary: dict) -> dict:
    """The inventory totals in kgCO2e rounded to the gram, keyed like ``manage.py inventory --json``."""
    grams = 3
    return {
        "scope_1_kg": round(summary["scope_1_kg"], grams),
        "scope_2_location_kg": round(summary["scope_2_location_kg"], grams),
        "scope_2_market_kg": round(summary["scope_2_market_kg"], grams),
        "scope_3_kg_by_category": {k: round(v, grams) for k, v in summary["scope_3_kg_by_category"].items()},
        "total_location_kg": round(summary["total_location_kg"], grams),
        "total_market_kg": round(summary["total_market_kg"], grams),
        "energy_kwh": round(summary["energy_kwh"], grams),
        "cloud_energy_kwh": round(summary["cloud_energy_kwh"], grams),
    }


def _meta(report: Report, concept_map) -> dict:
    organization = report.organization

    def span(calculation: Calculation | None) -> dict | None:
        if calculation is None:
            return None
        return {"start": calculation.period_start.isoformat(), "end": calculation.period_end.isoformat()}

    comparison_label = _comparison_label(report)
    return {
        "title": f"Climate report (ESRS E1) of {organization.name} for {report.period_label}",
        "organization": organization.name,
        "organization_slug": organization.slug,
        "organization_lei": organization.lei,
        "currency": organization.currency,
        "consolidation_approach": organization.get_consolidation_approach_display(),
        "period": report.period_label,
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "interim": report.is_interim,
        "year_to_date": span(report.ytd_calculation) if report.is_interim else None,
        "comparison_period": comparison_label,
        "comparison": span(report.comparison_calculation),
        "comparison_year_to_date": span(report.comparison_ytd_calculation) if report.is_interim else None,
        "as_of": report.as_of.isoformat() if report.as_of else "",
        "methodology_version": report.calculation.methodology_version,
        "calculations": {
            "period": _calc_ref(report.calculation),
            "year_to_date": _calc_ref(report.ytd_calculation) if report.is_interim else "",
            "comparison": _calc_ref(report.comparison_calculation),
            "comparison_year_to_date": _calc_ref(report.comparison_ytd_calculation) if report.is_interim else "",
        },
        "concept_map_version": concept_map.map_version,
        "taxonomy": concept_map.taxonomy,
        "taxonomy_namespace": concept_map.namespace,
        "taxonomy_entry_point": concept_map.entry_point,
        "units": {"ghg": "tCO2e", "energy": "MWh", "percent": "%", "intensity": "tCO2e per EUR million"},
    }


def _column_titles(meta: dict) -> dict:
    ytd = meta["year_to_date"]
    comparison_ytd = meta["comparison_year_to_date"]
    return {
        "value": meta["period"],
        "year_to_date": f"YTD {ytd['start'][:7]}..{ytd['end'][:7]}" if ytd else "YTD",
        "previous_period": meta["comparison_period"],
        "previous_year_to_date": (
            f"YTD {comparison_ytd['start'][:7]}..{comparison_ytd['end'][:7]}" if comparison_ytd else "previous YTD"
        ),
    }


# --- Methodology appendix ------------------------------------------------------------------------


def _methodology(report: Report, current: Figures, restatements: list[dict]) -> list[dict]:
    calculation = report.calculation
    organization = report.organization
    rows: list[dict] = []

    def add(topic: str, item: str, detail: str) -> None:
        rows.append({"topic": topic, "item": item, "detail": detail})

    add(
        "Boundary",
        "Consolidation approach",
        f"{organization.get_consolidation_approach_display()} (GHG Protocol Corporate Standard ch. 3)",
    )
    period_note = f"{report.period_start.isoformat()} to {report.period_end.isoformat()}"
    if report.is_interim:
        period_note += (
            "; interim, unaudited: quarter and year-to-date columns use the annual methods; factors of the current "
            "year may be provisional and are restated when final"
        )
    add("Boundary", "Reporting period", period_note)
    add("Calculation", "Methodology version", calculation.methodology_version)
    add(
        "Calculation",
        "Pinned calculations",
        "; ".join(f"{key} {value}" for key, value in _meta_calculations(report).items() if value),
    )
    add("Calculation", "Views", "Inventory view (ESRS): operational + capital goods; management view apart")
    for title in sorted(
        {
            f"{gwp.dataset.title} ({gwp.dataset.name} {gwp.dataset.version}); licence: {gwp.dataset.licence}"
            for gwp in GlobalWarmingPotential.objects.select_related("dataset")
        }
    ):
        add("GWP", "GWP set", title)
    for dataset in _datasets_used(calculation):
        add(
            "Factor dataset",
            f"{dataset.name} {dataset.version}",
            f"{dataset.title}. Source: {dataset.source}. Licence: {dataset.licence}",
        )
    mix_datasets = FactorDataset.objects.filter(pk__in=GridEnergyMix.objects.values("dataset_id").distinct()).order_by(
        "name", "version"
    )
    for dataset in mix_datasets:
        add("Energy mix", f"{dataset.name} {dataset.version}", f"Generation mix for E1-5. Licence: {dataset.licence}")
    for asset_class, detail in _lifetimes(report):
        add("Lifetime", asset_class, detail)
    for tier, share in sorted(
        current.summary["quality_shares_pct"].items(), key=lambda item: (-round(item[1], 6), item[0])
    ):
        add("Estimation tier", QualityTier(tier).label if tier in QualityTier.values else tier, f"{share:.1f}%")
    for item, detail in _provisional_factors(calculation):
        add("Provisional factor", item, detail)
    for gap in sorted(set(calculation.data_gaps) | set(current.gaps)):
        add("Data gap", "", gap)
    if restatements:
        periods = sorted({line["period"] for line in restatements})
        add("Restatement", ", ".join(periods), f"{len(restatements)} line(s) changed since the reports issued before")
    else:
        add("Restatement", "", "none since the reports issued before")
    return rows


def _meta_calculations(report: Report) -> dict:
    return {
        "period": _calc_ref(report.calculation),
        "year to date": _calc_ref(report.ytd_calculation) if report.is_interim else "",
        "comparison": _calc_ref(report.comparison_calculation),
        "comparison year to date": _calc_ref(report.comparison_ytd_calculation) if report.is_interim else "",
    }


def _record_factor_entries(calculation: Calculation):
    """(factor provenance dict, location kgCO2e) of every inventory record of the calculation."""
    records = EmissionRecord.objects.filter(
        calculation=calculation, basis__in=[Basis.OPERATIONAL, Basis.CAPITAL_GOODS]
    ).values_list("factors", "emissions_kg_co2e_location")
    for factors, kg in records.order_by("pk").iterator(chunk_size=5000):
        for entry in (factors or {}).values():
            if isinstance(entry, dict):
                yield entry, kg


def _datasets_used(calculation: Calculation) -> list[FactorDataset]:
    names = {entry["dataset"] for entry, _ in _record_factor_entries(calculation) if entry.get("dataset")}
    visible = FactorDataset.objects.visible_to(calculation.organization)
    by_name = {}
    for dataset in visible.order_by("pk"):
        by_name[f"{dataset.name} {dataset.version}"] = dataset
        by_name[str(dataset.pk)] = dataset  # cloud-region factors name their dataset by id
    used = {by_name[name].pk: by_name[name] for name in names if name in by_name}
    return sorted(used.values(), key=lambda d: (d.name, d.version))


def _provisional_factors(calculation: Calculation) -> list[tuple[str, str]]:
    """Factors of another year than the activity they were applied to (flagged ``year_mismatch``)."""
    kg_by_factor: dict[str, float] = defaultdict(float)
    for entry, kg in _record_factor_entries(calculation):
        if "year_mismatch" in (entry.get("flags") or []):
            name = f"{entry.get('kind', '')} {entry.get('zone', '')} {entry.get('period', '')} ({entry.get('dataset')})"
            kg_by_factor[" ".join(name.split())] += kg
    return [
        (name, f"applied to {kg / KG_PER_T:.3f} tCO2e of activity of another year; restated when final")
        for name, kg in sorted(kg_by_factor.items())
    ]


def _lifetimes(report: Report) -> list[tuple[str, str]]:
    """Expected lifetimes per asset class of the assets in service during the period."""
    assets = (
        HardwareAsset.objects.for_org(report.organization)
        .filter(in_service_on__lte=report.period_end)
        .filter(Q(retired_on__isnull=True) | Q(retired_on__gt=report.period_start))  # retired_on: first day out
        .values_list("hardware_model__asset_class", "lifetime_years", "quantity")
    )
    units: dict[tuple[str, float], int] = defaultdict(int)
    for asset_class, lifetime_years, quantity in assets:
        units[(asset_class, lifetime_years)] += quantity
    rows = []
    for asset_class in sorted({key[0] for key in units}):
        label = AssetClass(asset_class).label if asset_class in AssetClass.values else asset_class
        used = ", ".join(
            f"{lifetime:g} years ({count} units)"
            for (cls, lifetime), count in sorted(units.items())
            if cls == asset_class
        )
        default = DEFAULT_LIFETIME_YEARS.get(asset_class)
        rows.append((label, f"{used}; default {default:g} years" if default else used))
    return rows


# --- Restatements since the last report ----------------------------------------------------------


def _current_as_of(calculation: Calculation, as_of) -> Calculation:
    """The calculation that had superseded ``calculation`` by ``as_of`` (itself when none had)."""
    while calculation.superseded_by_id is not None:
        successor = calculation.superseded_by
        if as_of is not None and successor.created_at > as_of:
            break
        calculation = successor
    return calculation


def issued_figures(report: Report, *, before=None) -> dict[tuple, tuple[Report, str, Calculation]]:
    """Per (start, end): the latest issued report (other than ``report``, issued before ``before`` when given)
    that showed that span, the column it filled and the calculation it showed."""
    issued = Report.objects.for_org(report.organization).filter(calculation__isnull=False, issued_at__isnull=False)
    if before is not None:
        issued = issued.filter(issued_at__lt=before)
    issued = (
        issued.exclude(pk=report.pk)
        .select_related("calculation", "ytd_calculation", "comparison_calculation", "comparison_ytd_calculation")
        .order_by("-issued_at", "-pk")
    )
    latest: dict[tuple, tuple[Report, str, Calculation]] = {}
    for other in issued:
        for column, calculation in other.pinned_calculations().items():
            latest.setdefault((calculation.period_start, calculation.period_end), (other, column, calculation))
    return latest


def _restatements(report: Report) -> list[dict]:
    """Changes, per scope/category/basis, between what issued reports showed and the ledger as of this one.

    Every figure an issued report showed counts: its period, year to date and comparatives (each a pinned
    calculation). For each span, the latest issued report before this one's ``as_of`` is compared with this
    report's own calculation of the span, or else the calculation current at ``as_of``. Drafts never count.
    """
    latest = issued_figures(report, before=report.as_of)
    own = {(c.period_start, c.period_end): c for c in report.pinned_calculations().values()}
    lines = []
    for (start, end), (other, column, shown) in sorted(latest.items(), key=lambda item: item[0]):
        current = own.get((start, end)) or _current_as_of(shown, report.as_of)
        if current.pk == shown.pk:
            continue
        label = {"period": other.period_label, "previous period": _comparison_label(other)}.get(
            column, f"{start}..{end}"
        )
        for line in calculation_restatement(previous=shown, current=current):
            if abs(line["change_location_kg"]) < 1e-6 and abs(line["change_market_kg"]) < 1e-6:
                continue
            lines.append(
                {
                    "period": label,
                    "reported_in": f"report #{other.pk} ({column}), issued {other.issued_at:%Y-%m-%d}",
                    "previous_calculation": _calc_ref(shown),
                    "current_calculation": _calc_ref(current),
                    "scope": line["scope"],
                    "scope3_category": line["scope3_category"],
                    "scope3_subcategory": line["scope3_subcategory"],
                    "basis": line["basis"],
                    "previous_location_t": round(line["previous_location_kg"] / KG_PER_T, 6),
                    "current_location_t": round(line["current_location_kg"] / KG_PER_T, 6),
                    "change_location_t": round(line["change_location_kg"] / KG_PER_T, 6),
                    "previous_market_t": round(line["previous_market_kg"] / KG_PER_T, 6),
                    "current_market_t": round(line["current_market_kg"] / KG_PER_T, 6),
                    "change_market_t": round(line["change_market_kg"] / KG_PER_T, 6),
                }
            )
    return lines
