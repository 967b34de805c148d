"""The deterministic demo organization "Acme AI" (slug ``acme``) that ``manage.py seed_demo`` creates.

Every value is drawn from one ``random.Random(SEED)`` in a fixed order over fixed calendar dates
(runs 2025-01-01 to 2026-09-30, UTC), so seeding an empty database twice gives identical rows. Run
energies are IT kWh computed as power (W) × duration and split cpu/gpu/ram; each site's metered
facility kWh exceeds its runs' IT kWh × PUE, leaving an unallocated/idle share. No EmissionRecords
are written: the accounting engine computes them from this activity data.

The rows are written through the same services as users' writes (emissions/services/, the guild's
``carbon_budget_set``): runs as tracker records through ``run_upsert_many``, the live runs' deltas through
``run_sample_append``, the inventory through its import loaders. A row the services do not write is
written directly with a comment saying so.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from emissions.choices import EfficiencyTechnique as Tech
from emissions.choices import InstrumentKind, OffsiteRunsScope, ProjectStage, Role, RunKind
from emissions.factor_book import FactorBook
from emissions.models import (
    CloudRegion,
    EnergyInstrument,
    Experiment,
    FuelUse,
    GridZone,
    HardwareAsset,
    MeterReading,
    NetRevenue,
    Organization,
    Project,
    Run,
    RunSample,
    Site,
    Team,
)
from emissions.periods import Period
from emissions.records import (
    EnergyInstrumentRecord,
    FuelUseRecord,
    HardwareAssetRecord,
    MeterReadingRecord,
    RefrigerantLossRecord,
    RunRecord,
    RunSampleRecord,
    SiteRecord,
    UpsertOutcome,
)
from emissions.services.inventory import (
    energy_instrument_upsert_many,
    fuel_use_upsert_many,
    hardware_asset_upsert_many,
    meter_reading_upsert_many,
    refrigerant_loss_upsert_many,
)
from emissions.services.offsite import organization_offsite_update
from emissions.services.organizations import (
    member_add,
    organization_create,
    project_create,
    project_profile_set,
    team_create,
    team_parent_set,
)
from emissions.services.run_quality import TRACKER_RULES
from emissions.services.runs import run_sample_append, run_upsert_many
from emissions.services.sites import site_upsert_many
from frontend.demo_data import (
    CLOUDS,
    CPU_ONLY_MODEL,
    DEMO_EXPERIMENT_ID,
    DIESEL_FUEL,
    DIESEL_UNIT,
    FLEET,
    GPUS,
    H100_IN_SERVICE,
    KIND_MIX,
    KINDS,
    MONTHS,
    ORG_SLUG,
    PERIOD_END,
    PROJECTS,
    RAM_W_PER_GB,
    SAMPLED_RUNS,
    SEED,
    SITE_TRACKER_INTENSITY,
    SITES,
    TEAMS,
    Gpu,
    Place,
    ProjectSpec,
    TeamSpec,
)
from frontend.demo_hourly import demo_hourly_seed
from frontend.offboarding import organization_rows_delete
from reporting.guild.budgets import carbon_budget_set
from reporting.guild.techniques import run_work, work_unit
from reporting.models import CarbonBudget

# NVML-read GPUs, modelled CPU and RAM: CodeCarbon's rule (emissions/services/run_quality.py), which Acme's
# scheduler states for its native runs too.
COMPONENT_QUALITY = tuple(TRACKER_RULES["codecarbon"].items())
DEMO_USERS = ("demo", "acme-admin", "vision-lead")


def _month_start(index: int) -> date:
    """First day of the index-th month after 2025-01 (0 = January 2025)."""
    return date(2025 + index // 12, index % 12 + 1, 1)


def _month_index(moment: datetime) -> int:
    return (moment.year - 2025) * 12 + moment.month - 1


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def demo_organization_seed(*, stdout=None) -> Organization:
    """Create the demo organization ``acme`` with 21 months of activity; a no-op when it already exists."""
    existing = Organization.objects.filter(slug=ORG_SLUG).first()
    if existing is not None:  # the seed is one transaction, so an existing org is a complete one
        _say(stdout, f'Organization "{ORG_SLUG}" already exists: nothing to do.')
        return existing
    if not GridZone.objects.exists():
        _say(stdout, "No reference data yet: running load_reference_data.")
        call_command("load_reference_data", stdout=stdout)
    rng = random.Random(SEED)
    with transaction.atomic():
        _accounts_create()
        org = _organization_create()
        teams, projects, experiments = _structure_create(org, rng)
        _memberships_create(org, teams)
        places = _places_get(org)
        _fleet_create(org)
        placed_runs = _runs_draw(org, rng, projects, experiments, places)
        sampled = _sampled(placed_runs)
        _runs_store(org, placed_runs, live=sampled)
        _samples_create(org, rng, sampled)
        _facility_create(org, rng, places, placed_runs)
        _budgets_create(org, teams, placed_runs)
        _offsite_runs_create(org, teams)
    _say(stdout, f'Seeded demo organization "{org.name}" ({ORG_SLUG}).')
    return org


def demo_organization_delete() -> bool:
    """Delete the demo organization, its ledger and its demo users; False when there was none."""
    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is None:
        return False
    with transaction.atomic():
        organization_rows_delete(organization=org)
        get_user_model().objects.filter(username__in=DEMO_USERS).delete()
    return True


def demo_organization_summary(organization: Organization) -> dict[str, int]:
    """Row counts of the demo organization, for the command's report."""
    return {
        "teams": Team.objects.for_org(organization).count(),
        "projects": Project.objects.for_org(organization).count(),
        "runs": Run.objects.for_org(organization).count(),
        "run samples": RunSample.objects.for_org(organization).count(),
        "hardware assets": HardwareAsset.objects.for_org(organization).count(),
        "meter readings": MeterReading.objects.for_org(organization).count(),
        "energy instruments": EnergyInstrument.objects.for_org(organization).count(),
        "fuel uses": FuelUse.objects.for_org(organization).count(),
        "carbon budgets": CarbonBudget.objects.for_org(organization).count(),
    }


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _stored(outcome: UpsertOutcome, what: str, count: int) -> None:
    """The demo's records are fixed data: one a service rejects or finds already stored is a bug in the demo."""
    if outcome.rejected or outcome.loaded != count:
        reasons = "; ".join(f"#{index}: {reason}" for index, reason in list(outcome.rejected.items())[:3])
        raise RuntimeError(f"demo {what}: {outcome.loaded} of {count} stored ({reasons or 'duplicates'})")


