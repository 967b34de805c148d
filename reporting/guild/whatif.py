"""What-if replays of past runs: another region, start hour, GPU model or hardware refresh cycle.

A replay starts from each run's figures in the current ledger (the newest current Calculation that
covers it): its facility kWh and the location-based kgCO2e of its electricity line (Scope 2, or
Scope 3 Cat 1 at a colocation or cloud site), and, for the refresh cycle, its amortized embodied
share. Upstream (Cat 3) lines are not replayed. The arithmetic is in the pure ``*_kg`` functions;
every result lists its assumptions (docs/guild.md):

- **region**: same facility kWh × the target zone's location-based factor for the run's year.
  100 kWh moved from 400 to 20 gCO2e/kWh: 40 kg → 2 kg, 38 kg saved. ``from_zone`` limits the replay to
  the runs that ran in one grid zone.
- **hour**: the run's kgCO2e × (mean intensity over the shifted hours ÷ mean over its own hours),
  energy spread evenly over the run. Hourly intensity of the run's zone where the dataset has every
  hour; else ``DAILY_PROFILE`` at the zone's local hours (a documented stylized shape, not data).
- **gpu**: energy × (perf-per-watt of the run's GPU ÷ that of the other GPU), from
  ``gpu_perf_per_watt.csv`` via ``reporting.guild.gpus`` (datasheet peak dense tensor TFLOPS ÷ TDP,
  source per row). Same work at peak-spec efficiency: real workloads rarely reach it, so read the
  result as an upper bound.
- **refresh**: amortized embodied kgCO2e × (current lifetime ÷ new lifetime), linear amortization.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial

from emissions.calculations import emissions_kg, facility_energy_kwh
from emissions.factor_book import FactorBook
from emissions.models import (
    CloudRegion,
    HardwareAsset,
    HourlyIntensity,
    Organization,
    Project,
    Run,
    Site,
)
from emissions.periods import Period
from emissions.units import SECONDS_PER_HOUR
from emissions.zone_time_zones import zone_time_zone
from reporting.guild.gpus import gpu_spec_for, gpu_table
from reporting.guild.runs import project_runs, run_ledger_figures, run_zone_code

SCENARIOS = ("region", "hour", "gpu", "refresh")

# Stylized relative grid intensity per LOCAL hour of day of the zone (mean 1.0 after normalization): lowest
# in the small hours, peaking in the early evening, the shape of a demand-following grid with fossil peakers.
# Demand follows the clock people live by, so the shape is read at the zone's local hour
# (``emissions.zone_time_zones``), never at the UTC hour: read at UTC it would put Tokyo's night-time low
# at 10:00–14:00 local time.
# An assumption for zones without hourly data, never presented as data; replays say when it is used.
_PROFILE_RAW = (
    0.85,
    0.80,
    0.78,
    0.77,
    0.78,
    0.82,
    0.92,
    1.02,
    1.08,
    1.06,
    1.02,
    0.98,
    0.96,
    0.97,
    1.00,
    1.05,
    1.12,
    1.20,
    1.24,
    1.20,
    1.12,
    1.04,
    0.96,
    0.90,
)
DAILY_PROFILE = tuple(value * 24 / sum(_PROFILE_RAW) for value in _PROFILE_RAW)


class WhatIfError(ValueError):
    """A replay that cannot be made (unknown zone, GPU or scenario); the message says why."""


# --- pure arithmetic ----------------------------------------------------------------------------


def region_replay_kg(*, energy_kwh: float, to_intensity_g_per_kwh: float) -> float:
    """kgCO2e of the same facility energy at another zone's intensity."""
    return emissions_kg(energy_kwh=energy_kwh, intensity_g_per_kwh=to_intensity_g_per_kwh)


def hour_weights(*, start: datetime, duration_h: float) -> dict[datetime, float]:
    """Hours (UTC, truncated) the run overlaps, each with its share of the run's time (sum 1)."""
    duration_h = max(duration_h, 1e-9)
    end = start + timedelta(hours=duration_h)
    hour = start.replace(minute=0, second=0, microsecond=0)
    weights = {}
    while hour < end:
        overlap = (min(end, hour + timedelta(hours=1)) - max(start, hour)).total_seconds() / SECONDS_PER_HOUR
        weights[hour] = overlap / duration_h
        hour += timedelta(hours=1)
    return weights


def hour_shift_replay_kg(*, kg_co2e: float, original: dict, shifted: dict, intensity) -> float:
    """``kg_co2e`` × weighted mean intensity over ``shifted`` hours ÷ that over ``original`` hours.

    ``original``/``shifted`` map hours to weights (``hour_weights``); ``intensity(hour)`` gives g/kWh.
    """
    before = sum(weight * intensity(hour) for hour, weight in original.items())
    after = sum(weight * intensity(hour) for hour, weight in shifted.items())
    return kg_co2e * after / before if before else kg_co2e


