"""Writes for runs: the idempotent upsert every tracker source and the native API go through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from emissions.catalogue_names import HardwareCatalogue
from emissions.models import Experiment, Organization, Project, Run, RunAlias, RunSample, Site, Team
from emissions.records import RunRecord, RunSampleRecord, UpsertOutcome
from emissions.services.refresh import figures_refresh_request
from emissions.services.run_location import RunLocation, RunLocator
from emissions.services.run_matching import CODECARBON_DEMO_EXPERIMENT_ID, RunMatcher, run_merged_values
from emissions.services.run_quality import component_quality_of
from emissions.services.run_ranks import counted_components, rank_members_clear

# A record with one of these flags is a partial copy of its run (carbontracker's output log without the
# standard log): it may add to a stored run but not replace one stored from the full source.
PARTIAL_RECORD_FLAGS = {"output_log_only"}


_RUN_FIELDS = (
    "kind",
    "started_at",
    "ended_at",
    "duration_s",
    "cpu_energy_kwh",
    "gpu_energy_kwh",
    "ram_energy_kwh",
    "energy_kwh",
    "tracker_pue",
    "cpu_model",
    "cpu_count",
    "gpu_model",
    "gpu_count",
    "gpu_utilization_pct",
    "country_iso3",
    "tracker_region",
    "tracker_emissions_kg_co2e",
    "tracker_name",
    "tracker_version",
    "user_name",
    "tokens_processed",
    "inferences_count",
)


def project_resolve(*, organization: Organization, name: str, team: Team | None = None) -> Project:
    """The organization's project with this slug or name, created under ``team`` (else the first team)."""
    slug = slugify(name)[:64]
    project = Project.objects.for_org(organization).filter(slug=slug).first()
    if project is None:
        project = Project.objects.for_org(organization).filter(name__iexact=name).first()
    if project is None:
        owner = team or Team.objects.for_org(organization).order_by("name").first()
        if owner is None:
            owner = Team.objects.create(organization=organization, name="Unassigned", slug="unassigned")
        project = Project.objects.create(organization=organization, team=owner, name=name[:200], slug=slug)
    return project


class RunOfAnotherProjectError(Exception):
    """A write fixed to one project names a run stored in another project of the organization.

    HTTP adapters answer 409 with the message; file imports record it as the row's reason.
    """

    def __init__(self, *, external_id: str, project: Project):
        # Names the writer's project only: a project token must not learn the other project's name.
        super().__init__(
            f"run {external_id} belongs to another project: a write for project {project.slug!r} cannot change or "
            "move it (use another run id, or import it without a fixed project)"
        )
        self.external_id = external_id


def run_project_check(*, run: Run | None, project: Project | None, external_id: str) -> None:
    """The ownership rule of every ingest path: a write fixed to ``project`` (an ingest token,
    ``--project``) may create runs or change its own, never change or move a run of another project.

    ``run`` is the stored run the write would change (same id, or the run it is a copy of:
    run_matching.py), found within the writer's organization, so another organization's runs never
    reach here. Raises RunOfAnotherProjectError; a write with no fixed project passes.
    """
    if run is not None and project is not None and run.project_id != project.pk:
        raise RunOfAnotherProjectError(external_id=external_id, project=project)


def runs_project_check(*, organization: Organization, project: Project, records: Sequence[RunRecord]) -> None:
    """``run_project_check`` for a batch before it is accepted (an API answering 409 at once rather than
    queueing rows the loader would reject); the loader applies the same rule again when it writes."""
    records = list(records)
    matcher = RunMatcher(organization, records)
    for record in records:
        run, _is_copy = matcher.find(record, project.pk)
        run_project_check(run=run, project=project, external_id=record.external_id)


