"""A small hand-computed ledger for the dashboard tests (org A, 2026-Q2 and 2026-Q3).

2026-Q3, inventory view (kgCO2e, location / market):
  run on 07-10 (A Team, Scope 2, metered)       300 / 100   1,000 kWh at site lab; 4 GPUs × 2 h at 50 %
  its Cat 3 upstream line (A Team, metered)      50 /  50
  July's idle electricity (no team, metered)     75 /  25     250 kWh at site lab, spread over 31 days
  August cloud bill (Data team, billing est.)   120 / 120     400 kWh, spread over 31 days
  GPU server acquired 09-15 (capital goods)     500 / 500     inventory view only (default tier)
  its amortization (management view only)        30 /  30     spread over the quarter
  → inventory 1,045 / 795 kg; management 575 / 325 kg; 1,650 kWh; lab PUE 1.25, WUE 1.8 L/kWh IT
2026-Q2: one Scope 2 line on 05-05, 700 / 300 kg.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from emissions.choices import ActivityKind, Basis, QualityTier
from emissions.models import Calculation, EmissionRecord, Organization
from reporting.models import CarbonBudget
from tests.factories import ProjectFactory, RunFactory, SiteFactory, TeamFactory

Q2 = (date(2026, 4, 1), date(2026, 6, 30))
Q3 = (date(2026, 7, 1), date(2026, 9, 30))


def calculation_add(organization: Organization, period: tuple[date, date], **overrides) -> Calculation:
    return Calculation.objects.create(
        organization=organization, period_start=period[0], period_end=period[1], methodology_version="test", **overrides
    )


def record_add(calculation: Calculation, *, location: float, market: float | None = None, **fields) -> EmissionRecord:
    start = fields.pop("start")
    values = {
        "organization": calculation.organization,
        "calculation": calculation,
        "scope": 2,
        "basis": Basis.OPERATIONAL,
        "activity_kind": ActivityKind.RUN,
        "period_start": start,
        "period_end": fields.pop("end", start),
        "emissions_kg_co2e_location": location,
        "emissions_kg_co2e_market": location if market is None else market,
        "emissions_low_kg_co2e": location,
        "emissions_high_kg_co2e": location,
        "quality": QualityTier.METERED,
        "methodology_version": "test",
        **fields,
    }
    return EmissionRecord.objects.create(**values)


def q3_records_add(calculation: Calculation, *, scale: float = 1.0) -> None:
    """The Q3 lines above (every kg and kWh × ``scale``) in ``calculation``."""
    org = calculation.organization
    team, data = org.teams.get(slug="a-team"), org.teams.get(slug="data")
    project, etl = org.projects.get(slug="a-project"), org.projects.get(slug="etl")
    site, run = org.sites.get(slug="lab"), org.runs.get(external_id="q3-run")
    owner = {"team": team, "project": project, "site": site}
    record_add(calculation, start=date(2026, 7, 10), location=300 * scale, market=100 * scale,
               energy_kwh=1000 * scale, run=run, **owner)  # fmt: skip
    record_add(calculation, start=date(2026, 7, 10), location=50 * scale, scope=3, scope3_category=3, run=run, **owner)
    record_add(calculation, start=date(2026, 7, 1), end=date(2026, 7, 31), location=75 * scale, market=25 * scale,
               energy_kwh=250 * scale, site=site, activity_kind=ActivityKind.UNALLOCATED)  # fmt: skip
    record_add(calculation, start=date(2026, 8, 1), end=date(2026, 8, 31), location=120 * scale, scope=3,
               scope3_category=1, energy_kwh=400 * scale, team=data, project=etl,
               activity_kind=ActivityKind.CLOUD_USAGE, quality=QualityTier.BILLING_ESTIMATE)  # fmt: skip
    hardware = {"scope": 3, "scope3_category": 2, "site": site, "quality": QualityTier.DEFAULT}
    record_add(calculation, start=date(2026, 9, 15), location=500 * scale, basis=Basis.CAPITAL_GOODS,
               activity_kind=ActivityKind.HARDWARE_ASSET, **hardware)  # fmt: skip
    record_add(calculation, start=Q3[0], end=Q3[1], location=30 * scale, basis=Basis.EMBODIED_AMORTIZED,
               activity_kind=ActivityKind.UNALLOCATED, **hardware)  # fmt: skip


def small_ledger_create(organization: Organization) -> dict[str, Calculation]:
    """Teams, a site, a run, budgets and the Q2/Q3 calculations above in ``organization`` (org A)."""
    data = TeamFactory(organization=organization, slug="data", name="Data")
    ProjectFactory(organization=organization, team=data, slug="etl", name="ETL")
    SiteFactory(organization=organization, slug="lab", name="Lab", pue=1.25, wue_l_per_kwh=1.8)
    RunFactory(organization=organization, project=organization.projects.get(slug="a-project"),
               external_id="q3-run", started_at=datetime(2026, 7, 10, 8, tzinfo=UTC),
               ended_at=datetime(2026, 7, 10, 10, tzinfo=UTC), duration_s=7200, gpu_count=4,
               gpu_utilization_pct=50.0)  # fmt: skip
    q2 = calculation_add(organization, Q2)
    record_add(
        q2, start=date(2026, 5, 5), location=700, market=300, energy_kwh=900, team=organization.teams.get(slug="a-team")
    )
    q3 = calculation_add(organization, Q3)
    q3_records_add(q3)
    for team, kg in (("a-team", 1000.0), ("data", 100.0)):
        CarbonBudget.objects.create(organization=organization, team=organization.teams.get(slug=team),
                                    period_start=Q3[0], period_end=Q3[1], budget_kg_co2e=kg)  # fmt: skip
    return {"q2": q2, "q3": q3}
