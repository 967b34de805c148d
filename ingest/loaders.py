"""Loading parsed tracker runs: batch options resolved to the organization's objects, then run_upsert_many.

Options (``ImportBatch.options``): ``project`` (slug; the organization's project, created if missing),
``team`` (slug of an existing team; unknown → every record rejected), ``site`` (slug of one of the
organization's sites; unknown → every record rejected). ``timezone``, ``kind`` and ``merge_ranks`` are
read by the parsers.

Two guards sit here because only the store knows what was imported before (copies of one run from
several whole-run sources are merged by the store itself: emissions/services/run_matching.py):

* **Whole or split, not both.** A CodeCarbon run split into tasks (``codecarbon_task_csv``, ids
  ``<run_id>:<task>``) and the same run whole (live API, emissions.csv, HTTP output, BoAmps) would count
  its energy twice, so the second of the two forms is rejected with the reason.
* ``cpu_measured`` (option): the tracker's log said it read the CPU through RAPL, so CodeCarbon CPU energy
  is measured, not estimated (emissions/services/run_quality.py).
* **Undated records** (flag ``time_unknown``: a model card) keep the dates of the stored run, so a
  re-import is a duplicate instead of moving the run to the import day.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Q

from emissions.models import Organization, Run, Site, Team
from emissions.records import CloudUsageLines, CloudUsageRecord, RunRecord, UpsertOutcome
from emissions.services.cloud import (
    BatchLinesSettled,
    cloud_usage_restated_months_replace,
    cloud_usage_statistics_refresh,
    cloud_usage_upsert_many,
)
from emissions.services.cloud_lines import LinesShared, cloud_usage_upsert_lines
from emissions.services.run_matching import CODECARBON_ID_SOURCES, tracker_run_id
from emissions.services.runs import project_resolve, run_upsert_many
from emissions.text import truthy
from ingest.cloud_lines import ARROW_ARRAYS
from ingest.models import ImportChunk

# Task runs append ":<task_name>" to the CodeCarbon run id.
CODECARBON_TASK_SOURCE = "codecarbon_task_csv"


def runs_load(
    *,
    organization: Organization,
    records: Sequence[RunRecord],
    source_batch_id: int | None = None,
    options: dict | None = None,
) -> UpsertOutcome:
    """Resolve the batch options, drop records the guards refuse, and upsert the rest."""
    options = options or {}
    records = list(records)
    if not records:
        return UpsertOutcome()
    team = site = None
    reason = ""
    if options.get("team"):
        team = Team.objects.for_org(organization).filter(slug__iexact=str(options["team"])).first()
        if team is None:
            reason = f"unknown team {options['team']!r}: no team of this organization has that slug"
    if options.get("site") and not reason:
        site = Site.objects.for_org(organization).filter(slug__iexact=str(options["site"])).first()
        if site is None:
            reason = f"unknown site {options['site']!r}: no site of this organization has that slug"
    if reason:
        return UpsertOutcome(rejected=dict.fromkeys(range(len(records)), reason))
    project = None
    if options.get("project"):
        project = project_resolve(organization=organization, name=str(options["project"]), team=team)
    rejected = _already_stored_elsewhere(organization, records) | _other_models_cards(organization, records)
    records = _keep_stored_dates(organization, records)
    positions = [index for index in range(len(records)) if index not in rejected]
    outcome = run_upsert_many(
        organization=organization,
        records=[records[index] for index in positions],
        source_batch_id=source_batch_id,
        project=project,
        team=team,
        site=site,
        cpu_measured=_cpu_measured(options.get("cpu_measured", "")),
    )
    outcome.rejected = {positions[index]: why for index, why in outcome.rejected.items()} | rejected
    return outcome


def _cpu_measured(value: object) -> bool:
    """The ``cpu_measured`` option: a yes-word (emissions/text.py), or ``rapl``, what the tracker's log names."""
    return truthy(value) or str(value).strip().lower() == "rapl"