@transaction.atomic
def run_upsert_many(
    *,
    organization: Organization,
    records: Sequence[RunRecord],
    source_batch_id: int | None = None,
    project: Project | None = None,
    team: Team | None = None,
    site: Site | None = None,
    cpu_measured: bool = False,
) -> UpsertOutcome:
    """Create, replace or merge runs: one stored run per tracker run, whatever the sources it came from.

    A record with the (source, external_id) of a stored run replaces its values (cumulative tracker
    totals: a later record supersedes, never adds); identical values make it a duplicate. A record that is
    a copy of a run stored under another source or id (emissions/services/run_matching.py) is merged into
    it and remembered as an alias. ``project`` fixes the project of every record; otherwise each record's
    ``project_name`` is resolved (created under ``team``); with a fixed ``project`` a record whose run is
    stored in another project is rejected (``run_project_check``), never moved or merged. Each run is
    located (run_location.py) and its energy components get their quality tiers (run_quality.py;
    ``cpu_measured``: the import states RAPL).
    """
    outcome = UpsertOutcome()
    records = list(records)
    locator = RunLocator(organization)
    matcher = RunMatcher(organization, records)
    catalogue = _LazyCatalogue(organization)
    changed_days: set = set()
    projects: dict[str, Project] = {}  # by the name records give: one lookup per name and batch
    for index, record in enumerate(records):
        run_project = project
        if run_project is None:
            if not record.project_name:
                outcome.rejected[index] = "no project: name one for the import (--project) or in the file"
                continue
            run_project = projects.get(record.project_name)
            if run_project is None:
                run_project = project_resolve(organization=organization, name=record.project_name, team=team)
                projects[record.project_name] = run_project
        values = _values(record, run_project, locator.locate(record, site=site), cpu_measured=cpu_measured)
        values["hardware_model_id"] = catalogue.model_id_for(record.gpu_model)
        run, is_copy = matcher.find(record, run_project.pk)
        try:
            run_project_check(run=run, project=project, external_id=record.external_id)
        except RunOfAnotherProjectError as exc:
            outcome.rejected[index] = str(exc)
            continue
        # A poorer copy of a run stored from a fuller source: merged, never replacing it.
        partial = run is not None and bool(PARTIAL_RECORD_FLAGS & set(record.flags) - set(run.flags))
        if run is None:
            run = Run.objects.create(
                organization=organization,
                source=record.source,
                external_id=record.external_id,
                source_batch_id=source_batch_id,
                **values,
            )
            outcome.loaded += 1
        else:
            if partial:
                values = run_merged_values(run, values, partial=True)
            elif is_copy:
                values = run_merged_values(run, values)
                if "multi_rank_merged" in record.flags:
                    rank_members_clear(run=run)  # the job's record holds what its live ranks measured
                RunAlias.objects.get_or_create(
                    organization=organization,
                    source=record.source,
                    external_id=record.external_id,
                    defaults={"run": run},
                )
            if all(getattr(run, name) == value for name, value in values.items()):
                outcome.duplicate += 1
                continue
            for name, value in values.items():
                setattr(run, name, value)
            run.source_batch_id = source_batch_id
            run.save(update_fields=[*values, "source_batch_id", "updated_at"])
            outcome.loaded += 1
        matcher.remember(record, run)
        changed_days.add(run.started_at.date())
    figures_refresh_request(organization_id=organization.pk, days=changed_days)
    return outcome


class _LazyCatalogue:
    """The hardware catalogue of a batch, read once and only when a record names a GPU."""

    def __init__(self, organization: Organization):
        self.organization = organization
        self.catalogue: HardwareCatalogue | None = None

    def model_id_for(self, gpu_model: str) -> int | None:
        """The catalogue model id of a tracker's GPU string (``8 x NVIDIA A100-SXM4-80GB``), or None."""
        if not gpu_model:
            return None
        if self.catalogue is None:
            self.catalogue = HardwareCatalogue(self.organization)
        model = self.catalogue.model_for(gpu_model)
        return model.pk if model else None


def _values(record: RunRecord, project: Project, location: RunLocation, *, cpu_measured: bool) -> dict:
    """The Run field values a record gives, before any merge."""
    values = {name: getattr(record, name) for name in _RUN_FIELDS}
    values["project"] = project
    values["experiment"] = _experiment(project, record.experiment_external_id)
    values["tags"] = dict(record.tags)
    values["efficiency_techniques"] = list(record.efficiency_techniques)
    values.update(
        site=location.site,
        cloud_region=location.cloud_region,
        grid_zone=location.grid_zone,
        location_source=location.source,
    )
    values["component_quality"] = component_quality_of(record, cpu_measured=cpu_measured)
    flags = {*record.flags, *location.flags}
    if record.experiment_external_id == CODECARBON_DEMO_EXPERIMENT_ID:
        flags.add("default_experiment_id")
    values["flags"] = sorted(flags)
    return values


def _experiment(project: Project, external_id: str) -> Experiment | None:
    if not external_id:
        return None
    experiment, _ = Experiment.objects.get_or_create(
        project=project,
        external_id=external_id[:64],
        defaults={"is_default_demo_id": external_id == CODECARBON_DEMO_EXPERIMENT_ID},
    )
    return experiment


