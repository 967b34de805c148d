"""Carbon-aware advice: where and when (UTC) a project's next training run would emit least."""

from __future__ import annotations

from datetime import UTC

from django.db.models import Avg
from django.db.models.functions import ExtractHour

from emissions.factor_book import FactorBook
from emissions.models import CloudRegion, GridFactor, GridZone, HourlyIntensity, Organization, Project, Run, Site
from emissions.periods import Period
from reporting.guild.runs import project_runs, run_ledger_figures
from reporting.guild.whatif import DAILY_PROFILE


def _hour_of_day_intensity(zone: str, annual_g_per_kwh: float, period: Period) -> tuple[list[float], str]:
    """Mean intensity per UTC hour of day over the period from hourly data when all 24 hours have
    some, else the annual factor × ``DAILY_PROFILE``; with the source's name."""
    rows = dict(
        HourlyIntensity.objects.filter(
            zone__code=zone, hour_start__date__gte=period.start, hour_start__date__lte=period.end
        )
        .annotate(hour=ExtractHour("hour_start", tzinfo=UTC))
        .values("hour")
        .annotate(mean=Avg("intensity_g_per_kwh"))
        .order_by()
        .values_list("hour", "mean")
    )
    if len(rows) == 24:
        return [rows[hour] for hour in range(24)], "hourly data"
    return [annual_g_per_kwh * weight for weight in DAILY_PROFILE], "annual factor × daily profile"


def whatif_recommendation(*, organization: Organization, project: Project, period: Period, window_h: int = 4):
    """Where and when (UTC) the project's next training run would emit least, vs its average so far.

    Candidates: the grid zones of the organization's sites, of the cloud regions its runs used and of its
    off-site runs.
    Returns None without runs or candidates; else ``zone``, ``start_hour``, ``end_hour``,
    ``intensity_g_per_kwh``, ``baseline_g_per_kwh``, ``change_pct``, ``source`` and ``text``.
    """
    runs = project_runs(organization, project, period)
    figures = run_ledger_figures(run_ids=[run.pk for run in runs])
    energy_kwh = sum(f["energy_kwh"] for f in figures.values())
    if not energy_kwh:
        return None
    baseline = 1000.0 * sum(f["kg_co2e"] for f in figures.values()) / energy_kwh
    zones = set(Site.objects.for_org(organization).values_list("zone__code", flat=True))
    runs_in = Run.objects.for_org(organization)
    zones |= set(runs_in.filter(cloud_region__zone__isnull=False).values_list("cloud_region__zone__code", flat=True))
    zones |= set(runs_in.filter(grid_zone__isnull=False).values_list("grid_zone__code", flat=True))
    book, best = FactorBook(organization), None
    for zone in sorted(zones):
        factor = book.location(zone=zone, year=period.end.year)
        if factor is None:
            continue
        by_hour, source = _hour_of_day_intensity(zone, factor.value, period)
        for start in range(24):
            mean = sum(by_hour[(start + offset) % 24] for offset in range(window_h)) / window_h
            if best is None or mean < best["intensity_g_per_kwh"] - 1e-9:
                best = {"zone": zone, "start_hour": start, "intensity_g_per_kwh": mean, "source": source}
    if best is None:
        return None
    best["end_hour"] = (best["start_hour"] + window_h) % 24
    best["baseline_g_per_kwh"] = baseline
    best["change_pct"] = 100.0 * (best["intensity_g_per_kwh"] - baseline) / baseline if baseline else None
    change = f": {best['change_pct']:+.0f}%".replace("-", "−") if best["change_pct"] is not None else ""
    best["text"] = (
        f"Run in {best['zone']} between {best['start_hour']:02d}:00 and {best['end_hour']:02d}:00 UTC{change} "
        f"vs this project's average of {baseline:.0f} gCO2e/kWh ({best['source']})"
    )
    return best


def zone_choices(*, organization: Organization) -> list[str]:
    """Grid zone codes with a location-based (or lifecycle) factor visible to the organization."""
    codes = GridFactor.objects.visible_to(organization).values_list("zone__code", flat=True).distinct()
    return sorted(set(codes) & set(GridZone.objects.values_list("code", flat=True)))


def region_target_choices(*, organization: Organization) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for the region scenario: grid zones, the organization's sites, cloud regions."""
    sites = Site.objects.for_org(organization).order_by("name").values_list("slug", "name")
    regions = CloudRegion.objects.order_by("provider", "region").values_list("provider", "region", "location")
    return [
        ("Grid zones", [(code, code) for code in zone_choices(organization=organization)]),
        ("Sites", [(f"site:{slug}", name) for slug, name in sites]),
        (
            "Cloud regions",
            sorted({(f"cloud:{p}:{r}", f"{p} {r}" + (f" ({loc})" if loc else "")) for p, r, loc in regions}),
        ),
    ]