def _codecarbon_run_id(record: RunRecord) -> str:
    if record.source == CODECARBON_TASK_SOURCE:
        return record.external_id.rsplit(":", 1)[0]
    return tracker_run_id(record)


def _already_stored_elsewhere(organization: Organization, records: list[RunRecord]) -> dict[int, str]:
    """Position → reason for task records of a run stored whole, and whole records of a run stored as tasks."""
    wanted = {index: run_id for index, record in enumerate(records) if (run_id := _codecarbon_run_id(record))}
    if not wanted:
        return {}
    runs = Run.objects.for_org(organization)
    stored: dict[str, list[tuple[str, str]]] = {}
    whole = runs.filter(source__in=CODECARBON_ID_SOURCES, external_id__in=set(wanted.values()))
    for source, external_id in whole.values_list("source", "external_id"):
        stored.setdefault(external_id, []).append((source, external_id))
    whole_ids = sorted({run_id for index, run_id in wanted.items() if records[index].source != CODECARBON_TASK_SOURCE})
    for start in range(0, len(whole_ids), 100):  # OR-ed prefixes in chunks (SQLite limits expression depth)
        prefixes = reduce(or_, (Q(external_id__startswith=f"{run_id}:") for run_id in whole_ids[start : start + 100]))
        tasks = runs.filter(prefixes, source=CODECARBON_TASK_SOURCE).values_list("external_id", flat=True)
        for external_id in tasks:
            stored.setdefault(external_id.rsplit(":", 1)[0], []).append((CODECARBON_TASK_SOURCE, external_id))
    rejected = {}
    for index, run_id in wanted.items():
        is_task = records[index].source == CODECARBON_TASK_SOURCE
        others = [
            (source, ext) for source, ext in stored.get(run_id, []) if (source == CODECARBON_TASK_SOURCE) != is_task
        ]
        if others:
            source, external_id = others[0]
            rejected[index] = (
                f"CodeCarbon run {run_id} is already stored {'whole' if is_task else 'split into tasks'} from "
                f"{source} (run {external_id}); importing it as {records[index].source} too would count its energy "
                "twice. Delete that run first to switch."
            )
    return rejected


# What a model card says about the model beside its emissions: a card under the same id that differs here
# describes another model (AutoTrain titles, a copied card), not an update of the stored one.
_CARD_IDENTITY_TAGS = ("hardware_used", "geographical_location", "co2_source", "training_type")


def _other_models_cards(organization: Organization, records: list[RunRecord]) -> dict[int, str]:
    """Position → reason for model cards that would overwrite the stored card of a different model."""
    cards = {
        index: record
        for index, record in enumerate(records)
        if record.source == "hf_model_card" and "model_id_stated" not in record.flags
    }
    if not cards:
        return {}
    stored = {
        run.external_id: run
        for run in Run.objects.for_org(organization).filter(
            source="hf_model_card", external_id__in={record.external_id for record in cards.values()}
        )
    }
    rejected = {}
    for index, record in cards.items():
        run = stored.get(record.external_id)
        if run is None:
            continue
        tags = dict(record.tags)
        differing = [key for key in _CARD_IDENTITY_TAGS if tags.get(key, "") != (run.tags or {}).get(key, "")]
        if differing:
            rejected[index] = (
                f"a card of another model is stored under the id {record.external_id!r} ({', '.join(differing)} "
                "differ): give this card's Hugging Face repository id with the model_id option "
                "(--model-id owner/name)"
            )
    return rejected


def _keep_stored_dates(organization: Organization, records: list[RunRecord]) -> list[RunRecord]:
    undated = {(r.source, r.external_id) for r in records if "time_unknown" in r.flags}
    if not undated:
        return records
    stored = {
        (run.source, run.external_id): run
        for run in Run.objects.for_org(organization).filter(
            source__in={source for source, _ in undated}, external_id__in={ext for _, ext in undated}
        )
    }
    result = []
    for record in records:
        run = stored.get((record.source, record.external_id)) if "time_unknown" in record.flags else None
        result.append(replace(record, started_at=run.started_at, ended_at=run.ended_at) if run else record)
    return result


