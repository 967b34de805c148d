"""The ledger's facility electricity: Scope 2 of owned sites' purchased electricity and Scope 3 Cat 1 of colocated
sites' (included in the fee), metered or tracker-estimated, with Scope 3 Cat 3 (b) upstream and (c) T&D losses
of purchased electricity (UpstreamLines, also used for own-equipment off-site runs)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Max, Min, Sum
from django.db.models.functions import TruncMonth

from emissions import calculations as calc
from emissions.choices import ActivityKind, FactorKind, QualityTier, Scope, SiteOwnership
from emissions.factor_book import FactorBook, ResolvedFactor
from emissions.models import CertificateUse, EnergyInstrument, GridZone, HourlyMeterReading, MeterReading, Run, Site
from emissions.periods import Period, month_end
from emissions.services.certificates import certificate_uses_recorded
from emissions.services.ledger_draft import ActivityFields, LedgerDraft, LocationFactors
from emissions.services.run_pieces import run_pieces, runs_overlapping
from emissions.services.run_quality import run_tier


@dataclass
class _Block:
    """Facility electricity of one run (or of a site's unallocated remainder) in one month."""

    key: str
    site: Site
    start: date
    end: date
    energy_kwh: float
    quality: str
    run: Run | None = None
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _HourlyMonth:
    """A month of a site's hourly meter data that no meter reading covers, read as a reading: the kWh of its
    hours (UTC) between the first and the last day with data. ``pk`` keeps its blocks' keys apart from readings'."""

    pk: str
    period_start: date
    period_end: date
    energy_kwh: float


def _hourly_months(site: Site, readings: list, window_start: date, window_end: date) -> list[_HourlyMonth]:
    """The site's hourly meter data (the meter API, ``site_electricity_hourly``) as one reading per calendar
    month, for the months no meter reading touches: metered kWh the inventory would otherwise leave out. A month
    with a reading keeps the reading (the two are never added). Whole months touching the window."""
    first_day, last_day = window_start.replace(day=1), month_end(window_end)
    months = (
        HourlyMeterReading.objects.filter(
            site=site,
            hour_start__gte=datetime(first_day.year, first_day.month, 1, tzinfo=UTC),
            hour_start__lt=datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC) + timedelta(days=1),
        )
        .annotate(month=TruncMonth("hour_start", tzinfo=UTC))
        .values("month")
        .annotate(kwh=Sum("energy_kwh"), first=Min("hour_start"), last=Max("hour_start"))
        .order_by("month")
    )
    result = []
    for row in months:
        first, last = row["first"].astimezone(UTC).date(), row["last"].astimezone(UTC).date()
        if any(r.period_start <= month_end(first) and r.period_end >= first.replace(day=1) for r in readings):
            continue
        result.append(_HourlyMonth(f"hourly-{site.pk}-{first:%Y%m}", first, last, row["kwh"]))
    return result