@transaction.atomic(savepoint=False)
def run_sample_append(*, run: Run, sample: RunSampleRecord, counted: str = "all") -> str | None:
    """Store a live tracker's delta once and add it to the run's totals; return what it added, or None.

    The return value is ``counted`` as applied (see below), or None for a retried duplicate (nothing stored).

    Insert and totals update share one transaction, so the sample is durable before the tracker gets
    its 201 and a retry can never be counted twice (unique (run, dedupe_key)). This is the hottest
    path of the product: one ``INSERT … ON CONFLICT DO NOTHING`` (no savepoint) and one ``UPDATE``, sent
    as a single statement on PostgreSQL. ``counted`` (``all``, ``gpu``, ``none``) is what the sample adds to
    the run's totals: a rank member of a multi-rank job adds no CPU and RAM (emissions/services/run_ranks.py);
    the sample row itself is stored whole. ``counted`` holds for the rank ``run.rank_of_id`` says (first when
    None, a member otherwise); if the stored run's rank has changed since (a member became its job's first),
    the update finds no row, and the rank and ``counted`` are read again (``run.rank_of_id`` is set to the
    rank found and the ``counted`` used is returned, for the caller's cache).
    """
    values = {f.name: getattr(sample, f.name) for f in fields(sample)}
    values["recorded_at"] = connection.ops.adapt_datetimefield_value(sample.recorded_at)
    columns = ["run_id", *values]
    quote = connection.ops.quote_name
    insert = (
        # Identifiers come from the model and are quoted by the backend; every value is a parameter.
        f"INSERT INTO {quote(RunSample._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT (run_id, dedupe_key) DO NOTHING RETURNING id"
    )
    insert_params = [run.pk, *values.values()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One round trip: the UPDATE runs only when the INSERT stored a new row.
            update, update_params = _totals_update(run, sample, counted)
            cursor.execute(
                f"WITH inserted AS ({insert}), updated AS ({update} AND EXISTS (SELECT 1 FROM inserted)"  # noqa: S608
                " RETURNING 1) SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated)",
                insert_params + update_params,
            )
            stored, updated = (bool(n) for n in cursor.fetchone())
        else:
            cursor.execute(insert, insert_params)
            stored = updated = cursor.fetchone() is not None
            if stored:
                updated = _totals_add(cursor, run, sample, counted)
        while stored and not updated:  # the run's rank changed since the caller looked: read it again
            fresh = Run.objects.only("rank_of", "flags").get(pk=run.pk)
            run.rank_of_id, counted = fresh.rank_of_id, counted_components(fresh)
            updated = _totals_add(cursor, run, sample, counted)
    if not stored:
        return None
    figures_refresh_request(organization_id=run.organization_id, days=[run.started_at.date()])
    return counted


def _totals_update(run: Run, sample: RunSampleRecord, counted: str) -> tuple[str, list]:
    """The ``UPDATE`` adding ``sample`` to ``run``'s totals as ``counted`` says, if the run's rank is as assumed."""
    elapsed_s = max((sample.recorded_at - run.started_at).total_seconds(), 0.0)
    greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    rank = "rank_of_id IS NULL" if run.rank_of_id is None else "rank_of_id IS NOT NULL"
    # Hand-written for the same reason as the INSERT; the client truncates each delta's duration to whole
    # seconds, so wall time comes from timestamps, and ended_at never precedes started_at (clock skew).
    update = (
        f"UPDATE {connection.ops.quote_name(Run._meta.db_table)} SET energy_kwh = energy_kwh + %s,"  # noqa: S608
        " cpu_energy_kwh = cpu_energy_kwh + %s, gpu_energy_kwh = gpu_energy_kwh + %s,"
        " ram_energy_kwh = ram_energy_kwh + %s,"
        " tracker_emissions_kg_co2e = COALESCE(tracker_emissions_kg_co2e, 0) + %s,"
        f" duration_s = {greatest}(duration_s, %s),"
        f" ended_at = {greatest}(COALESCE(ended_at, started_at), started_at, %s), updated_at = %s"
        f" WHERE id = %s AND {rank}"
    )
    cpu_kwh, ram_kwh = (sample.cpu_energy_kwh, sample.ram_energy_kwh) if counted == "all" else (0.0, 0.0)
    gpu_kwh = sample.gpu_energy_kwh if counted in ("all", "gpu") else 0.0
    energy_kwh = sample.energy_kwh if counted == "all" else cpu_kwh + gpu_kwh + ram_kwh
    params = [
        energy_kwh,
        cpu_kwh,
        gpu_kwh,
        ram_kwh,
        sample.tracker_emissions_kg_co2e or 0.0,
        elapsed_s,
        connection.ops.adapt_datetimefield_value(sample.recorded_at),
        connection.ops.adapt_datetimefield_value(timezone.now()),
        run.pk,
    ]
    return update, params


def _totals_add(cursor, run: Run, sample: RunSampleRecord, counted: str) -> bool:
    """Run :func:`_totals_update`; True when the run's rank was as assumed and the totals were updated."""
    cursor.execute(*_totals_update(run, sample, counted))
    return cursor.rowcount == 1
