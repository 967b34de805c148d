"""The provider carbon part of the ledger: AWS, Google Cloud and Azure's own figures as inventory numbers for
exactly what they cover (Scope 3 Cat 1), shared out to owners by the billing estimate (cloud_sharing.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from emissions.choices import FactorKind, QualityTier
from emissions.cloud_sharing import EstimateGroup, ProviderRow, location_from_market_kg, matched_groups, shares
from emissions.factor_book import FactorBook
from emissions.periods import month_end
from emissions.services.ledger_draft import LedgerDraft, Owner, cloud_common


class ProviderLines:
    """Records for provider carbon rows (called by ``CloudLines.cloud_billing``)."""

    def __init__(self, draft: LedgerDraft, book: FactorBook) -> None:
        self._draft = draft
        self._book = book

    def provider_records(self, rows: list[ProviderRow], covered: list[tuple[EstimateGroup, dict[str, Any]]]) -> None:
        """One record per provider row and matched estimate group (location and market as the provider
        reports them); the embodied estimate where the provider's boundary excludes it; gaps for the rest."""
        groups = [group for group, _ in covered]
        factors_of = {id(group): factors for group, factors in covered}
        matches = [(row, *matched_groups(row, groups)) for row in rows]
        claims = Counter(id(group) for _, matched, _ in matches for group in matched)
        embodied_owed: dict[int, EstimateGroup] = {}
        market_as_location: list[ProviderRow] = []
        for row, matched, level in matches:
            if not matched:
                if not self._provider_row_alone(row, groups):
                    market_as_location.append(row)
                continue
            for group, share in zip(matched, shares(matched), strict=True):
                self._provider_share(row, group, share, level, factors_of[id(group)], claims[id(group)])
                if not row.includes_embodied and group.embodied_kg:
                    embodied_owed[id(group)] = group
        for group in embodied_owed.values():
            self._draft.add(
                **cloud_common(group.period),
                location_kg=group.embodied_kg,
                market_kg=group.embodied_kg,
                quality=QualityTier.BILLING_ESTIMATE,
                factors={"embodied_kg": group.embodied_kg},
                flags=["embodied_estimated_provider_excludes"],
                owner=_owner(group),
            )
        if market_as_location:
            # Without a zone, location factor or residual mix for the region there is no ratio to derive the
            # location-based figure from: the market-based one stands in, and the reader is told how much.
            regions = sorted({f"{row.provider} {row.region or '(no region)'}" for row in market_as_location})
            self._draft.gaps.append(
                f"{len(market_as_location)} market-only provider figure(s) without billing lines "
                f"({sum(row.market_kg for row in market_as_location):,.1f} kgCO2e; {', '.join(regions)}): no grid "
                "zone, location factor or residual mix for their region, so the location-based total counts their "
                "market-based figure"
            )
        unmatched = [group for group in groups if not claims[id(group)]]
        if unmatched:
            self._draft.gaps.append(
                f"{len(unmatched)} billing estimate group(s) ({sum(g.location_kg for g in unmatched):,.1f} kgCO2e "
                "estimated) lie in accounts the provider's export covers, in a region or service it reports "
                "nothing for: the provider's figure (none) is counted, not the estimate"
            )

    def _provider_share(
        self, row: ProviderRow, group: EstimateGroup, share: float, level: str, estimate: dict[str, Any], claims: int
    ) -> None:
        flags = [f"provider_matched_by_{level}"]
        location_kg = row.location_kg * share
        if not row.reports_location:
            # The provider gives a market-based figure only: the location-based one is the provider's figure
            # × our location/market ratio for the same lines.
            ratio = group.location_kg / group.market_kg if group.market_kg > 0 else 1.0
            location_kg = row.market_kg * share * ratio
            flags.append("location_from_provider_market_and_our_factors")
        factors = {
            "provider_row": row.key,
            "provider_location_kg": row.location_kg,
            "provider_market_kg": row.market_kg,
            "provider_share": share,
            "provider_includes_embodied": row.includes_embodied,
            "estimate": estimate,
            "estimate_kg": group.location_kg,
        }
        self._draft.add(
            **cloud_common(row.period),
            energy_kwh=group.facility_kwh / claims,
            location_kg=location_kg,
            market_kg=row.market_kg * share,
            quality=QualityTier.PROVIDER_REPORTED,
            factors=factors,
            flags=flags,
            owner=_owner(group),
        )

    def _provider_row_alone(self, row: ProviderRow, groups: list[EstimateGroup]) -> bool:
        """A provider figure no billing line of its account, month and region shares out: counted as it is,
        for the account's only owner when its lines have one, else unallocated. Returns False where a
        market-only figure had to stand in for the location-based one (the caller names it in a gap)."""
        owners = {(g.team_id, g.project_id) for g in groups if g.unit == row.unit}
        owner: Owner = dict(zip(("team_id", "project_id"), owners.pop(), strict=True)) if len(owners) == 1 else {}
        flags = ["provider_reported_without_billing_lines"]
        factors = {
            "provider_row": row.key,
            "provider_location_kg": row.location_kg,
            "provider_market_kg": row.market_kg,
            "provider_includes_embodied": row.includes_embodied,
        }
        location_kg = row.location_kg
        grid: dict[str, Any] = {}
        if not row.reports_location:
            location_kg, grid = self._location_of_market_only(row)
            factors.update(grid)
            flags.append("location_from_provider_market_and_grid_ratio" if grid else "location_equals_provider_market")
        self._draft.add(
            **cloud_common(row.period),
            location_kg=location_kg,
            market_kg=row.market_kg,
            quality=QualityTier.PROVIDER_REPORTED,
            owner=owner,
            flags=flags,
            factors=factors,
        )
        if not row.includes_embodied:
            self._draft.gaps.append(
                f"{row.provider} {row.period:%Y-%m} {row.account or '(no account)'} {row.region or ''} "
                f"{row.service or ''}: the provider's figure excludes embodied emissions and no billing line is "
                "there to estimate them"
            )
        return row.reports_location or bool(grid)

    def _location_of_market_only(self, row: ProviderRow) -> tuple[float, dict[str, Any]]:
        """Location-based kgCO2e of a market-only figure (Azure) without billing lines, and the factors used:
        the figure × location factor ÷ residual mix of its region's zone for the month (both resolved as for
        estimates: the organization's own › monthly › yearly). Without the zone or either factor, the market
        figure itself and no factors."""
        month, zone = row.period, row.zone
        location = self._book.best_location(zone=zone, start=month, end=month_end(month)) if zone else None
        residual = None
        if zone and location is not None:
            residual = self._book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month)
        location_kg = location_from_market_kg(row.market_kg, location, residual)
        if location_kg is None or location is None or residual is None:
            return row.market_kg, {}
        return location_kg, {"location": location.as_provenance(), "residual_mix": residual.as_provenance()}


def _owner(group: EstimateGroup) -> Owner:
    return {"team_id": group.team_id, "project_id": group.project_id}