class ElectricityLines:
    """Records for the facility electricity of owned and colocated sites, block by block."""

    def __init__(self, draft: LedgerDraft, book: FactorBook, factors: LocationFactors, upstream: UpstreamLines) -> None:
        self._draft = draft
        self._book = book
        self._factors = factors
        self._upstream = upstream
        self._zone_tree: dict[str, tuple[str | None, str]] | None = None
        self._remainder_factors: dict[str, dict[str, ResolvedFactor | None]] = {}

    def electricity(self) -> None:
        """Metered (or tracker-estimated) facility electricity of owned and colocated sites."""
        sites = list(
            Site.objects.for_org(self._draft.organization)
            .filter(ownership__in=[SiteOwnership.OWNED, SiteOwnership.COLOCATION])
            .select_related("zone")
        )
        instruments = [
            calc.Instrument(
                instrument_id=i.instrument_id,
                kind=i.kind,
                zone=i.zone.code,
                vintage_start=i.vintage_start,
                vintage_end=i.vintage_end,
                energy_kwh=i.energy_mwh * 1000.0,
                emission_factor_g_per_kwh=i.emission_factor_g_per_kwh,
                market=self._market_of(i.zone.code),
                site_key=i.site_id,
            )
            for i in EnergyInstrument.objects.for_org(self._draft.organization).select_related("zone")
            if i.vintage_start <= self._draft.period.end
        ]
        # Every instrument is used chronologically from its vintage start, and a meter reading is
        # apportioned over its whole period, so blocks before the period are built too: each period replays
        # the same history, so a month's allocation is the same in every calculation that contains it (a
        # certificate whose vintage ended last year still used what it used then), and quarters sum to the year.
        readings = list(
            MeterReading.objects.for_org(self._draft.organization).filter(
                period_end__gte=self._draft.period.start, period_start__lte=self._draft.period.end
            )
        )
        window_start = min(
            [self._draft.period.start, *(i.vintage_start for i in instruments), *(r.period_start for r in readings)]
        )
        window_end = max([self._draft.period.end, *(r.period_end for r in readings)])
        blocks: list[_Block] = []
        for site in sites:
            blocks += self._site_blocks(site, window_start, window_end)
        purchased = [b for b in blocks if b.site.buys_electricity]
        market = self._market(purchased, instruments)
        for block in blocks:
            if block.end < self._draft.period.start or block.start > self._draft.period.end:
                continue
            self._electricity_records(block, market.get(block.key))

    def _market_of(self, zone: str) -> str:
        """The market boundary of a zone: its country (the top of its parent chain), as one market for
        certificates under the Scope 2 Quality Criteria; the EU when the organization treats guarantees of
        origin as one EU market."""
        if self._zone_tree is None:
            self._zone_tree = {
                code: (parent, iso3)
                for code, parent, iso3 in GridZone.objects.values_list("code", "parent__code", "country_iso3")
            }
        top = zone
        for _ in range(10):  # zone trees are two or three levels deep
            parent = self._zone_tree.get(top, (None, ""))[0]
            if not parent:
                break
            top = parent
        if self._draft.organization.eu_go_single_market and self._zone_tree.get(top, (None, ""))[1] in EU_MEMBER_ISO3:
            return "EU"
        return top

    def _site_blocks(self, site: Site, window_start: date, window_end: date) -> list[_Block]:
        """Run blocks apportioned from the meter reading that covers them, the reading's unallocated
        remainder split by month (pro rata by days), and tracker estimates where no reading exists."""
        readings: list[MeterReading | _HourlyMonth] = list(
            MeterReading.objects.filter(site=site, period_end__gte=window_start, period_start__lte=window_end).order_by(
                "period_start"
            )
        )
        readings += _hourly_months(site, readings, window_start, window_end)
        readings.sort(key=lambda reading: reading.period_start)
        # Runs over the whole span of the readings found, not only the window: a reading that began before the
        # window (found because it overlaps it) keeps every run it covers, so its idle kWh, and the certificates
        # they consume, are the same in every calculation that reads it, and a quarter equals its months.
        runs_start = min([window_start, *(r.period_start for r in readings)])
        runs_end = max([window_end, *(r.period_end for r in readings)])
        runs = list(
            runs_overlapping(Run.objects.for_org(self._draft.organization).filter(site=site), runs_start, runs_end)
            .select_related("project")
            .order_by("started_at", "pk")
        )
        # A run crossing a month end is booked in each month for the part it ran there.
        pieces = run_pieces(runs)
        facility_kwh = {
            piece.key: piece.share
            * calc.facility_energy_kwh(
                it_energy_kwh=piece.run.energy_kwh, site_pue=site.pue, tracker_pue=piece.run.tracker_pue
            )
            for piece in pieces
        }
        if any(a.period_end >= b.period_start for a, b in itertools.pairwise(readings)):
            self._draft.gaps.append(f"overlapping meter readings at site {site.slug}: each is counted in full")
        blocks, metered_runs = [], set()
        for reading in readings:
            covered = [p for p in pieces if reading.period_start <= p.start <= reading.period_end]
            allocation = calc.metered_energy_allocate(
                metered_kwh=reading.energy_kwh, facility_kwh_by_key={p.key: facility_kwh[p.key] for p in covered}
            )
            flags = ["trackers_exceed_meter"] if allocation.scale < 1 else []
            if flags:
                # Energy conservation: trackers cannot have used more than the meter saw; said where it happens.
                self._draft.gaps.append(
                    f"tracker energy at site {site.slug} exceeds its meter for "
                    f"{reading.period_start}..{reading.period_end}: runs scaled by {allocation.scale:.3f} "
                    f"to the metered {reading.energy_kwh:,.1f} kWh"
                )
            for piece in covered:
                metered_runs.add(piece.key)
                blocks.append(
                    _Block(
                        piece.key,
                        site,
                        piece.start,
                        piece.end,
                        allocation.allocated_kwh[piece.key],
                        QualityTier.METERED,
                        piece.run,
                        [*flags, *piece.flags],
                    )
                )
            reading_days = calc.days_inclusive(reading.period_start, reading.period_end)
            span = Period(label="reading", start=reading.period_start, end=reading.period_end)
            for first_day, last_day in span.months():
                start, end = max(first_day, reading.period_start), min(last_day, reading.period_end)
                share = calc.days_inclusive(start, end) / reading_days
                key = f"idle:{reading.pk}:{first_day}"
                blocks.append(
                    _Block(
                        key,
                        site,
                        start,
                        end,
                        allocation.unallocated_kwh * share,
                        QualityTier.METERED,
                        None,
                        ["unallocated"],
                    )
                )
        for piece in pieces:
            if piece.key not in metered_runs:
                quality = run_tier(piece.run)
                flags = ["no_meter", *piece.flags]
                blocks.append(
                    _Block(piece.key, site, piece.start, piece.end, facility_kwh[piece.key], quality, piece.run, flags)
                )
        return blocks

    def _market(self, blocks: list[_Block], instruments: list[calc.Instrument]) -> dict[object, calc.MarketResult]:
        """Market-based allocation of every block; uncovered kWh at the block's month's residual mix, else
        at the same factor as its location-based figure (hourly › monthly › yearly), never one month's
        factor for a whole period."""
        consumptions = []
        for b in blocks:
            zone, month = b.site.zone.code, b.start.replace(day=1)
            residual = self._book.grid(zone=zone, kind=FactorKind.RESIDUAL_MIX, year=month.year, month=month.month)
            # The same factor as the block's location-based figure (a run's own hours where hourly data has them).
            if b.run is not None:
                grid = self._factors.run(zone, b.run, b.start, b.end)
            else:
                grid = self._factors.block(zone, month, month_end(month))
            if residual is None and grid is None:
                continue
            self._remainder_factors[b.key] = {"residual_mix": residual, "grid_average": grid}
            consumptions.append(
                calc.Consumption(
                    b.key,
                    zone,
                    b.start,
                    b.end,
                    b.energy_kwh,
                    market=self._market_of(zone),
                    site_key=b.site.pk,
                    residual_g_per_kwh=residual.value if residual else None,
                    grid_g_per_kwh=grid.value if grid else None,
                )
            )
        recorded = certificate_uses_recorded(organization=self._draft.organization)
        self._issued_blocks_changed(blocks, recorded)
        uses: dict[object, list[tuple[str, float, float]]] = {
            key: [(use.instrument_id, use.energy_kwh, use.emission_factor_g_per_kwh) for use in rows]
            for key, rows in recorded.items()
        }
        return calc.market_based_allocate(consumptions=consumptions, instruments=instruments, recorded=uses)

    def _issued_blocks_changed(self, blocks: list[_Block], recorded: dict[str, list[CertificateUse]]) -> None:
        """A gap for blocks of issued months whose energy changed since issue: they keep the certificates the
        report claimed for them, and the difference is valued as uncovered (a restatement shows it)."""
        changed = [
            (block, rows[0].block_kwh)
            for block in blocks
            if (rows := recorded.get(block.key)) and abs(block.energy_kwh - rows[0].block_kwh) > 1e-6
        ]
        if changed:
            kwh = sum(block.energy_kwh - issued for block, issued in changed)
            names = ", ".join(sorted(block.key for block, _ in changed)[:5])
            self._draft.gaps.append(
                f"{len(changed)} electricity block(s) of issued months changed since issue ({kwh:+,.1f} kWh; "
                f"{names}): they keep the certificates the issued report claimed, the difference is uncovered"
            )

    def _electricity_records(self, block: _Block, market: calc.MarketResult | None) -> None:
        zone = block.site.zone.code
        if block.run is not None:
            factor = self._factors.run(zone, block.run, block.start, block.end)
        else:
            factor = self._factors.block(zone, block.start.replace(day=1), month_end(block.start))
        if factor is None:
            self._draft.gap("no_location_factor", block.energy_kwh, zone=zone)
            return
        location_kg = calc.emissions_kg(energy_kwh=block.energy_kwh, intensity_g_per_kwh=factor.value)
        # A lifecycle factor standing in for a direct one weakens the factor, not the activity data the tier
        # describes: the record keeps its tier and carries the ``lifecycle_factor`` flag.
        quality = block.quality
        common: ActivityFields = {
            "activity_kind": ActivityKind.RUN if block.run else ActivityKind.UNALLOCATED,
            "activity_id": block.run.pk if block.run else None,
            "run": block.run,
            "site": block.site,
            "start": block.start,
            "end": block.end,
        }
        flags = [*block.flags, *factor.flags]
        if not block.site.buys_electricity:
            # Electricity included in a colocation fee is a purchased service: Scope 3 Cat 1.
            self._draft.add(
                scope=Scope.SCOPE_3,
                category=1,
                subcategory="colocation",
                energy_kwh=block.energy_kwh,
                location_kg=location_kg,
                quality=quality,
                factors={"location": factor.as_provenance()},
                flags=flags,
                **common,
            )
            return
        factors = {"location": factor.as_provenance()}
        market_kg = location_kg
        if market is not None:
            market_kg = market.emissions_kg_co2e
            remainder = self._remainder_factors.get(block.key, {}).get(market.remainder_basis)
            factors["market"] = {
                # The block, so that issuing a report can record exactly these uses (services/certificates.py).
                "block": {"key": block.key, "kwh": block.energy_kwh},
                "instruments": [{"id": i, "kwh": kwh, "g_per_kwh": g} for i, kwh, g in market.covered],
                "remainder_kwh": market.remainder_kwh,
                "remainder_g_per_kwh": market.remainder_intensity_g_per_kwh,
                "remainder_basis": market.remainder_basis,
                "remainder_factor": remainder.as_provenance() if remainder else None,
            }
            if market.remainder_basis == "grid_average":
                flags.append("market_grid_average_fallback")
                self._draft.grid_average_used(zone, market.remainder_kwh)
        self._draft.add(
            scope=Scope.SCOPE_2,
            energy_kwh=block.energy_kwh,
            location_kg=location_kg,
            market_kg=market_kg,
            quality=quality,
            factors=factors,
            flags=flags,
            **common,
        )
        self._upstream.records(block.site.zone.code, block.start, block.energy_kwh, factor, quality, common)


