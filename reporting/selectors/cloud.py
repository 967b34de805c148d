"""Reads for the cloud page (``/cloud/``) and ``manage.py cloud_reconciliation``: spend vs emissions, the
billing estimate vs the provider's own figure, the unallocated share, tag coverage and the cloud's part of
the inventory.

Every selector takes ``organization=`` and reads only that organization's rows. Emissions are kgCO2e in
the models and the reconciliation, tCO2e in the chart frames; energy kWh; spend in the bill's currency.
"""

from __future__ import annotations

import pandas as pd
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from emissions.choices import ActivityKind, Basis, FactorKind
from emissions.cloud_sharing import key_text, location_from_market_kg, matched_groups, price_group, shares
from emissions.factor_book import FactorBook
from emissions.models import CloudUsage, EmissionRecord, Organization, Run
from emissions.periods import Period, month_end
from emissions.selectors import run_billing_cover, runs_with_billing_cover
from emissions.selectors_cloud import cloud_estimates, provider_rows
from emissions.units import KG_PER_T
from reporting.rollups import day_owners, owned_lines
from reporting.selectors.common import PageData

# --- Estimate vs provider-reported --------------------------------------------------------------------

RECONCILIATION_COLUMNS = [
    "provider",
    "billing_period",
    "account_id",
    "region",
    "service",
    "provider_service",
    "match",
    "estimated_kg_co2e",
    "estimated_market_kg_co2e",
    "reported_location_kg_co2e",
    "reported_market_kg_co2e",
    "counted_location_kg_co2e",
    "difference_kg_co2e",
    "estimate_to_reported_ratio",
    "market_difference_kg_co2e",
    "variance_basis",
    "variance_pct",
    "note",
]
_NOTES = {
    "none": "provider figure without billing lines in its account, month and region (counted as reported)",
    "uncovered": "no provider figure for this account and month: the estimate is counted",
    "unclaimed": "the provider covers this account and month but reports nothing for this region or service",
}


def cloud_reconciliation(*, organization: Organization, start, end) -> pd.DataFrame:
    """Billing-based estimate vs the provider's own figure, one row per provider row and billing estimate
    group it covers (emissions/cloud_sharing.py: the ledger's own matching and shares), plus provider rows
    without billing lines and estimate groups without a provider row.

    Columns: see ``RECONCILIATION_COLUMNS``; kgCO2e, location-based unless named market. ``service`` is the
    billing service (the provider's own label in ``provider_service``; for Azure the resource), ``match`` how
    the provider row found its groups. ``difference_kg_co2e`` is estimate − reported (location-based),
    ``market_difference_kg_co2e`` the same by the market-based method (the only one for Azure), and
    ``variance_pct`` = difference ÷ reported × 100 by ``variance_basis``: location where the provider reports
    a location-based figure, else market. A group claimed by several provider rows is split evenly between them,
    so every column adds up: ``estimated_kg_co2e`` sums to the estimate of the period's lines and
    ``counted_location_kg_co2e`` to the ledger's cloud billing figure (the reported figure where the provider
    covers the account and month, the embodied estimate added where its boundary excludes embodied, the
    estimate elsewhere). ``note`` says why a side is missing.
    """
    book = FactorBook(organization)
    groups = cloud_estimates(organization=organization, start=start, end=end)
    for group in groups:
        month = group.period
        location = book.best_location(zone=group.zone, start=month, end=month_end(month))
        residual = book.grid(zone=group.zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month)
        price_group(group, location if group.zone else None, residual if group.zone and location else None)
    rows = provider_rows(organization=organization, start=start, end=end)
    covered = {row.unit for row in rows}
    covered_groups = [group for group in groups if group.unit in covered]
    matches = [(row, *matched_groups(row, covered_groups)) for row in rows]
    claims: dict[int, int] = {}
    for _, matched, _ in matches:
        for group in matched:
            claims[id(group)] = claims.get(id(group), 0) + 1
    records = []
    for row, matched, level in matches:
        if not matched:
            reported = row.location_kg if row.reports_location else None
            counted = reported if reported is not None else _location_of_market_only(book, row)
            records.append(_reconciled(row, None, level, (None, None), counted, reported, row.market_kg))
        for group, share in zip(matched, shares(matched), strict=True):
            estimate = (group.location_kg / claims[id(group)], group.market_kg / claims[id(group)])
            reported = row.location_kg * share if row.reports_location else None
            counted = (reported if reported is not None else row.market_kg * share * _ratio(group)) + (
                0.0 if row.includes_embodied else group.embodied_kg / claims[id(group)]
            )
            records.append(_reconciled(row, group, level, estimate, counted, reported, row.market_kg * share))
    for group in groups:
        if group.unit not in covered or id(group) not in claims:
            kind = "uncovered" if group.unit not in covered else "unclaimed"
            counted = group.location_kg if kind == "uncovered" else 0.0
            records.append(_reconciled(None, group, kind, (group.location_kg, group.market_kg), counted, None, None))
    return pd.DataFrame.from_records(records, columns=RECONCILIATION_COLUMNS)


