"""The ledger's off-site runs: tracker runs with no site and no cloud region, placed on a grid zone.

A workstation, a university cluster or a rented GPU box: the run's location comes from the tracker's
country and region or the organization's default (emissions/services/run_location.py). Where the run
belongs is the project's ``offsite_runs_scope``, else the organization's (docs/methodology.md,
"Off-site runs"):

* ``third_party`` (default) — compute bought from someone else whose electricity the organization does not
  buy: Scope 3 Cat 1 (purchased services), location-based factor, market-based equal to it;
* ``own_equipment`` — the organization's own machine on a grid no meter of ours covers: Scope 2,
  location-based at the zone's grid factor, market-based at the zone's residual mix, else the grid average
  (flagged ``market_grid_average_fallback`` and counted, kWh by zone, in the calculation's grid-average gap:
  no instrument can be claimed for unmetered electricity),
  with Scope 3 Cat 3 (b) upstream and (c) T&D losses like any purchased electricity.

Energy is the tracker's as reported (with the PUE it applied, if any): no facility overhead is known.
Quality is ``estimated_location``: the energy may be measured, the grid it ran on is a report.
"""

from __future__ import annotations

from emissions import calculations as calc
from emissions.choices import ActivityKind, FactorKind, OffsiteRunsScope, QualityTier, Scope
from emissions.factor_book import FactorBook
from emissions.models import Run
from emissions.services.ledger_draft import ActivityFields, LedgerDraft, LocationFactors
from emissions.services.ledger_electricity import UpstreamLines
from emissions.services.run_pieces import RunPiece, run_pieces, runs_overlapping

# Run flags worth carrying onto the record: how the run was located and merged.
_CARRIED_FLAGS = {
    "location_from_tracker",
    "location_organization_default",
    "merged_sources",
    "multi_rank_merged",
    "negative_component_dropped",
}


class OffsiteLines:
    """Records for runs located on a grid zone only."""

    def __init__(self, draft: LedgerDraft, book: FactorBook, factors: LocationFactors, upstream: UpstreamLines) -> None:
        self._draft = draft
        self._book = book
        self._factors = factors
        self._upstream = upstream

    def offsite_runs(self) -> None:
        """One record per off-site run (plus Cat 3 (b)(c) for own equipment), in the run's month."""
        period = self._draft.period
        runs = (
            runs_overlapping(Run.objects.for_org(self._draft.organization), period.start, period.end)
            .filter(site__isnull=True, cloud_region__isnull=True, grid_zone__isnull=False)
            .select_related("project", "grid_zone")
        )
        for run in runs:
            if "emissions_only_no_energy" in run.flags:
                continue  # disclosed by cloud_runs(): no energy to recompute
            for piece in run_pieces([run]):
                if period.start <= piece.start <= period.end:
                    self._offsite_piece(run, piece)

    def _offsite_piece(self, run: Run, piece: RunPiece) -> None:
        """The records of an off-site run's part in one month, at that month's factors."""
        assert run.grid_zone is not None  # offsite_runs() takes only runs with a grid zone
        day, zone, energy_kwh = piece.start, run.grid_zone.code, run.energy_kwh * piece.share
        factor = self._factors.run(zone, run, piece.start, piece.end)
        if factor is None:
            self._draft.gap("no_location_factor", energy_kwh, zone=zone)
            return
        location_kg = calc.emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=factor.value)
        flags = [*(f for f in run.flags if f in _CARRIED_FLAGS), *factor.flags, *piece.flags, "offsite_run"]
        common: ActivityFields = {
            "activity_kind": ActivityKind.RUN,
            "activity_id": run.pk,
            "run": run,
            "start": piece.start,
            "end": piece.end,
        }
        quality = QualityTier.ESTIMATED_LOCATION
        scope = run.project.offsite_runs_scope or self._draft.organization.offsite_runs_scope
        if scope != OffsiteRunsScope.OWN_EQUIPMENT:
            self._draft.add(
                scope=Scope.SCOPE_3,
                category=1,
                subcategory="offsite_compute",
                energy_kwh=energy_kwh,
                location_kg=location_kg,
                quality=quality,
                factors={"location": factor.as_provenance()},
                flags=flags,
                **common,
            )
            return
        residual = self._book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=day.year, month=day.month)
        market = residual or factor
        if residual is None:
            # A gap with its kWh and zone, in the same tally as the sites' (Scope 2 Guidance Table 6.3).
            flags.append("market_grid_average_fallback")
            self._draft.grid_average_used(zone, energy_kwh)
        self._draft.add(
            scope=Scope.SCOPE_2,
            energy_kwh=energy_kwh,
            location_kg=location_kg,
            market_kg=calc.emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=market.value),
            quality=quality,
            factors={"location": factor.as_provenance(), "market": market.as_provenance()},
            flags=flags,
            **common,
        )
        self._upstream.records(zone, day, energy_kwh, factor, quality, common)