class UpstreamLines:
    """Scope 3 Cat 3 (b) upstream and (c) T&D losses of purchased electricity: sites' and own-equipment runs'."""

    def __init__(self, draft: LedgerDraft, book: FactorBook) -> None:
        self._draft = draft
        self._book = book

    def records(
        self, zone: str, day: date, energy_kwh: float, direct: ResolvedFactor, quality: str, common: ActivityFields
    ) -> None:
        """Cat 3 (b) upstream and (c) T&D losses of ``energy_kwh`` of purchased electricity in the zone."""
        year, month = day.year, day.month
        upstream = self._book.grid(zone=zone, kind=FactorKind.UPSTREAM, year=year, month=month)
        lifecycle = self._book.grid(zone=zone, kind=FactorKind.LIFECYCLE, year=year, month=month)
        if lifecycle is not None and lifecycle.zone != direct.zone:
            # Lifecycle minus direct is upstream only for one grid: a country's lifecycle figure minus a
            # province's direct one (Canada 170 − Québec 2.6) would book the country's mix as upstream.
            lifecycle = None
        is_direct = "lifecycle_factor" not in direct.flags
        upstream_kg = calc.upstream_electricity_kg(
            energy_kwh=energy_kwh,
            upstream_g_per_kwh=upstream.value if upstream else None,
            lifecycle_g_per_kwh=lifecycle.value if (lifecycle and is_direct) else None,
            direct_g_per_kwh=direct.value if is_direct else None,
        )
        used = upstream or lifecycle
        if upstream_kg is None or used is None:
            self._draft.gap("no_upstream_factor", energy_kwh, zone=zone)
        else:
            flags = list(used.flags)
            if upstream is None and lifecycle is not None and lifecycle.value < direct.value:
                # Lifecycle below direct (different sources or years): upstream cannot be negative, so 0, said.
                flags.append("lifecycle_below_direct")
                values = {"lifecycle": f"{lifecycle.value:g}", "direct": f"{direct.value:g}"}
                self._draft.gap("lifecycle_below_direct", energy_kwh, zone=zone, **values)
            self._draft.add(
                scope=Scope.SCOPE_3,
                category=3,
                subcategory="3b",
                location_kg=upstream_kg,
                quality=quality,
                factors={"upstream": used.as_provenance(), "direct": direct.as_provenance()},
                flags=flags,
                **common,
            )
        td = self._book.grid(zone=zone, kind=FactorKind.TD_LOSS, year=year, month=month)
        if td is None:
            self._draft.gap("no_td_loss_factor", energy_kwh, zone=zone)
        else:
            td_kg = calc.td_loss_kg(energy_kwh=energy_kwh, td_loss_g_per_kwh=td.value)
            self._draft.add(
                scope=Scope.SCOPE_3,
                category=3,
                subcategory="3c",
                location_kg=td_kg,
                quality=quality,
                factors={"td_loss": td.as_provenance()},
                flags=list(td.flags),
                **common,
            )


# EU member states (ISO 3166-1 alpha-3): guarantees of origin are mutually recognised among them (Directive
# (EU) 2018/2001 Art. 19(9)), so an organization may treat them as one market (Organization.eu_go_single_market).
EU_MEMBER_ISO3 = frozenset(
    {
        "AUT",
        "BEL",
        "BGR",
        "HRV",
        "CYP",
        "CZE",
        "DNK",
        "EST",
        "FIN",
        "FRA",
        "DEU",
        "GRC",
        "HUN",
        "IRL",
        "ITA",
        "LVA",
        "LTU",
        "LUX",
        "MLT",
        "NLD",
        "POL",
        "PRT",
        "ROU",
        "SVK",
        "SVN",
        "ESP",
        "SWE",
    }
)