def _location_of_market_only(book: FactorBook, row) -> float:
    """What the ledger counts location-based for a market-only figure without billing lines
    (ledger_provider.ProviderLines._location_of_market_only): the figure × location factor ÷ residual mix
    of its region's zone for the month, else the figure itself."""
    month = row.period
    location = book.best_location(zone=row.zone, start=month, end=month_end(month)) if row.zone else None
    residual = (
        book.grid(zone=row.zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month) if location else None
    )
    derived = location_from_market_kg(row.market_kg, location, residual)
    return row.market_kg if derived is None else derived


def _ratio(group) -> float:
    """Our location/market ratio for a group (a market-only provider's location figure uses it)."""
    return group.location_kg / group.market_kg if group.market_kg > 0 else 1.0


def _reconciled(row, group, match, estimates, counted, reported, market) -> list:
    source = group if group is not None else row
    region = source.region
    service = group.service if group is not None else row.service
    note = _NOTES.get(match, "")
    if row is not None and not row.reports_location:
        note = "the provider reports a market-based figure only"
    estimate, estimate_market = estimates
    difference = None if estimate is None or reported is None else estimate - reported
    ratio = estimate / reported if estimate is not None and reported else None
    market_difference = None if estimate_market is None or market is None else estimate_market - market
    # Compare like with like: location-based where the provider reports it, else its market-based figure.
    basis = "" if row is None else "location" if row.reports_location else "market"
    compared = (difference, reported) if basis == "location" else (market_difference, market)
    variance = compared[0] / compared[1] * 100 if compared[0] is not None and compared[1] else None
    return [
        source.provider,
        source.period,
        source.account,
        region,
        service,
        row.service if row else "",
        match,
        estimate,
        estimate_market,
        reported,
        market,
        counted,
        difference,
        ratio,
        market_difference,
        basis,
        variance,
        note,
    ]


# --- The page -----------------------------------------------------------------------------------------

_CLOUD_KWH = ("compute_energy_kwh", "gpu_energy_kwh", "memory_energy_kwh", "storage_energy_kwh", "network_energy_kwh")
UNALLOCATED = "unallocated"


def _usages(organization: Organization, period: Period):
    # billing_period is the first day of the month: a month belongs to the period it starts in.
    return CloudUsage.objects.for_org(organization).filter(
        billing_period__gte=period.start, billing_period__lte=period.end
    )


def cloud_spend_emissions_frame(*, organization: Organization, period: Period, reconciliation: pd.DataFrame):
    """Spend (all charges) and estimated tCO2e (usage lines) per provider, service and region.

    Columns: ``provider, service, region, currency, spend, energy_kwh, estimated_t_co2e``; the estimate
    is the reconciliation's (facility kWh × the region's location-based factor + embodied share).
    """
    columns = ["provider", "service", "region", "currency", "spend", "energy_kwh", "estimated_t_co2e"]
    it_kwh = sum(Coalesce(F(name), 0.0) for name in _CLOUD_KWH)
    rows = list(
        _usages(organization, period)
        .values("provider", "service", "region", "currency")
        .annotate(spend=Sum("cost"), energy=Sum(it_kwh * Coalesce(F("pue"), 1.0)))
        .order_by("provider", "service", "region")
    )
    estimated: dict[tuple, float] = {}
    for row in reconciliation.itertuples():
        key = (row.provider, key_text(row.region), key_text(row.service))
        estimated[key] = estimated.get(key, 0.0) + (row.estimated_kg_co2e if pd.notna(row.estimated_kg_co2e) else 0.0)
    records, seen = [], set()
    for row in rows:
        key = (row["provider"], key_text(row["region"]), key_text(row["service"]))
        kg = 0.0 if key in seen else estimated.get(key, 0.0)  # one currency row carries the estimate
        seen.add(key)
        records.append(
            [
                row["provider"],
                row["service"] or "(none)",
                row["region"] or "(global)",
                row["currency"],
                float(row["spend"] or 0),
                float(row["energy"] or 0.0),
                kg / KG_PER_T,
            ]
        )
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.sort_values("estimated_t_co2e", ascending=False, ignore_index=True)


