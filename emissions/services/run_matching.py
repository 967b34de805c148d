"""One run, once: recognise a run that arrives again from another source, and merge what the copy adds.

A CodeCarbon run can reach GreenGuild as its live API samples, its HTTP-output record, its emissions.csv
row and a later re-export. Stored under each source it would count several times. A record is the same
run as a stored one when (first match wins):

1. it has the same (source, id), or an alias of the run has it (a copy merged earlier);
2. it carries a CodeCarbon run id that a run of another CodeCarbon source has (2.x writes the API's run id
   into its CSV; HTTP output and BoAmps reports carry it too);
3. it has no tracker run id (3.x writes ``run_id=None`` in the CSV when the API output is on) and a
   run of another source of the same tracker, in the same experiment (the same project when the
   experiment id is CodeCarbon's default one or absent), ends within ``max(5 min, 10 % of the
   duration)`` of it and did not start more than two minutes before it (a live run starts at its
   first upload, not at the tracker's start, so starts are compared one way only).

The stored run stays (its id, project, samples); the copy becomes a ``RunAlias``. Merging keeps the
richest figures: the energies (with their tracker PUE, emissions and component tiers) of whichever copy
reports more energy (a live API loses the deltas it could not send, a cumulative file never does); the
earliest start and latest end; any descriptive value the stored run lacks; a stronger location; all flags,
plus ``merged_sources``. Merging the same copy again changes nothing, so re-imports stay duplicates.
"""

from __future__ import annotations

from datetime import timedelta

from emissions.choices import LocationSource
from emissions.models import Organization, Run, RunAlias
from emissions.records import RunRecord

CODECARBON_ID_SOURCES = ("codecarbon_api", "codecarbon_http", "codecarbon_csv", "boamps_json")
# CodeCarbon's built-in experiment id: runs sent with it were not configured for a project.
CODECARBON_DEMO_EXPERIMENT_ID = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1"
# Two id-less records of one source starting this close are flushes of one run (whole-second timestamps).
FLUSH_START = timedelta(seconds=2)

ENERGY_FIELDS = (
    "energy_kwh",
    "cpu_energy_kwh",
    "gpu_energy_kwh",
    "ram_energy_kwh",
    "tracker_pue",
    "tracker_emissions_kg_co2e",
    "component_quality",
)
LOCATION_FIELDS = ("site", "cloud_region", "grid_zone", "location_source")
# Kept from the stored run; filled from the copy only where the stored run has nothing.
DESCRIPTIVE_FIELDS = (
    "cpu_model",
    "cpu_count",
    "gpu_model",
    "gpu_count",
    "gpu_utilization_pct",
    "country_iso3",
    "tracker_region",
    "tracker_version",
    "user_name",
    "tokens_processed",
    "inferences_count",
    "experiment",
    "hardware_model_id",
)
_LOCATION_STRENGTH = [
    LocationSource.SITE,
    LocationSource.CLOUD_REGION,
    LocationSource.TRACKER_REGION,
    LocationSource.TRACKER_COUNTRY,
    LocationSource.ORGANIZATION_DEFAULT,
    LocationSource.UNKNOWN,
]


def tracker_run_id(record: RunRecord) -> str:
    """The CodeCarbon run id a record carries, ``""`` when it has none of its own."""
    if "tracker_run_id_missing" in record.flags or record.source not in CODECARBON_ID_SOURCES:
        return ""
    if record.source == "boamps_json" and record.tracker_name.lower() != "codecarbon":
        return ""
    return record.external_id