@functools.lru_cache(maxsize=8)
def _estimator(cpu_utilization: float, gpu_utilization: float, lifespan_years: float):
    """A memoizing estimator over the shipped coefficient tables, one per set of assumptions and process:
    its cache carries over from chunk to chunk of a file (the tables change only with a release)."""
    from emissions.cloud_estimate_cache import EstimateCache
    from emissions.cloud_estimation import coefficient_tables_load

    return EstimateCache(
        coefficient_tables_load(),
        cpu_utilization=cpu_utilization,
        gpu_utilization=gpu_utilization,
        lifespan_years=lifespan_years,
    )


def cloud_usage_load(
    *,
    organization: Organization,
    records: Sequence[CloudUsageRecord],
    source_batch_id: int | None = None,
    options: dict | None = None,
    row_numbers: Sequence[int] | None = None,
) -> UpsertOutcome:
    """Estimate energy and embodied per billing line (CCF-style), attribute it, and upsert it.

    ``options`` may override the utilization assumptions (``cpu_utilization``, ``gpu_utilization``,
    0–1) and the hardware lifespan (``lifespan_years``); defaults come from settings.
    """
    return cloud_usage_upsert_many(
        organization=organization,
        records=records,
        estimator=cloud_estimator(options),
        source_batch_id=source_batch_id,
        row_numbers=row_numbers,
    )


def cloud_estimator(options: dict | None = None):
    """The estimator of a billing import: the batch's utilization and lifespan options, else the settings'."""
    options = options or {}
    return _estimator(
        _utilization_option(options, "cpu_utilization", settings.GREENGUILD_CLOUD_CPU_UTILIZATION),
        _utilization_option(options, "gpu_utilization", settings.GREENGUILD_CLOUD_GPU_UTILIZATION),
        float(options.get("lifespan_years", settings.GREENGUILD_CLOUD_LIFESPAN_YEARS)),
    )


def _utilization_option(options: dict, name: str, default: float) -> float:
    """A utilization option as a fraction in [0, 1]; 50 (a percentage) would multiply the energy, so it is refused."""
    value = options.get(name, default)
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        fraction = math.nan
    if not 0.0 <= fraction <= 1.0:  # also refuses NaN
        raise ValueError(f"{name}={value!r} must be a fraction between 0 and 1, e.g. 0.5 for 50 %")
    return fraction


def cloud_usage_load_lines(
    *,
    organization: Organization,
    lines: CloudUsageLines,
    source_batch_id: int | None = None,
    options: dict | None = None,
    memo: dict | None = None,
) -> UpsertOutcome:
    """``cloud_usage_load`` for lines read column-wise (ingest/parsers/billing_columns.py). ``memo``: kept by the
    caller for every block of one load, in one transaction (``LinesShared``)."""
    shared = None
    if memo is not None:
        shared = memo.get("cloud_lines") or memo.setdefault("cloud_lines", LinesShared(organization))
    return cloud_usage_upsert_lines(
        organization=organization,
        lines=lines,
        estimator=cloud_estimator(options),
        arrays=ARROW_ARRAYS,
        source_batch_id=source_batch_id,
        shared=shared,
    )


def cloud_usage_finalize(
    *, organization: Organization, source_batch_id: int, periods: list[date] | None = None
) -> BatchLinesSettled:
    """After a billing batch: its months replace what earlier imports stored for them, and its stored lines are
    added up for the reconciliation (``periods``: the months read, None when unknown). A batch imported in
    pieces (a large file) refreshes the line table's statistics first."""
    if ImportChunk.objects.filter(batch_id=source_batch_id).exists():
        cloud_usage_statistics_refresh()
    return cloud_usage_restated_months_replace(
        organization=organization, source_batch_id=source_batch_id, periods=periods
    )
