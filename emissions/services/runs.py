"""Writes for runs: the idempotent upsert every tracker source and the native API go through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from emissions.models import CloudRegion, Experiment, Organization, Project, Run, RunSample, Site, Team
from emissions.records import RunRecord, RunSampleRecord, UpsertOutcome

# CodeCarbon's built-in experiment id: runs sent with it were not configured for a project.
CODECARBON_DEMO_EXPERIMENT_ID = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"

_RUN_FIELDS = (
    "kind", "started_at", "ended_at", "duration_s", "cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh",
    "energy_kwh", "tracker_pue", "cpu_model", "cpu_count", "gpu_model", "gpu_count", "gpu_utilization_pct",
    "country_iso3", "tracker_emissions_kg_co2e", "tracker_name", "tracker_version", "user_name",
    "tokens_processed", "inferences_count",
)  # fmt: skip


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


@transaction.atomic
def run_upsert_many(
    *,
    organization: Organization,
    records: Sequence[RunRecord],
    source_batch_id: int | None = None,
    project: Project | None = None,
    team: Team | None = None,
    site: Site | None = None,
) -> UpsertOutcome:
    """Create or replace runs keyed on (organization, source, external_id).

    A record identical to the stored run is a duplicate; a different one replaces the stored values
    (cumulative tracker totals: a later record supersedes, never adds). ``project`` fixes the project
    of every record; otherwise each record's ``project_name`` is resolved (created under ``team``).
    """
    outcome = UpsertOutcome()
    regions = {(r.provider, r.region): r for r in CloudRegion.objects.order_by("dataset_id")}
    existing = {
        (run.source, run.external_id): run
        for run in Run.objects.for_org(organization).filter(
            external_id__in={r.external_id for r in records}, source__in={r.source for r in records}
        )
    }
    for index, record in enumerate(records):
        run_project = project
        if run_project is None:
            if not record.project_name:
                outcome.rejected[index] = "no project: name one for the import (--project) or in the file"
                continue
            run_project = project_resolve(organization=organization, name=record.project_name, team=team)
        values = {name: getattr(record, name) for name in _RUN_FIELDS}
        values["project"] = run_project
        values["experiment"] = _experiment(run_project, record.experiment_external_id)
        values["tags"] = dict(record.tags)
        values["efficiency_techniques"] = list(record.efficiency_techniques)
        flags = set(record.flags)
        region = regions.get((record.cloud_provider.lower(), record.cloud_region.lower()))
        if record.cloud_region and region is None:
            flags.add("unknown_cloud_region")
        values["cloud_region"] = region
        values["site"] = site if region is None else None
        if record.experiment_external_id == CODECARBON_DEMO_EXPERIMENT_ID:
            flags.add("default_experiment_id")
        values["flags"] = sorted(flags)
        run = existing.get((record.source, record.external_id))
        if run is None:
            run = Run.objects.create(
                organization=organization,
                source=record.source,
                external_id=record.external_id,
                source_batch_id=source_batch_id,
                **values,
            )
            existing[(record.source, record.external_id)] = run
            outcome.loaded += 1
        elif all(getattr(run, name) == value for name, value in values.items()):
            outcome.duplicate += 1
        else:
            for name, value in values.items():
                setattr(run, name, value)
            run.source_batch_id = source_batch_id
            run.save(update_fields=[*values, "source_batch_id", "updated_at"])
            outcome.loaded += 1
    return outcome


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
def run_sample_append(*, run: Run, sample: RunSampleRecord) -> bool:
    """Store a live tracker's delta once and add it to the run's totals; False for a retried duplicate.

    Insert and totals update share one transaction, so the sample is durable before the tracker gets
    its 201 and a retry can never be counted twice (unique (run, dedupe_key)). This is the hottest
    path of the product: one ``INSERT … ON CONFLICT DO NOTHING`` (no savepoint) and one ``UPDATE``, sent
    as a single statement on PostgreSQL.
    """
    values = {f.name: getattr(sample, f.name) for f in fields(sample)}
    values["recorded_at"] = connection.ops.adapt_datetimefield_value(sample.recorded_at)
    columns = ["run_id", *values]
    quote = connection.ops.quote_name
    sql = (
        # Identifiers come from the model and are quoted by the backend; every value is a parameter.
        f"INSERT INTO {quote(RunSample._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT (run_id, dedupe_key) DO NOTHING RETURNING id"
    )
    elapsed_s = max((sample.recorded_at - run.started_at).total_seconds(), 0.0)
    greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    # Hand-written for the same reason as the INSERT; the client truncates each delta's duration to whole
    # seconds, so wall time comes from timestamps, and ended_at never precedes started_at (clock skew).
    table = quote(Run._meta.db_table)
    update = (
        f"UPDATE {table} SET energy_kwh = energy_kwh + %s, cpu_energy_kwh = cpu_energy_kwh + %s,"  # noqa: S608
        " gpu_energy_kwh = gpu_energy_kwh + %s, ram_energy_kwh = ram_energy_kwh + %s,"
        " tracker_emissions_kg_co2e = COALESCE(tracker_emissions_kg_co2e, 0) + %s,"
        f" duration_s = {greatest}(duration_s, %s),"
        f" ended_at = {greatest}(COALESCE(ended_at, started_at), started_at, %s), updated_at = %s WHERE id = %s"
    )
    insert_params = [run.pk, *values.values()]
    update_params = [
        sample.energy_kwh, sample.cpu_energy_kwh, sample.gpu_energy_kwh, sample.ram_energy_kwh,
        sample.tracker_emissions_kg_co2e or 0.0, elapsed_s, values["recorded_at"],
        connection.ops.adapt_datetimefield_value(timezone.now()), run.pk,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One round trip: the UPDATE runs only when the INSERT stored a new row.
            cursor.execute(
                f"WITH inserted AS ({sql}) {update} AND EXISTS (SELECT 1 FROM inserted) RETURNING 1",  # noqa: S608
                insert_params + update_params,
            )
            return cursor.fetchone() is not None
        cursor.execute(sql, insert_params)
        if cursor.fetchone() is None:
            return False
        cursor.execute(update, update_params)
    return True