class RunMatcher:
    """Finds the stored run a record is a copy of, for one organization and one batch of records."""

    def __init__(self, organization: Organization, records: list[RunRecord]):
        self.organization = organization
        runs = Run.objects.for_org(organization)
        keys = {(r.source, r.external_id) for r in records}
        self.by_key: dict[tuple[str, str], Run] = {
            (run.source, run.external_id): run
            for run in runs.filter(
                external_id__in={ext for _, ext in keys}, source__in={source for source, _ in keys}
            ).select_related("experiment")
        }
        for alias in (
            RunAlias.objects.for_org(organization)
            .filter(external_id__in={ext for _, ext in keys}, source__in={source for source, _ in keys})
            .select_related("run__experiment")
        ):
            self.by_key.setdefault((alias.source, alias.external_id), alias.run)
        ids = {run_id for r in records if (run_id := tracker_run_id(r))}
        ids |= {i for r in records for i in dict(r.tags).get("rank_run_ids", "").split(",") if i}
        self.by_run_id: dict[str, Run] = {}
        for run in runs.filter(source__in=CODECARBON_ID_SOURCES, external_id__in=ids).select_related("experiment"):
            self.by_run_id.setdefault(run.external_id, run)

    def remember(self, record: RunRecord, run: Run) -> None:
        """A record just stored: later records of the batch find it."""
        self.by_key[(record.source, record.external_id)] = run
        if run_id := tracker_run_id(record):
            self.by_run_id.setdefault(run_id, run)

    def find(self, record: RunRecord, project_id: int) -> tuple[Run | None, bool]:
        """The stored run of this record and whether it is stored under another key (a copy)."""
        run = self.by_key.get((record.source, record.external_id))
        if run is not None:
            return run, (run.source, run.external_id) != (record.source, record.external_id)
        run_id = tracker_run_id(record)
        if run_id:
            run = self.by_run_id.get(run_id)
            if run is None:  # a rank job: the first stored run of its ranks' own ids
                ranks = [
                    self.by_run_id[i]
                    for i in dict(record.tags).get("rank_run_ids", "").split(",")
                    if i in self.by_run_id
                ]
                run = min(ranks, key=lambda r: (r.rank_of_id is not None, r.started_at, r.pk), default=None)
            return run, run is not None
        if "tracker_run_id_missing" in record.flags and record.tracker_name:
            run = self._by_time(record, project_id)
            return run, run is not None
        return None, False

    def _by_time(self, record: RunRecord, project_id: int) -> Run | None:
        ended_at = record.ended_at or record.started_at + timedelta(seconds=record.duration_s)
        tolerance = timedelta(seconds=max(300.0, 0.1 * record.duration_s))
        candidates = (
            Run.objects.for_org(self.organization)
            .filter(rank_of__isnull=True)  # a job's merged record joins its first rank, never a member
            .filter(tracker_name__iexact=record.tracker_name, started_at__gte=record.started_at - timedelta(minutes=2))
            .filter(started_at__lte=ended_at + tolerance, ended_at__gte=ended_at - tolerance)
            .select_related("experiment")
        )
        # Another source's run, or a flush of this very run (same source, no id either, same start).
        flush_window = (record.started_at - FLUSH_START, record.started_at + FLUSH_START)
        candidates = candidates.exclude(source=record.source) | candidates.filter(
            source=record.source, started_at__range=flush_window, external_id__startswith="derived-"
        ).exclude(external_id=record.external_id)
        experiment = record.experiment_external_id
        if experiment and experiment != CODECARBON_DEMO_EXPERIMENT_ID:
            candidates = candidates.filter(experiment__external_id=experiment)
        else:
            candidates = candidates.filter(project_id=project_id)
        best = min(candidates, key=lambda run: abs((run.ended_at - ended_at).total_seconds()), default=None)
        return best


def run_merged_values(run: Run, values: dict, *, partial: bool = False) -> dict:
    """The stored run's field values once a copy's ``values`` are merged in (see the module docstring).

    ``partial``: the copy is a poorer record of the same (source, id), e.g. a carbontracker output log
    after its log directory: it fills what the run lacks, and its flags (which describe what it lacks)
    are not taken."""
    merged = {name: getattr(run, name) for name in values}
    # A live rank member counts only what its rank adds (run_ranks.py): a copy never gives it the machine.
    if values["energy_kwh"] > run.energy_kwh and "multi_rank_member" not in run.flags:
        for name in ENERGY_FIELDS:
            merged[name] = values[name]
    if not partial:  # a partial copy's times come from a cruder source (a log's first line)
        merged["started_at"] = min(run.started_at, values["started_at"])
        ends = [end for end in (run.ended_at, values["ended_at"]) if end is not None]
        merged["ended_at"] = max(ends) if ends else None
        merged["duration_s"] = max(run.duration_s, values["duration_s"])
    for name in DESCRIPTIVE_FIELDS:
        if name in values and merged[name] in (None, "", 0) and values[name] not in (None, "", 0):
            merged[name] = values[name]
    if _LOCATION_STRENGTH.index(values["location_source"]) < _LOCATION_STRENGTH.index(run.location_source):
        for name in LOCATION_FIELDS:
            merged[name] = values[name]
    merged["flags"] = list(run.flags) if partial else sorted({*run.flags, *values["flags"], "merged_sources"})
    merged["tags"] = {**values["tags"], **run.tags}
    return merged