def gpu_swap_replay_kg(*, kg_co2e: float, from_perf_per_w: float, to_perf_per_w: float) -> float:
    """Same work on another GPU: energy (hence kgCO2e) scales with the inverse of perf-per-watt."""
    return kg_co2e * from_perf_per_w / to_perf_per_w


def refresh_replay_kg(*, amortized_kg_co2e: float, lifetime_years: float, new_lifetime_years: float) -> float:
    """Linear amortization: the same embodied total over a longer (shorter) life costs less (more) per period."""
    return amortized_kg_co2e * lifetime_years / new_lifetime_years


# --- replays ------------------------------------------------------------------------------------


@dataclass
class RunReplay:
    run_id: int
    external_id: str
    started_at: datetime
    energy_kwh: float
    baseline_kg_co2e: float
    replay_kg_co2e: float
    note: str = ""

    @property
    def saved_kg_co2e(self) -> float:
        return self.baseline_kg_co2e - self.replay_kg_co2e


@dataclass
class WhatIfResult:
    scenario: str
    description: str
    runs: list[RunReplay] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    @property
    def baseline_kg_co2e(self) -> float:
        return sum(run.baseline_kg_co2e for run in self.runs)

    @property
    def replay_kg_co2e(self) -> float:
        return sum(run.replay_kg_co2e for run in self.runs)

    @property
    def saved_kg_co2e(self) -> float:
        return self.baseline_kg_co2e - self.replay_kg_co2e

    @property
    def saved_pct(self) -> float | None:
        return 100.0 * self.saved_kg_co2e / self.baseline_kg_co2e if self.baseline_kg_co2e else None

    def as_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "baseline_kg_co2e": round(self.baseline_kg_co2e, 3),
            "replay_kg_co2e": round(self.replay_kg_co2e, 3),
            "saved_kg_co2e": round(self.saved_kg_co2e, 3),
            "saved_pct": None if self.saved_pct is None else round(self.saved_pct, 1),
            "assumptions": self.assumptions,
            "runs": [
                {
                    "run_id": run.run_id,
                    "external_id": run.external_id,
                    "started_at": run.started_at.isoformat(),
                    "energy_kwh": round(run.energy_kwh, 3),
                    "baseline_kg_co2e": round(run.baseline_kg_co2e, 3),
                    "replay_kg_co2e": round(run.replay_kg_co2e, 3),
                    "saved_kg_co2e": round(run.saved_kg_co2e, 3),
                    "note": run.note,
                }
                for run in self.runs
            ],
        }


def _hourly_lookup(organization: Organization, zone: str | None, hours: set[datetime]) -> dict[datetime, float] | None:
    """Hourly intensity of every hour asked for, or None when the data lacks any of them: shipped hours and the
    organization's own, its own value where both hold an hour (``HourlyIntensityQuerySet.by_hour``)."""
    if zone is None or not hours:
        return None
    rows = HourlyIntensity.objects.visible_to(organization).filter(zone__code=zone, hour_start__in=list(hours))
    values = {hour: intensity for (_, hour), (intensity,) in rows.by_hour("intensity_g_per_kwh").items()}
    return values if len(values) == len(hours) else None


@dataclass(frozen=True)
class RegionTarget:
    """Where runs are replayed: a grid zone (facility kWh unchanged), or a site or cloud region (its PUE)."""

    name: str
    zone: str | None
    pue: float | None = None
    published_g_per_kwh: float | None = None  # a cloud region's own figure, used when its zone has no factor


def region_target(*, organization: Organization, raw: str) -> RegionTarget:
    """``FR`` (grid zone), ``site:<slug>`` or ``cloud:<provider>:<region>``."""
    raw = raw.strip()
    if raw.startswith("site:"):
        site = Site.objects.for_org(organization).filter(slug=raw[5:]).select_related("zone").first()
        if site is None:
            raise WhatIfError(f"no site {raw[5:]!r} in this organization")
        return RegionTarget(name=f"site {site.name}", zone=site.zone.code, pue=site.pue)
    if raw.startswith("cloud:"):
        provider, _, name = raw[6:].partition(":")
        region = (
            CloudRegion.objects.filter(provider=provider, region=name).select_related("zone").order_by("-pk").first()
        )
        if region is None:
            raise WhatIfError(f"no cloud region {raw[6:]!r}")
        zone = region.zone.code if region.zone_id else None
        return RegionTarget(f"{provider} {name}", zone, region.pue, region.intensity_g_per_kwh)
    if not raw:
        raise WhatIfError("the region scenario needs zone=<grid zone code, site:<slug> or cloud:<provider>:<region>>")
    return RegionTarget(name=f"grid zone {raw.upper()}", zone=raw.upper())