def _accounts_create() -> None:
    """``demo``/``demo``, ``acme-admin`` and ``vision-lead`` (no password: no sign-in).

    No service creates an account with a chosen password and no organization (``member_add`` issues a
    one-time password), so the accounts are written here; their memberships go through the services.
    """
    users = get_user_model().objects
    for username, first, last in (
        ("demo", "Demo", "User"),
        ("acme-admin", "Ada", "Admin"),
        ("vision-lead", "Vera", "Lindqvist"),
    ):
        user, _ = users.get_or_create(
            username=username, defaults={"email": f"{username}@acme.example", "first_name": first, "last_name": last}
        )
        if username == "demo":
            user.set_password("demo")
        else:
            user.set_unusable_password()
        user.save()


def _organization_create() -> Organization:
    """The tenant with ``acme-admin`` as its org admin, its defaults and its quarterly net revenue (EUR) for
    2025 and 2026, growing 5% a quarter."""
    org = organization_create(name="Acme AI", slug=ORG_SLUG, admin_username="acme-admin").organization
    # Acme's head office, for runs nothing locates; third-party compute for off-site runs (the model default).
    organization_offsite_update(
        organization=org,
        default_grid_zone=GridZone.objects.get(code="DE"),
        offsite_runs_scope=OffsiteRunsScope.THIRD_PARTY,
    )
    # No service sets the default PUE (only the Django admin does); currency and fiscal year keep their defaults.
    org.default_pue = 1.4
    org.full_clean()
    org.save(update_fields=["default_pue"])
    for quarter in range(8):
        start = date(2025 + quarter // 4, 3 * (quarter % 4) + 1, 1)
        end = date(start.year, start.month + 2, calendar.monthrange(start.year, start.month + 2)[1])
        amount = Decimal(round(14_500_000 * 1.05**quarter, -3)).quantize(Decimal("0.01"))
        # No service writes net revenue (only the Django admin does).
        NetRevenue.objects.create(organization=org, period_start=start, period_end=end, amount=amount, currency="EUR")
    return org


def _project_create(
    org: Organization, team: Team, *, slug: str, name: str, model_family: str, stage: str, offsite: str = ""
) -> Project:
    project = project_create(organization=org, team=team, name=name, slug=slug)
    return project_profile_set(project=project, model_family=model_family, stage=stage, offsite_runs_scope=offsite)


def _experiment_create(project: Project, external_id: str, name: str, *, default_demo_id: bool = False) -> Experiment:
    # No service names an experiment (run_upsert_many creates a run's experiment unnamed), so the demo's
    # named experiments are written here; the runs then find them by their external id.
    return Experiment.objects.create(
        project=project, external_id=external_id, name=name, is_default_demo_id=default_demo_id
    )


def _structure_create(org: Organization, rng: random.Random):
    """Teams, projects and 2-3 experiments per project (one uses CodeCarbon's default demo id)."""
    teams: dict[str, Team] = {}
    for team in TEAMS:
        teams[team.slug] = team_create(organization=org, name=team.name, slug=team.slug)
        if team.parent:
            team_parent_set(team=teams[team.slug], parent=teams[team.parent])
    projects, experiments = {}, {}
    for spec in PROJECTS:
        project = _project_create(
            org, teams[spec.team], slug=spec.slug, name=spec.name, model_family=spec.model_family, stage=spec.stage
        )
        projects[spec.slug] = project
        experiments[spec.slug] = [
            _experiment_create(project, str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"{spec.name}: {label}")
            for label in ("baseline", "sweep", "ablation")[: rng.randint(2, 3)]
        ]
    experiments["doc-classifier"].append(
        _experiment_create(projects["doc-classifier"], DEMO_EXPERIMENT_ID, "Unconfigured tracker", default_demo_id=True)
    )
    return teams, projects, experiments


def _memberships_create(org: Organization, teams: dict[str, Team]) -> None:
    """``demo`` (guild member) and ``vision-lead`` (Vision team member) join; ``acme-admin`` founded it."""
    member_add(organization=org, username="demo", role=Role.GUILD_MEMBER)
    member_add(organization=org, username="vision-lead", role=Role.TEAM_MEMBER, team=teams["vision"])


def _places_get(org: Organization) -> dict[str, Place]:
    """Create the two sites and resolve the cloud regions (newest reference dataset) runs execute in."""
    records = [
        SiteRecord(
            name=name, ownership=ownership, grid_zone_code=zone, pue=pue, wue_l_per_kwh=wue, buys_electricity=True
        )
        for _, _, name, ownership, zone, pue, wue, _ in SITES
    ]
    _stored(site_upsert_many(organization=org, records=records), "sites", len(records))
    sites = {site.slug: site for site in Site.objects.for_org(org).select_related("zone")}
    places = {}
    for key, slug, *_ in SITES:
        site = sites[slug]
        places[key] = Place(key, site, None, site.pue, SITE_TRACKER_INTENSITY[site.zone.code], site.zone.country_iso3)
    for key, name in CLOUDS.items():
        provider, region_name = name.split(":")
        region = (
            CloudRegion.objects.select_related("zone")
            .filter(provider=provider, region=region_name)
            .order_by("-dataset_id")
            .first()
        )
        if region is None or region.zone is None or region.intensity_g_per_kwh is None:
            raise LookupError(f"cloud region {provider}:{region_name} is missing from the reference data")
        places[key] = Place(key, None, region, region.pue, region.intensity_g_per_kwh, region.zone.country_iso3)
    return places


def _fleet_create(org: Organization) -> None:
    """The hardware register: Frankfurt's A100 → H100 refresh, its CPU servers, Montréal's L40S cards."""
    site_slugs = {key: slug for key, slug, *_ in SITES}
    records = [
        HardwareAssetRecord(
            asset_id=asset_id,
            site=site_slugs[place_key],
            hardware_model_name=model_name,
            quantity=quantity,
            acquired_on=acquired,
            in_service_on=in_service,
            lifetime_years=life,
            retired_on=retired,
            embodied_kg_co2e_per_unit=None,  # the catalogue model's figure
            disposal_route=disposal,
        )
        for asset_id, place_key, model_name, quantity, acquired, in_service, life, retired, disposal in FLEET
    ]
    outcome = hardware_asset_upsert_many(organization=org, records=records)
    _stored(outcome, "hardware assets", len(records))


def _gpu_for(place: Place, start: datetime, rng: random.Random) -> tuple[str, int]:
    """The GPU type at a place on a date and how many GPUs one run may use there."""
    if place.key == "fra":
        return ("a100-40" if start.date() < H100_IN_SERVICE else "h100"), 32
    if place.key == "mtl":
        return "l40s", (24 if start.date() >= date(2026, 3, 2) else 16)
    if rng.random() < (0.25 if start.year == 2025 else 0.55):
        return "h100", 64
    return ("a100-80" if place.region is not None and place.region.provider == "azure" else "a100-40"), 64


def _runs_draw(org, rng, projects, experiments, places) -> list[tuple[Run, TeamSpec, Place]]:
    """About 3,400 runs, 100 in January 2025 growing 4.5% a month; returns (run, its team, its place).

    The runs are drafts (unsaved ``Run`` objects, which the guild's work measures read); ``_runs_store``
    writes them as tracker records.
    """
    teams = {team.slug: team for team in TEAMS}
    placed: list[tuple[Run, TeamSpec, Place]] = []
    for month in range(MONTHS):
        for _ in range(round(100 * 1.045**month)):
            spec = rng.choices(PROJECTS, weights=[project.weight for project in PROJECTS])[0]
            team = teams[spec.team]
            place = places[_weighted(rng, team.places)]
            run = Run(organization=org, project=projects[spec.slug], country_iso3=place.country_iso3)
            run.kind = _weighted(rng, KIND_MIX[spec.mix or spec.stage])
            _run_time_fill(rng, run, first=_month_start(month))
            gpu = _run_energy_fill(
                rng, run, place=place, cpu_only=spec.cpu_only or rng.random() < KINDS[run.kind].cpu_only_share
            )
            _run_provenance_fill(rng, run, spec=spec, team=team, place=place, experiments=experiments[spec.slug])
            _run_outcome_fill(rng, run, llm=spec.llm, gpu=gpu, green=team.green)
            if run.source == "native":
                run.external_id = f"acme-sched-{len(placed) + 1:06d}"
            placed.append((run, team, place))
    _techniques_assign(org, placed)
    return placed


def _run_record(run: Run, place: Place, *, live: bool) -> RunRecord:
    """The tracker record of a drawn run. A ``live`` run is CodeCarbon's ``POST /runs``: no energy and no end
    yet, its samples add them (``_samples_create``)."""
    return RunRecord(
        source=run.source,
        external_id=run.external_id,
        started_at=run.started_at,
        ended_at=None if live else run.ended_at,
        duration_s=0.0 if live else run.duration_s,
        energy_kwh=0.0 if live else run.energy_kwh,
        cpu_energy_kwh=0.0 if live else run.cpu_energy_kwh,
        gpu_energy_kwh=0.0 if live else run.gpu_energy_kwh,
        ram_energy_kwh=0.0 if live else run.ram_energy_kwh,
        tracker_emissions_kg_co2e=None if live else run.tracker_emissions_kg_co2e,
        experiment_external_id=run.experiment.external_id if run.experiment else "",
        kind=run.kind,
        tracker_pue=run.tracker_pue,
        cpu_model=run.cpu_model,
        cpu_count=run.cpu_count,
        gpu_model=run.gpu_model,
        gpu_count=run.gpu_count,
        gpu_utilization_pct=run.gpu_utilization_pct,
        country_iso3=run.country_iso3,
        cloud_provider=place.region.provider if place.region else "",
        cloud_region=place.region.region if place.region else "",
        tracker_name=run.tracker_name,
        tracker_version=run.tracker_version,
        user_name=run.user_name,
        tags=tuple(run.tags.items()),
        efficiency_techniques=tuple(run.efficiency_techniques),
        tokens_processed=run.tokens_processed,
        inferences_count=run.inferences_count,
        component_quality=COMPONENT_QUALITY,
    )


def _runs_store(org: Organization, placed, *, live: Sequence[Run]) -> None:
    """Write the drawn runs through ``run_upsert_many``, one import per project and site (a site is the
    import's, as for a site's ingest token; cloud runs name their region); the ``live`` runs open empty."""
    live_keys = {(run.source, run.external_id) for run in live}
    imports: dict[tuple[Project, Site | None], list[RunRecord]] = defaultdict(list)
    for run, _, place in placed:
        record = _run_record(run, place, live=(run.source, run.external_id) in live_keys)
        imports[run.project, place.site].append(record)
    for (project, site), records in imports.items():
        outcome = run_upsert_many(organization=org, records=records, project=project, site=site)
        _stored(outcome, f"runs of {project.slug} at {site.slug if site else 'cloud regions'}", len(records))
    _run_extras_set(
        org, {(run.source, run.external_id): (run.accuracy, run.tracker_intensity_g_per_kwh) for run, _, _ in placed}
    )


def _run_extras_set(org: Organization, extras: Mapping[tuple[str, str], tuple[float | None, float | None]]) -> None:
    """Each run's model accuracy and its tracker's own intensity (gCO2e/kWh), by (source, external id).

    No tracker record carries them (RunRecord has no field for them) and no service writes them, so they
    are set on the stored runs directly: one update per intensity (a handful), the accuracies in bulk.
    """
    by_intensity: dict[float, list[int]] = defaultdict(list)
    with_accuracy = []
    for run in Run.objects.for_org(org).only("pk", "source", "external_id"):
        accuracy, intensity = extras.get((run.source, run.external_id), (None, None))
        if intensity is not None:
            by_intensity[intensity].append(run.pk)
        if accuracy is not None:
            run.accuracy = accuracy
            with_accuracy.append(run)
    for intensity, pks in by_intensity.items():
        Run.objects.filter(pk__in=pks).update(tracker_intensity_g_per_kwh=intensity)
    Run.objects.bulk_update(with_accuracy, ["accuracy"], batch_size=1000)


def _run_time_fill(rng: random.Random, run: Run, *, first: date) -> None:
    """Start (a random minute of the month) and a log-normal duration; every run ends inside the period."""
    spec = KINDS[run.kind]
    duration_s = round(min(spec.max_h, max(spec.min_h, rng.lognormvariate(math.log(spec.median_h), 0.7))) * 3600)
    day = rng.randint(1, calendar.monthrange(first.year, first.month)[1])
    start = datetime(first.year, first.month, day, rng.randint(0, 23), rng.randint(0, 59), tzinfo=UTC)
    run.started_at = min(start, PERIOD_END - timedelta(seconds=duration_s + 60))
    run.ended_at, run.duration_s = run.started_at + timedelta(seconds=duration_s), float(duration_s)


def _run_energy_fill(rng: random.Random, run: Run, *, place: Place, cpu_only: bool) -> Gpu | None:
    """Hardware and IT energy by component: kWh = average power (W) × duration (h) / 1000."""
    hours = run.duration_s / 3600
    gpu = None
    if cpu_only:
        run.cpu_count, run.cpu_model = rng.choice((4, 8, 16, 32, 64)), CPU_ONLY_MODEL
        gpu_w, cpu_w, ram_gb = 0.0, run.cpu_count * rng.uniform(3.0, 6.0), run.cpu_count * 4
    else:
        gpu_key, max_gpus = _gpu_for(place, run.started_at, rng)
        gpu = GPUS[gpu_key]
        spec = KINDS[run.kind]
        run.gpu_count = min(max_gpus, rng.choices(spec.gpu_counts, weights=spec.gpu_count_weights)[0])
        run.gpu_utilization_pct = round(rng.uniform(*spec.util_pct), 1)
        # Board power: ~35% of TDP when allocated but barely loaded, 95% at full utilization.
        gpu_w = run.gpu_count * gpu.tdp_w * (0.35 + 0.6 * run.gpu_utilization_pct / 100)
        run.cpu_count, run.cpu_model, run.gpu_model = 12 * run.gpu_count, gpu.host_cpu, gpu.tracker_name
        cpu_w, ram_gb = run.cpu_count * rng.uniform(4.0, 7.0), 120 * run.gpu_count
    run.cpu_energy_kwh = cpu_w * hours / 1000
    run.gpu_energy_kwh = gpu_w * hours / 1000
    run.ram_energy_kwh = ram_gb * RAM_W_PER_GB * hours / 1000
    run.energy_kwh = run.cpu_energy_kwh + run.gpu_energy_kwh + run.ram_energy_kwh
    return gpu


def _run_provenance_fill(rng, run: Run, *, spec: ProjectSpec, team: TeamSpec, place: Place, experiments) -> None:
    """Source, external id, experiment, the tracker's own kgCO2e and intensity, user and tags."""
    sources = ("codecarbon_api", "codecarbon_csv", "native")
    run.source = "native" if spec.cpu_only else rng.choices(sources, weights=(45, 20, 35))[0]
    if run.source == "native":  # Acme's job scheduler posts through the native bulk API
        run.tracker_name, run.tracker_version = "acme-scheduler", "1.4"
    else:
        run.experiment = rng.choice(experiments)
        run.external_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        run.tracker_name = "codecarbon"
        run.tracker_version = "3.0.4" if run.source == "codecarbon_api" else "2.8.3"
        run.tracker_pue = 1.0  # CodeCarbon's default PUE: its kWh are IT kWh
        run.tracker_intensity_g_per_kwh = place.tracker_intensity_g_per_kwh
        run.tracker_emissions_kg_co2e = run.energy_kwh * place.tracker_intensity_g_per_kwh / 1000
        run.flags = ["default_experiment_id"] if run.experiment.is_default_demo_id else []
    run.user_name = rng.choice(team.user_names.split())
    env = {"inference": "prod", "development": "dev"}.get(run.kind, "train")
    run.tags = {"team": team.slug, "project": spec.slug, "env": env}


def _run_outcome_fill(rng: random.Random, run: Run, *, llm: bool, gpu: Gpu | None, green: float) -> None:
    """Requests served, tokens (LLM work), accuracy and the efficiency techniques used."""
    hours = run.duration_s / 3600
    if run.kind == RunKind.INFERENCE:
        run.inferences_count = round(hours * max(run.gpu_count, 1) * rng.uniform(1500, 12000))
    if llm and gpu and run.kind != RunKind.DEVELOPMENT:
        run.tokens_processed = (
            run.inferences_count * rng.randint(300, 900)
            if run.inferences_count
            else round(run.gpu_count * hours * gpu.tokens_per_gpu_hour * (run.gpu_utilization_pct or 0.0) / 100)
        )
    if run.kind in (RunKind.TRAINING, RunKind.FINE_TUNING, RunKind.EVALUATION):
        run.accuracy = round(rng.uniform(0.62, 0.94), 4)
    # How many runs use each technique; which runs get them is decided once every run is drawn
    # (_techniques_assign).
    run.efficiency_techniques = _techniques(rng, run.kind, green, gpu is not None)


def _techniques(rng: random.Random, kind: str, green: float, on_gpu: bool) -> list[str]:
    """Efficiency techniques a run of this kind would use by its team's habit; greener teams use more."""
    odds = {
        Tech.MIXED_PRECISION: 0.4 + 0.5 * green if on_gpu else 0.0,
        Tech.QUANTIZATION: 0.7 * green if kind == "inference" else 0.0,
        Tech.PRUNING: 0.2 * green if kind == "inference" else 0.0,
        Tech.EARLY_STOPPING: 0.15 + 0.5 * green if kind in ("training", "fine_tuning") else 0.0,
        Tech.CARBON_AWARE_SCHEDULING: 0.6 * green if kind == "training" else 0.0,
        Tech.DISTILLATION: 0.1 * green if kind == "training" else 0.0,
        Tech.CHECKPOINT_REUSE: 0.3 + 0.3 * green if kind == "fine_tuning" else 0.0,
    }
    return [str(tech) for tech, chance in odds.items() if rng.random() < chance]


# Techniques that save work (fewer steps, a reused checkpoint) rather than energy per unit of work.
_WORK_SAVING = {str(Tech.EARLY_STOPPING), str(Tech.CHECKPOINT_REUSE)}


def _techniques_assign(org: Organization, placed) -> None:
    """Give the techniques to the runs they plausibly helped: the demo's modelled effect, visible in its data.

    ``_techniques`` drew how many runs use each technique. Within each group the savings are measured over
    (same project, kind and GPU model: reporting/guild/techniques.py), each technique keeps that number of
    runs but goes to the runs it would have helped most, chosen after their energy and work were drawn, so
    no run's energy, work or time and no total changes:

    - mixed precision, quantization, pruning, distillation: the runs with the least IT kWh per unit of work
      (per 1M tokens, 1k inferences or GPU-hour, the measure's own choice);
    - early stopping and checkpoint reuse, which save work rather than energy per unit: the shortest runs;
    - carbon-aware scheduling: the runs in the lowest grid intensity (location-based factor of their zone and
      month). The demo has no hourly data, so its scheduler shifts in space: the team's cleanest place.

    The savings the demo then shows follow from the spread of its runs (GPU utilization, request rate,
    places), not from a chosen percentage; a run keeps several techniques when it ranks high for each.
    """
    book = FactorBook(org)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, (run, _, _) in enumerate(placed):
        groups[run.project_id, run.kind, run.gpu_model].append(index)

    def intensity(index: int) -> float:
        run, _, place = placed[index]
        zone = place.site.zone.code if place.site else place.region.zone.code
        factor = book.location(zone=zone, year=run.started_at.year, month=run.started_at.month)
        return factor.value if factor is not None else math.inf

    for (_, kind, _), members in groups.items():
        runs = [placed[index][0] for index in members]
        unit = work_unit(kind, runs)
        per_unit = {
            index: run.energy_kwh / (run_work(run, unit) if unit else run.duration_s / 3600)
            for index, run in zip(members, runs, strict=True)
        }
        drawn = {index: list(placed[index][0].efficiency_techniques) for index in members}
        for index in members:
            placed[index][0].efficiency_techniques = []
        for tech in Tech:  # a fixed order, so each run's list is in the model's order
            count = sum(str(tech) in techniques for techniques in drawn.values())
            if tech == Tech.CARBON_AWARE_SCHEDULING:
                rank = {index: intensity(index) for index in members}
            elif str(tech) in _WORK_SAVING:
                rank = {index: placed[index][0].duration_s for index in members}
            else:
                rank = per_unit
            for index in sorted(members, key=lambda i: (rank[i], i))[:count]:
                placed[index][0].efficiency_techniques.append(str(tech))


def _sampled(placed) -> list[Run]:
    """The most recent codecarbon_api runs, which the live tracker sent as samples, newest first."""
    runs = [run for run, _, _ in placed if run.source == "codecarbon_api"]
    recent = sorted(runs, key=lambda r: (r.started_at, r.external_id))
    return list(reversed(recent[-SAMPLED_RUNS:]))


def _samples_create(org: Organization, rng: random.Random, drafts: list[Run]) -> None:
    """10-60 samples for each live run through ``run_sample_append``; the deltas add up to the drawn totals."""
    stored = {
        run.external_id: run
        for run in Run.objects.for_org(org)
        .filter(source="codecarbon_api", started_at__gte=min((run.started_at for run in drafts), default=PERIOD_END))
        .only("pk", "organization_id", "source", "external_id", "started_at")
    }
    for run in drafts:
        n = rng.randint(10, 60)
        weights = [rng.uniform(0.8, 1.2) for _ in range(n)]
        weight_sum = sum(weights)
        step_s = int(run.duration_s) // n
        done = [0.0, 0.0, 0.0]
        for i, weight in enumerate(weights):
            last = i == n - 1
            totals = (run.cpu_energy_kwh, run.gpu_energy_kwh, run.ram_energy_kwh)
            # The last delta takes the remainder so the deltas sum to the run's energies exactly.
            parts = [total - done[c] if last else total * weight / weight_sum for c, total in enumerate(totals)]
            done = [d + p for d, p in zip(done, parts, strict=True)]
            seconds = int(run.duration_s) - step_s * (n - 1) if last else step_s
            recorded_at = run.started_at + timedelta(seconds=step_s * i + seconds)
            energy = sum(parts)
            key = f"{run.source}|{run.external_id}|{recorded_at.isoformat()}|{seconds}|{parts!r}"
            sample = RunSampleRecord(
                recorded_at=recorded_at,
                dedupe_key=hashlib.sha256(key.encode()).hexdigest(),
                duration_s=float(seconds),
                energy_kwh=energy,
                cpu_energy_kwh=parts[0],
                gpu_energy_kwh=parts[1],
                ram_energy_kwh=parts[2],
                cpu_power_w=parts[0] * 3.6e6 / seconds,
                gpu_power_w=parts[1] * 3.6e6 / seconds,
                ram_power_w=parts[2] * 3.6e6 / seconds,
                cpu_utilization_pct=round(rng.uniform(20, 60), 1),
                gpu_utilization_pct=(
                    round(min(100.0, run.gpu_utilization_pct * weight), 1)
                    if run.gpu_utilization_pct is not None
                    else None
                ),
                tracker_emissions_kg_co2e=energy * (run.tracker_intensity_g_per_kwh or 0.0) / 1000,
            )
            if not run_sample_append(run=stored[run.external_id], sample=sample):
                raise RuntimeError(f"demo sample {key} was stored twice")


def _site_month_it_kwh(placed_runs) -> dict[tuple[str, int], float]:
    """IT kWh per (site slug, month index), the larger of by-start-month and by-time-overlap attribution."""
    by_start: defaultdict[tuple[str, int], float] = defaultdict(float)
    by_overlap: defaultdict[tuple[str, int], float] = defaultdict(float)
    for run, _, place in placed_runs:
        if place.site is None:
            continue
        by_start[place.site.slug, _month_index(run.started_at)] += run.energy_kwh
        for month in range(_month_index(run.started_at), _month_index(run.ended_at) + 1):
            lo = max(run.started_at, datetime.combine(_month_start(month), datetime.min.time(), UTC))
            hi = min(run.ended_at, datetime.combine(_month_start(month + 1), datetime.min.time(), UTC))
            by_overlap[place.site.slug, month] += run.energy_kwh * (hi - lo).total_seconds() / run.duration_s
    return {key: max(by_start[key], by_overlap[key]) for key in by_start.keys() | by_overlap.keys()}


def _facility_create(org, rng, places, placed_runs) -> None:
    """Monthly meter readings (Frankfurt's 2026-Q3 also hourly, with a solar PPA's hourly certificates:
    ``frontend.demo_hourly``), Frankfurt's guarantees of origin, generator diesel and a refrigerant leak."""
    it_kwh = _site_month_it_kwh(placed_runs)
    metered: defaultdict[tuple[str, int], float] = defaultdict(float)  # (site slug, year) -> facility kWh
    readings = []
    for key, slug, *_, idle_kw in SITES:
        site = places[key].site
        for month in range(MONTHS):
            first, next_first = _month_start(month), _month_start(month + 1)
            hours = (next_first - first).days * 24
            # Facility kWh: tracked IT kWh plus untracked overhead (×1.15-1.35) and the idle load, times PUE.
            kwh = round((it_kwh.get((slug, month), 0.0) * rng.uniform(1.15, 1.35) + idle_kw * hours) * site.pue, 1)
            readings.append(
                MeterReadingRecord(slug, period_start=first, period_end=next_first - timedelta(days=1), energy_kwh=kwh)
            )
            metered[slug, first.year] += kwh
    _stored(meter_reading_upsert_many(organization=org, records=readings), "meter readings", len(readings))
    for outcome, what, count in demo_hourly_seed(organization=org, site=places["fra"].site, readings=readings):
        _stored(outcome, what, count)
    frankfurt = places["fra"].site
    instruments = [
        EnergyInstrumentRecord(
            instrument_id=certificate,
            kind=InstrumentKind.GO,
            zone_code=frankfurt.zone.code,
            vintage_start=date(year, 1, 1),
            vintage_end=date(year, 12, 31),
            energy_mwh=round(metered[frankfurt.slug, year] * share / 1000, 1),
            emission_factor_g_per_kwh=0.0,
            site=frankfurt.slug,
            bundled=False,
        )
        for year, share, certificate in ((2025, 0.40, "GO-DE-2025-AC-004711"), (2026, 0.45, "GO-DE-2026-AC-001288"))
    ]
    _stored(energy_instrument_upsert_many(organization=org, records=instruments), "instruments", len(instruments))
    fuel = [  # monthly 30-minute load test of the backup generators
        FuelUseRecord(
            site=frankfurt.slug,
            used_on=_month_start(month) + timedelta(days=9),
            fuel=DIESEL_FUEL,
            quantity=round(rng.uniform(160, 240), 1),
            unit=DIESEL_UNIT,
        )
        for month in range(MONTHS)
    ]
    fuel.append(  # 9-hour grid outage
        FuelUseRecord(
            site=frankfurt.slug, used_on=date(2025, 8, 14), fuel=DIESEL_FUEL, quantity=2480.0, unit=DIESEL_UNIT
        )
    )
    _stored(fuel_use_upsert_many(organization=org, records=fuel), "fuel uses", len(fuel))
    leak = [RefrigerantLossRecord(site=frankfurt.slug, occurred_on=date(2025, 7, 22), gas="R-410A", kg_leaked=3.2)]
    _stored(refrigerant_loss_upsert_many(organization=org, records=leak), "refrigerant losses", len(leak))


def _offsite_runs_create(org: Organization, teams: dict[str, Team]) -> None:
    """Runs with no site and no cloud region, one project per inventory rule (docs/methodology.md):

    * "Rented GPU boxes" (the organization's default, third-party compute → Scope 3 Cat 1): CodeCarbon CSV
      runs on rented machines in France, located by the tracker's country;
    * "Lab workstations" (own equipment with no meter → Scope 2 at the grid average): the Montréal
      researchers' desk GPUs, located by the tracker's province (``quebec`` → CA-QC), and a few live runs
      that report no country, placed at the organization's default location (DE).

    A separate random stream, so the rest of the demo is unchanged by these runs.
    """
    rng = random.Random(SEED + 1)
    rented = _project_create(
        org,
        teams["applied-nlp"],
        slug="rented-gpu-boxes",
        name="Rented GPU boxes",
        model_family="Atlas-7B + LoRA",
        stage=ProjectStage.RESEARCH,
    )
    lab = _project_create(
        org,
        teams["speech"],
        slug="lab-workstations",
        name="Lab workstations",
        model_family="Conformer-CTC",
        stage=ProjectStage.RESEARCH,
        offsite=OffsiteRunsScope.OWN_EQUIPMENT,
    )
    experiments = {
        project.pk: _experiment_create(project, str(uuid.UUID(int=rng.getrandbits(128), version=4)), project.name)
        for project in (rented, lab)
    }
    # Project, source, the tracker's country and region, its own gCO2e/kWh. run_upsert_many locates them
    # (emissions/services/run_location.py): FRA → FR and CAN + quebec → CA-QC by the tracker, and the live
    # runs with no country at the organization's default location, DE.
    places = (
        (rented, "codecarbon_csv", "FRA", "", 56.0),
        (lab, "codecarbon_csv", "CAN", "quebec", 1.7),
        (lab, "codecarbon_api", "", "", 475.0),  # CodeCarbon's world average: a live tracker sending no country
    )
    records, extras = [], {}
    for month in range(MONTHS):
        for project, source, country, region, tracker_g_per_kwh in places:
            if source == "codecarbon_api" and month % 3:
                continue
            hours = rng.uniform(2.0, 30.0)
            start = datetime(2025 + month // 12, month % 12 + 1, rng.randint(1, 27), rng.randint(0, 23), tzinfo=UTC)
            gpu_w, cpu_w, ram_w = rng.uniform(180, 300), rng.uniform(40, 90), rng.uniform(8, 15)
            external_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            records.append(
                RunRecord(
                    source=source,
                    external_id=external_id,
                    project_name=project.slug,
                    experiment_external_id=experiments[project.pk].external_id,
                    started_at=start,
                    ended_at=start + timedelta(hours=hours),
                    duration_s=hours * 3600,
                    cpu_energy_kwh=cpu_w * hours / 1000,
                    gpu_energy_kwh=gpu_w * hours / 1000,
                    ram_energy_kwh=ram_w * hours / 1000,
                    energy_kwh=(cpu_w + gpu_w + ram_w) * hours / 1000,
                    tracker_pue=1.0,
                    gpu_count=1,
                    gpu_model="NVIDIA RTX 4090",
                    cpu_count=16,
                    cpu_model="AMD Ryzen 9 7950X",
                    country_iso3=country,
                    tracker_region=region,
                    tracker_name="codecarbon",
                    tracker_version="2.8.3" if source == "codecarbon_csv" else "3.0.4",
                    user_name=rng.choice(("l.moreau", "n.haddad")),
                    tracker_emissions_kg_co2e=(cpu_w + gpu_w + ram_w) * hours / 1000 * tracker_g_per_kwh / 1000,
                )
            )
            extras[source, external_id] = (None, tracker_g_per_kwh)
    _stored(run_upsert_many(organization=org, records=records), "off-site runs", len(records))
    _run_extras_set(org, extras)


def _budgets_create(org, teams, placed_runs) -> None:
    """Quarterly kgCO2e budgets (location-based) per team for 2025-Q1..2026-Q4.

    A year's budget per quarter is the team's mean quarterly estimate for that year (IT kWh × PUE ×
    tracker intensity; 2026 from Q1-Q3) × the team's budget factor, so Vision and Foundation Models overrun.
    """
    estimate: defaultdict[tuple[str, int], float] = defaultdict(float)  # (team slug, quarter index 0..6) -> kgCO2e
    for run, team, place in placed_runs:
        kg = run.energy_kwh * place.pue * place.tracker_intensity_g_per_kwh / 1000
        estimate[team.slug, _month_index(run.started_at) // 3] += kg
    for team in TEAMS:
        for quarter in range(8):
            year_quarters = range(4) if quarter < 4 else range(4, 7)
            kg = sum(estimate[team.slug, q] for q in year_quarters) / len(year_quarters) * team.budget_factor
            kg = float(f"{kg:.2g}") or 100.0  # planners round to two significant digits
            start = _month_start(3 * quarter)
            period = Period(
                label=f"{start.year}-Q{quarter % 4 + 1}",
                start=start,
                end=_month_start(3 * quarter + 3) - timedelta(days=1),
            )
            carbon_budget_set(organization=org, period=period, budget_kg_co2e=kg, team=teams[team.slug])
