"""How CodeCarbon rows make runs: the flushes of one run, and the ranks of one job on one host.

* **Flushes.** Each row is a cumulative total at a ``stop()`` or ``flush()``. Rows with the same run id
  are one run. Rows *without* a run id (3.x writes ``None`` when the API output owns the id) are one run
  when they share the host fields (project, experiment, OS, CPU model and count, RAM size) and their start
  (``timestamp − duration``) to within ``FLUSH_START_S``: a later flush has a later end, not another start.
* **Ranks.** Several processes of one job on one host (torchrun, SLURM tasks, one tracker per GPU) each
  write a row: different run ids (or none), the same host fields, and starts and ends within 10 % of the
  run's duration of each other (at least 5 s; at most ``RANK_START_S`` at the start, ``RANK_END_S`` at the
  end). They are one job, merged by ``ranks_merge``:

  - CPU and RAM: in ``machine`` mode (CodeCarbon's default) every rank measured the whole machine, so the
    largest rank's figure counts once; in ``process`` mode each rank measured its own process: summed.
  - GPU: CodeCarbon reads whole devices through NVML. When every rank reports the same number of GPUs and
    that number is at least the number of ranks, each rank saw every GPU of the node: the largest figure
    counts once (flag ``multi_rank_gpus_shared``). Otherwise each rank had its own GPUs: summed.
  - Mixed tracking modes cannot be merged honestly: the job's rows are rejected with the reason.

  The merged run is flagged ``multi_rank_merged``; its id is ``ranks-`` + a digest of the member keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from emissions.records import RunRecord
from ingest.parsers.codecarbon_rows import CodeCarbonRow, record_of
from ingest.parsers.tracker_rows import digest

FLUSH_START_S = 2.0
RANK_START_S = 60.0
RANK_END_S = 300.0  # rank 0 often stops last, after saving the checkpoint
# Rows of one flush level (ranks stopping together) end within this many seconds of each other.
SAME_END_S = 5.0


@dataclass
class Job:
    """One run to store: its key, and the latest row of each of its ranks (one row for a plain run)."""

    key: str
    members: list[CodeCarbonRow]


def run_keys(rows: list[tuple[int, CodeCarbonRow]]) -> dict[int, str]:
    """The run key of every row (by its order): its run id, else its flush cluster's derived id."""
    keys: dict[int, str] = {}
    clusters: list[tuple[tuple, object, str]] = []
    for order, row in rows:
        if row.run_id:
            keys[order] = row.run_id
            continue
        start = row.fields["started_at"]
        for host, first_start, key in clusters:
            if host == row.host and abs((start - first_start).total_seconds()) <= FLUSH_START_S:
                keys[order] = key
                break
        else:
            key = "derived-" + digest(*row.host, start.replace(microsecond=0).isoformat())
            clusters.append((row.host, start, key))
            keys[order] = key
    return keys


def latest_members(rows: list[tuple[int, CodeCarbonRow]]) -> list[CodeCarbonRow]:
    """The rows of a run's last flush: one row, or the ranks of an id-less job that stopped together."""
    ordered = sorted(rows, key=lambda item: item[1].sort_key(item[0]))
    last_end = ordered[-1][1].fields["ended_at"]
    if ordered[-1][1].run_id:
        return [ordered[-1][1]]
    level = [row for _, row in ordered if (last_end - row.fields["ended_at"]).total_seconds() <= SAME_END_S]
    if len(level) > 1 and len({row.tracking_mode for row in level}) == 1:
        # Same start, same end, several rows: ranks without ids, unless they are equal repeats of one row.
        distinct = {tuple(sorted((k, str(v)) for k, v in row.fields.items())) for row in level}
        return level if len(distinct) > 1 else [level[-1]]
    return [ordered[-1][1]]


def jobs_of(latest: dict[str, list[CodeCarbonRow]]) -> tuple[list[Job], dict[str, str]]:
    """Runs grouped into jobs (ranks of one host together) and the job key of every run key."""
    jobs: list[Job] = []
    job_of: dict[str, str] = {}
    groups: list[list[str]] = []
    for key in sorted(latest, key=lambda k: latest[k][0].fields["started_at"]):
        row = latest[key][0]
        for group in groups:
            first = latest[group[0]][0]
            if first.host == row.host and _same_span(first, row):
                group.append(key)
                break
        else:
            groups.append([key])
    for group in groups:
        members = [member for key in group for member in latest[key]]
        job_key = group[0] if len(group) == 1 and len(members) == 1 else _ranks_key(group, members)
        jobs.append(Job(key=job_key, members=members))
        for key in group:
            job_of[key] = job_key
    return jobs, job_of