def _run_pue(run: Run) -> float | None:
    if run.site_id:
        return run.site.pue
    return run.cloud_region.pue if run.cloud_region_id else None


def _replay_region(runs, figures, organization, options, result) -> None:
    target = region_target(organization=organization, raw=options.get("zone", ""))
    book = FactorBook(organization)
    from_zone = options.get("from_zone", "").strip().upper()
    if from_zone:  # only the runs that ran in this grid zone move ("the Virginia runs, in Québec")
        runs = [run for run in runs if run_zone_code(run) == from_zone]
        if not runs:
            raise WhatIfError(f"no run of the project in the period ran in grid zone {from_zone}")
        result.assumptions.append(f"Only the runs that ran in grid zone {from_zone} are replayed.")
    for run in runs:
        figure = figures[run.pk]
        factor = book.location(zone=target.zone, year=run.started_at.year) if target.zone else None
        if factor is not None:
            intensity, source = factor.value, f"{factor.dataset}, {factor.period}"
        elif target.published_g_per_kwh is not None:
            intensity, source = target.published_g_per_kwh, "the cloud region's published figure"
        else:
            raise WhatIfError(f"no location-based factor for {target.name}")
        energy_kwh, pue_note = figure["energy_kwh"], ""
        if target.pue is not None:
            current_pue = _run_pue(run)
            if current_pue:  # facility kWh back to IT kWh, then the target's PUE
                energy_kwh = figure["energy_kwh"] / current_pue * target.pue
            else:
                energy_kwh = facility_energy_kwh(
                    it_energy_kwh=run.energy_kwh, site_pue=target.pue, tracker_pue=run.tracker_pue
                )
            pue_note = f", PUE {current_pue or 'tracker'} → {target.pue:g}"
        replay = region_replay_kg(energy_kwh=energy_kwh, to_intensity_g_per_kwh=intensity)
        note = f"{run_zone_code(run) or '?'} → {target.name} at {intensity:g} gCO2e/kWh ({source}){pue_note}"
        result.runs.append(_replay(run, figure, replay, note))
    result.description = f"Runs moved to {target.name}"
    result.assumptions.append(
        "The target's location-based factor for each run's year; a grid zone keeps the facility kWh, a site or "
        "cloud region applies its own PUE to the run's IT energy."
    )


def _profile_weight(hour: datetime, *, time_zone: tzinfo) -> float:
    """``DAILY_PROFILE`` weight of a (UTC) hour, read at the local hour it is in ``time_zone``."""
    return DAILY_PROFILE[hour.astimezone(time_zone).hour]


def _replay_hour(runs, figures, organization, options, result) -> None:
    try:
        shift_h = int(options.get("shift_h", ""))
    except ValueError as exc:
        raise WhatIfError("the hour scenario needs shift_h=<hours, -23..23>") from exc
    if not -23 <= shift_h <= 23 or shift_h == 0:
        raise WhatIfError("shift_h must be a non-zero number of hours between -23 and 23")
    used_profile = False
    for run in runs:
        figure = figures[run.pk]
        original = hour_weights(start=run.started_at.astimezone(UTC), duration_h=run.duration_s / SECONDS_PER_HOUR)
        shifted = {hour + timedelta(hours=shift_h): weight for hour, weight in original.items()}
        zone = run_zone_code(run)
        hourly = _hourly_lookup(organization, zone, set(original) | set(shifted))
        if hourly is not None:
            intensity, note = hourly.__getitem__, "hourly intensity of the zone"
        else:
            local = (zone_time_zone(zone) if zone else None) or UTC
            intensity, note = partial(_profile_weight, time_zone=local), "daily profile (no hourly data)"
            used_profile = True
        replay = hour_shift_replay_kg(
            kg_co2e=figure["kg_co2e"], original=original, shifted=shifted, intensity=intensity
        )
        result.runs.append(_replay(run, figure, replay, note))
    result.description = f"Runs started {abs(shift_h)} h {'later' if shift_h > 0 else 'earlier'}"
    result.assumptions.append("Energy spread evenly over each run's hours; same zone, same energy.")
    if used_profile:
        result.assumptions.append(
            "Zones without hourly data use GreenGuild's stylized daily profile at the zone's local time (lowest "
            "01:00–05:00, peak 17:00–20:00; UTC for a zone without a time zone on file; docs/guild.md): an "
            "assumption, not measured data."
        )