def cloud_reconciliation_by_month_frame(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """Estimate vs provider-reported (location-based) per provider and month.

    Columns: ``provider, billing_period, estimated_t_co2e, reported_t_co2e_location``.
    """
    columns = ["provider", "billing_period", "estimated_t_co2e", "reported_t_co2e_location"]
    if reconciliation.empty:
        return pd.DataFrame(columns=columns)
    grouped = reconciliation.groupby(["provider", "billing_period"], as_index=False)[
        ["estimated_kg_co2e", "reported_location_kg_co2e"]
    ].sum(min_count=1)
    return pd.DataFrame(
        {
            "provider": grouped["provider"],
            "billing_period": grouped["billing_period"],
            "estimated_t_co2e": grouped["estimated_kg_co2e"] / KG_PER_T,
            "reported_t_co2e_location": grouped["reported_location_kg_co2e"] / KG_PER_T,
        },
        columns=columns,
    )


def cloud_allocation_frame(*, organization: Organization, period: Period) -> pd.DataFrame:
    """Billing lines and spend by how their owner was found (``CloudUsage.allocation_basis``).

    Columns: ``allocation_basis, lines, spend, spend_share_pct``; lines with no owner are ``unallocated``.
    """
    rows = list(
        _usages(organization, period)
        .values("allocation_basis")
        .annotate(lines=Count("id"), spend=Sum("cost"))
        .order_by("allocation_basis")
    )
    merged: dict[str, list] = {}
    for row in rows:
        entry = merged.setdefault(row["allocation_basis"] or UNALLOCATED, [0, 0.0])
        entry[0] += row["lines"]
        entry[1] += float(row["spend"] or 0)
    total = sum(spend for _, spend in merged.values())
    records = [[basis, n, spend, 100.0 * spend / total if total else None] for basis, (n, spend) in merged.items()]
    frame = pd.DataFrame.from_records(records, columns=["allocation_basis", "lines", "spend", "spend_share_pct"])
    return frame.sort_values("spend", ascending=False, ignore_index=True)


def cloud_tag_coverage(*, organization: Organization, period: Period) -> dict:
    """Share of billing lines and of spend that carry any resource tag or label (``tags`` not empty)."""
    usages = _usages(organization, period)
    totals = usages.aggregate(lines=Count("id"), spend=Sum("cost"))
    tagged = usages.exclude(tags_digest=None).aggregate(lines=Count("id"), spend=Sum("cost"))
    lines, spend = totals["lines"], float(totals["spend"] or 0)
    return {
        "lines": lines,
        "tagged_lines": tagged["lines"],
        "tagged_lines_pct": 100.0 * tagged["lines"] / lines if lines else None,
        "tagged_spend_pct": 100.0 * float(tagged["spend"] or 0) / spend if spend else None,
    }


def cloud_estimate_quality(*, organization: Organization, period: Period) -> dict:
    """How far the usage lines' estimates can be trusted, and how much of them reaches a team (in %).

    ``unclassified_spend_pct``: usage spend the estimator could not classify (its energy comes from the
    classified lines' kWh per unit of cost). ``fell_back_lines_pct``: usage lines that used a provider
    average instead of a specific coefficient. ``allocated_energy_pct``: estimated IT energy on lines
    attributed to a team (by tag, label or account rule), the emissions' allocation key.
    """
    usage = _usages(organization, period).filter(charge_category="usage")
    energy = (
        Coalesce("compute_energy_kwh", 0.0)
        + Coalesce("gpu_energy_kwh", 0.0)
        + Coalesce("memory_energy_kwh", 0.0)
        + Coalesce("storage_energy_kwh", 0.0)
        + Coalesce("network_energy_kwh", 0.0)
    )
    totals = usage.aggregate(
        lines=Count("id"),
        fell_back=Count("id", filter=Q(estimate_fell_back=True)),
        spend=Sum("cost"),
        unclassified_spend=Sum("cost", filter=Q(classification="unclassified")),
        energy_kwh=Sum(energy),
        allocated_kwh=Sum(energy, filter=Q(team__isnull=False)),
    )

    def pct(part, whole):
        return 100.0 * float(part or 0) / float(whole) if whole else None

    return {
        "unclassified_spend_pct": pct(totals["unclassified_spend"], totals["spend"]),
        "fell_back_lines_pct": pct(totals["fell_back"], totals["lines"]),
        "allocated_energy_pct": pct(totals["allocated_kwh"], totals["energy_kwh"]),
    }


def cloud_run_coverage(*, organization: Organization, period: Period) -> dict:
    """Tracker runs in cloud regions in the period and how much of their energy billing lines hold.

    ``covered_energy_pct``: IT kWh of runs whose compute a billing line holds (``run_billing_cover``:
    same resource, else same region and time), counted there and not again; the rest counts as runs.
    """
    runs = runs_with_billing_cover(
        Run.objects.for_org(organization)
        .without_empty_members()
        .filter(cloud_region__isnull=False, site__isnull=True, grid_zone__isnull=True)
        .filter(started_at__date__gte=period.start, started_at__date__lte=period.end)
        .select_related("cloud_region")
    )
    total_kwh = covered_kwh = 0.0
    count = covered = 0
    for run in runs.iterator():
        count, total_kwh = count + 1, total_kwh + run.energy_kwh
        if run_billing_cover(run=run):
            covered, covered_kwh = covered + 1, covered_kwh + run.energy_kwh
    return {
        "runs": count,
        "covered_runs": covered,
        "energy_kwh": total_kwh,
        "covered_energy_kwh": covered_kwh,
        "covered_energy_pct": 100.0 * covered_kwh / total_kwh if total_kwh else None,
    }


def _share_or_none(shares: pd.Series, *, has_lines: bool) -> float | None:
    """The unallocated share in %: 0 when every line is allocated, None without lines or without spend
    (a month whose credits cancel its cost, as in real GCP exports, has no share to show)."""
    if shares.empty:
        return 0.0 if has_lines else None
    value = shares.iloc[0]
    return None if value is None or pd.isna(value) else float(value)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts, missing values as None (shown as "–"), not NaN."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def cloud_reconciliation_totals(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """The reconciliation summed per provider (kgCO2e); ``counted_location_kg_co2e`` is the provider's part of
    the inventory's cloud billing figure, ``difference_kg_co2e`` / ``market_difference_kg_co2e`` estimate −
    reported (location- / market-based) where both exist."""
    amounts = [
        "estimated_kg_co2e",
        "estimated_market_kg_co2e",
        "reported_location_kg_co2e",
        "reported_market_kg_co2e",
        "difference_kg_co2e",
        "market_difference_kg_co2e",
        "counted_location_kg_co2e",
    ]
    if reconciliation.empty:
        return pd.DataFrame(columns=["provider", *amounts])
    return reconciliation.groupby("provider", as_index=False)[amounts].sum(min_count=1)


def cloud_reconciliation_by_service(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """The reconciliation per provider, month and billing service (kgCO2e): ``basis`` is the Scope 2 method
    compared (location-based where the provider reports it, else market-based, as Azure), ``estimated`` our
    figure by that method, ``reported`` the provider's (shared to the service by our estimate where the
    provider reports per region only), ``variance_pct`` = (estimated − reported) / reported × 100 where both
    exist, and ``counted`` what the inventory counts (location-based)."""
    columns = ["provider", "billing_period", "service", "basis", "estimated", "reported", "variance_pct", "counted"]
    if reconciliation.empty:
        return pd.DataFrame(columns=columns)
    market_only = set(reconciliation.loc[reconciliation["note"].str.contains("market-based figure only"), "provider"])
    frame = reconciliation.assign(service=reconciliation["service"].fillna("").replace("", "(none)"))
    market = frame["provider"].isin(market_only)
    frame["basis"] = market.map({True: "market", False: "location"})
    frame["estimated"] = frame["estimated_market_kg_co2e"].where(market, frame["estimated_kg_co2e"])
    frame["reported"] = frame["reported_market_kg_co2e"].where(market, frame["reported_location_kg_co2e"])
    grouped = frame.groupby(["provider", "billing_period", "service", "basis"], as_index=False)[
        ["estimated", "reported", "counted_location_kg_co2e"]
    ].sum(min_count=1)
    grouped = grouped.rename(columns={"counted_location_kg_co2e": "counted"})
    both = grouped["estimated"].notna() & grouped["reported"].notna() & (grouped["reported"] != 0)
    grouped["variance_pct"] = None
    grouped.loc[both, "variance_pct"] = (
        (grouped.loc[both, "estimated"] - grouped.loc[both, "reported"]) / grouped.loc[both, "reported"] * 100
    )
    return grouped[columns]


def reconciliation_markdown(by_service: pd.DataFrame) -> str:
    """``cloud_reconciliation_by_service`` as a Markdown table, kgCO2e to one decimal, "–" for a missing side."""

    def cell(value, digits: int = 1) -> str:
        return "–" if value is None or pd.isna(value) else f"{value:,.{digits}f}"

    lines = [
        "| Provider | Month | Service | Basis | Estimate kgCO2e | Provider-reported kgCO2e | Variance | "
        "Counted kgCO2e (location) |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in by_service.itertuples():
        variance = "–" if row.variance_pct is None or pd.isna(row.variance_pct) else f"{row.variance_pct:+.0f} %"
        lines.append(
            f"| {row.provider} | {row.billing_period:%Y-%m} | {row.service} | {row.basis} | {cell(row.estimated)} | "
            f"{cell(row.reported)} | {variance} | {cell(row.counted)} |"
        )
    return "\n".join(lines) + "\n"


def cloud_in_ledger(*, organization: Organization, period: Period) -> dict:
    """The cloud's part of the inventory in the period, whether or not bills are loaded: the ledger's
    purchased-cloud lines (Scope 3 Cat 1, subcategory ``cloud``) of tracker runs in cloud regions and of
    billing lines, each read from the calculation that owns its first day (the rule of the per-run rollup),
    so a quarter shows exactly the report's cloud line of that quarter.

    Keys: ``runs_kg_co2e_location``, ``runs_kg_co2e_market``, ``runs_energy_kwh``, ``bills_kg_co2e_location``,
    ``bills_kg_co2e_market``, ``bills_energy_kwh``, their ``total_kg_co2e_location`` / ``_market``, and
    ``runs_embodied_kg_co2e`` (the cloud GPU runs' hardware share, management view only, not in the total).
    """
    lines = EmissionRecord.objects.for_org(organization).filter(
        owned_lines(day_owners(organization, period.start, period.end)), scope3_subcategory="cloud"
    )
    sums: dict[str, Coalesce] = {}
    for source, kind in (("runs", ActivityKind.RUN), ("bills", ActivityKind.CLOUD_USAGE)):
        own = Q(activity_kind=kind, basis=Basis.OPERATIONAL)
        sums |= {
            f"{source}_kg_co2e_location": Coalesce(Sum("emissions_kg_co2e_location", filter=own), 0.0),
            f"{source}_kg_co2e_market": Coalesce(Sum("emissions_kg_co2e_market", filter=own), 0.0),
            f"{source}_energy_kwh": Coalesce(Sum("energy_kwh", filter=own), 0.0),
        }
    embodied = Q(activity_kind=ActivityKind.RUN, basis=Basis.EMBODIED_AMORTIZED)
    totals = lines.aggregate(
        **sums, runs_embodied_kg_co2e=Coalesce(Sum("emissions_kg_co2e_location", filter=embodied), 0.0)
    )
    for method in ("location", "market"):
        totals[f"total_kg_co2e_{method}"] = totals[f"runs_kg_co2e_{method}"] + totals[f"bills_kg_co2e_{method}"]
    return totals


def cloud_dashboard(*, organization: Organization, period: Period) -> PageData:
    """The cloud page: spend vs emissions, estimate vs provider-reported, unallocated share, tag coverage."""
    reconciliation = cloud_reconciliation(organization=organization, start=period.start, end=period.end)
    allocation = cloud_allocation_frame(organization=organization, period=period)
    unallocated = allocation[allocation["allocation_basis"] == UNALLOCATED]["spend_share_pct"]
    facts = {
        "in_ledger": cloud_in_ledger(organization=organization, period=period),
        "currencies": sorted(set(_usages(organization, period).values_list("currency", flat=True))),
        "unallocated_spend_pct": _share_or_none(unallocated, has_lines=len(allocation) > 0),
        "tag_coverage": cloud_tag_coverage(organization=organization, period=period),
        "estimate_quality": cloud_estimate_quality(organization=organization, period=period),
        "run_coverage": cloud_run_coverage(organization=organization, period=period),
        # Missing sides as None (shown as "–"), not NaN.
        "reconciliation": _records(reconciliation),
        "reconciliation_totals": _records(cloud_reconciliation_totals(reconciliation)),
    }
    charts = {
        "spend_emissions": cloud_spend_emissions_frame(
            organization=organization, period=period, reconciliation=reconciliation
        ),
        "estimate_vs_reported": cloud_reconciliation_by_month_frame(reconciliation),
        "allocation": allocation,
    }
    return PageData(facts=facts, charts=charts)