def _same_span(a: CodeCarbonRow, b: CodeCarbonRow) -> bool:
    """Ranks start together and stop together: within 10 % of the run (at least 5 s, at most
    ``RANK_START_S`` apart at the start and ``RANK_END_S`` at the end); back-to-back runs never match."""
    duration_s = min(a.fields["duration_s"], b.fields["duration_s"])
    start_gap = abs((a.fields["started_at"] - b.fields["started_at"]).total_seconds())
    end_gap = abs((a.fields["ended_at"] - b.fields["ended_at"]).total_seconds())
    slack = 0.1 * duration_s
    return start_gap <= max(5.0, min(RANK_START_S, slack)) and end_gap <= max(5.0, min(RANK_END_S, slack))


def _ranks_key(group: list[str], members: list[CodeCarbonRow]) -> str:
    if len(group) == 1:  # id-less ranks of one flush cluster
        return "ranks-" + digest(group[0], *(str(row.row_number) for row in members[:1]))
    return "ranks-" + digest(*sorted(group))


def ranks_merge(members: list[CodeCarbonRow], *, source: str, external_id: str, kind: str) -> RunRecord | str:
    """One record for the ranks of a job, or the reason they cannot be merged (see the module docstring)."""
    modes = sorted({row.tracking_mode or "machine" for row in members})
    if modes not in (["machine"], ["process"]):
        return f"rank merge: the ranks of this job mix tracking modes ({', '.join(modes)})"
    per_process = modes == ["process"]
    fields = dict(members[0].fields)
    combine = sum if per_process else max
    cpu = combine(row.fields["cpu_energy_kwh"] for row in members)
    ram = combine(row.fields["ram_energy_kwh"] for row in members)
    gpu_counts = {row.fields["gpu_count"] for row in members}
    gpus_shared = len(gpu_counts) == 1 and min(gpu_counts) >= len(members) > 1
    gpu = (max if gpus_shared else sum)(row.fields["gpu_energy_kwh"] for row in members)
    summed_kwh = sum(row.fields["energy_kwh"] for row in members)
    fields.update(
        cpu_energy_kwh=cpu,
        ram_energy_kwh=ram,
        gpu_energy_kwh=gpu,
        energy_kwh=cpu + gpu + ram,
        gpu_count=max(gpu_counts) if gpus_shared else sum(row.fields["gpu_count"] for row in members),
        started_at=min(row.fields["started_at"] for row in members),
        ended_at=max(row.fields["ended_at"] for row in members),
        duration_s=max(row.fields["duration_s"] for row in members),
    )
    pues = [row.fields["tracker_pue"] for row in members if row.fields["tracker_pue"] is not None]
    fields["tracker_pue"] = max(pues) if pues else None
    emissions = [row.fields["tracker_emissions_kg_co2e"] for row in members]
    # The tracker's own figure, scaled like the energy: its implied intensity is kept.
    fields["tracker_emissions_kg_co2e"] = (
        None if None in emissions or not summed_kwh else sum(emissions) * fields["energy_kwh"] / summed_kwh
    )
    utilizations = [
        row.fields["gpu_utilization_pct"] for row in members if row.fields["gpu_utilization_pct"] is not None
    ]
    fields["gpu_utilization_pct"] = sum(utilizations) / len(utilizations) if utilizations else None
    flags = {"multi_rank_merged", *(flag for row in members for flag in row.flags)}
    flags.add("multi_rank_gpus_shared" if gpus_shared else "multi_rank_gpus_summed")
    if not per_process:
        flags.add("multi_rank_machine_mode")
    if any(not row.run_id for row in members):
        flags.add("tracker_run_id_missing")
    else:  # the ranks' own ids: a live run of one of them is this job's run (emissions/services/run_matching.py)
        fields["tags"] = (("rank_run_ids", ",".join(sorted(row.run_id for row in members))),)
    return RunRecord(source=source, external_id=external_id, kind=kind, flags=tuple(sorted(flags)), **fields)


def job_record(job: Job, *, source: str, kind: str) -> RunRecord | str:
    """The record of a job: its single row's, or its ranks merged (or the reason they cannot be)."""
    if len(job.members) == 1:
        return record_of(job.members[0], source=source, external_id=job.key, kind=kind)
    return ranks_merge(job.members, source=source, external_id=job.key, kind=kind)