def _replay_gpu(runs, figures, options, result) -> None:
    target = gpu_spec_for(options.get("gpu", ""))
    if target is None:
        names = ", ".join(spec.gpu_model for spec in gpu_table())
        raise WhatIfError(f"the gpu scenario needs gpu=<one of: {names}>")
    for run in runs:
        figure = figures[run.pk]
        current = gpu_spec_for(run.gpu_model) if run.gpu_model else None
        if current is None:
            note, replay = f"GPU {run.gpu_model or '(none)'} not in the table: unchanged", figure["kg_co2e"]
        else:
            replay = gpu_swap_replay_kg(
                kg_co2e=figure["kg_co2e"], from_perf_per_w=current.perf_per_w, to_perf_per_w=target.perf_per_w
            )
            note = (
                f"{current.gpu_model} ({current.perf_per_w:.3f} TFLOPS/W) → "
                f"{target.gpu_model} ({target.perf_per_w:.3f} TFLOPS/W)"
            )
        result.runs.append(_replay(run, figure, replay, note))
    result.description = f"Runs on {target.gpu_model}"
    result.assumptions.append(
        "Same work; energy scales with datasheet peak dense tensor TFLOPS per TDP watt "
        f"(reporting/guild/gpu_perf_per_watt.csv; {target.gpu_model}: {target.source}). An upper bound."
    )


def _replay_refresh(runs, figures, organization, options, result) -> None:
    try:
        new_life = float(options.get("lifetime_years", ""))
    except ValueError as exc:
        raise WhatIfError("the refresh scenario needs lifetime_years=<years>") from exc
    if not 0.5 <= new_life <= 15:
        raise WhatIfError("lifetime_years must be between 0.5 and 15")
    lifetimes: dict[int, list[tuple[float, int]]] = {}
    for site_id, life, qty in HardwareAsset.objects.for_org(organization).values_list(
        "site_id", "lifetime_years", "quantity"
    ):
        lifetimes.setdefault(site_id, []).append((life, qty))
    for run in runs:
        figure = figures[run.pk]
        fleet = lifetimes.get(run.site_id) or []
        if not figure["amortized_kg_co2e"] or not fleet:
            result.runs.append(_replay(run, figure, 0.0, "no amortized embodied share", baseline=0.0))
            continue
        life = sum(years * qty for years, qty in fleet) / sum(qty for _, qty in fleet)
        replay = refresh_replay_kg(
            amortized_kg_co2e=figure["amortized_kg_co2e"], lifetime_years=life, new_lifetime_years=new_life
        )
        note = f"amortized over {life:g} → {new_life:g} years"
        result.runs.append(_replay(run, figure, replay, note, baseline=figure["amortized_kg_co2e"]))
    result.description = f"Hardware kept {new_life:g} years"
    result.assumptions.append(
        "Amortized embodied share only (management view), linear over the lifetime; current lifetime = "
        "the unit-weighted mean of the run's site's assets. Operational energy unchanged."
    )


def _replay(run: Run, figure: dict, replay_kg: float, note: str, baseline: float | None = None) -> RunReplay:
    return RunReplay(
        run_id=run.pk,
        external_id=run.external_id,
        started_at=run.started_at,
        energy_kwh=figure["energy_kwh"],
        baseline_kg_co2e=figure["kg_co2e"] if baseline is None else baseline,
        replay_kg_co2e=replay_kg,
        note=note,
    )


def whatif_replay(
    *, organization: Organization, project: Project, period: Period, scenario: str, options: dict
) -> WhatIfResult:
    """Replay the project's runs started in ``period`` under ``scenario`` (region, hour, gpu, refresh)."""
    if scenario not in SCENARIOS:
        raise WhatIfError(f"unknown scenario {scenario!r}: use {', '.join(SCENARIOS)}")
    runs = project_runs(organization, project, period)
    figures = run_ledger_figures(run_ids=[run.pk for run in runs])
    left_out = [run for run in runs if run.pk not in figures]
    runs = [run for run in runs if run.pk in figures]
    result = WhatIfResult(scenario=scenario, description="")
    result.assumptions.append(
        "Baseline: each run's location-based kgCO2e in the current ledger "
        "(its electricity line; upstream Cat 3 not replayed)."
    )
    if left_out:  # said, never silently dropped: the saving covers only the runs the ledger counts
        result.assumptions.append(
            f"Not replayed: {len(left_out)} run(s), {sum(run.energy_kwh for run in left_out):.3f} kWh IT, that no "
            "figure holds (not located, no grid factor, or awaiting the next recalculation)."
        )
    if scenario == "region":
        _replay_region(runs, figures, organization, options, result)
    elif scenario == "hour":
        _replay_hour(runs, figures, organization, options, result)
    elif scenario == "gpu":
        _replay_gpu(runs, figures, options, result)
    else:
        _replay_refresh(runs, figures, organization, options, result)
    return result
