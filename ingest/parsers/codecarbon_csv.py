"""CodeCarbon ``emissions.csv`` (2.x and 3.x), alone or several in a ZIP archive (multi-GPU rank files).

One run per tracker run id; columns are matched by header name (see codecarbon_rows). Rules:

* **Same run id, several rows** (flushes with ``on_csv_write=append``, or the same run in two files of an
  archive): the rows are cumulative totals of one run, so the latest row (latest timestamp, then longest
  duration) is the run; the earlier rows count as duplicates. Nothing is summed.
* **No run id** (``run_id`` empty or ``None``, which 3.x writes when the API output owns the id): the id is
  derived from (project_name, experiment_id, timestamp, duration) and the run is flagged
  ``tracker_run_id_missing``. Two flushes of such a run cannot be recognised as one run.
* **Rank files** (option ``merge_ranks``, a ZIP of one CSV per rank with different run ids): the i-th run of
  every member file (runs in order of first appearance; members in natural name order) is one job. Its id
  is ``ranks-`` + a digest of the member run ids; it is flagged ``multi_rank_merged``.

  - every member ``tracking_mode`` is ``process``: each rank measured its own process, so every energy
    (total, CPU, GPU, RAM), the emissions and ``gpu_count`` are summed;
  - every member is ``machine`` (CodeCarbon's default, also assumed when the column is absent): each rank
    measured the whole machine, so summing would count it once per rank; the figures of the rank with the
    largest ``energy_consumed`` are kept and the run is flagged ``multi_rank_machine_mode``;
  - mixed modes, a rank file without an i-th run, or a rejected member row → every row of that job is
    rejected with the reason (a partial sum would be silently wrong).

  Times span the members (earliest start, latest end; duration = the longest member duration); project,
  experiment, hardware and version come from the first member file. A run id found in several member files
  is the same run (rule 1) and is not rank-merged.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.records import RunRecord
from ingest.parsers.codecarbon_rows import REQUIRED_COLUMNS, CodeCarbonRow, read_row, record_of, run_id_of
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import (
    Entry,
    archive_members,
    cell_issue,
    csv_rows,
    digest,
    emit,
    tracker_options,
)
from ingest.records import ParsedRow, ParseError, RowIssue

SOURCE = "codecarbon_csv"


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield every data row of the file(s): the record of its run, or why it was rejected."""
    settings = tracker_options(options)
    kind = settings.kind or "training"
    members = archive_members(content, suffixes=(".csv",)) or [("", content)]
    entries: list[Entry] = []
    rows_by_run: dict[str, list[tuple[int, CodeCarbonRow]]] = {}
    runs_by_file: dict[str, list[str]] = {where: [] for where, _ in members}
    failed: dict[str, str] = {}  # runs none of whose rows could be read
    order = 0
    for where, data in members:
        header, rows = csv_rows(data, required=REQUIRED_COLUMNS, where=where)
        if "task_name" in header:
            raise ParseError(f"{where or 'the file'} is a CodeCarbon task CSV: import it with codecarbon_task_csv")
        for item in rows:
            if isinstance(item, RowIssue):
                entries.append(item)
                continue
            row_number, row = item
            try:
                parsed = read_row(row, row_number=row_number, zone=settings.zone, where=where)
            except CellError as exc:
                entries.append(cell_issue(row_number, exc, value=row.get(exc.column, ""), raw=str(row), where=where))
                key = run_id_of(row) or f"!row {row_number} of {where}"
                failed.setdefault(key, f"{_place(where, row_number)} was rejected")
                _remember(runs_by_file[where], key)
                continue
            order += 1
            rows_by_run.setdefault(parsed.key, []).append((order, parsed))
            _remember(runs_by_file[where], parsed.key)
            entries.append((row_number, parsed.key))
    latest = {key: max(rows, key=lambda item: item[1].sort_key(item[0]))[1] for key, rows in rows_by_run.items()}
    records = {key: record_of(row, source=SOURCE, external_id=key, kind=kind) for key, row in latest.items()}
    rejected: dict[str, str] = {}
    if settings.merge_ranks and len(members) > 1:
        _merge_ranks(runs_by_file, rows_by_run, latest, failed, records, rejected, kind=kind)
    yield from emit(entries, records, rejected)


def _remember(keys: list[str], key: str) -> None:
    if key not in keys:
        keys.append(key)


def _place(where: str, row_number: int) -> str:
    return f"{where} row {row_number}" if where else f"row {row_number}"


def _merge_ranks(
    runs_by_file: dict[str, list[str]],
    rows_by_run: dict[str, list[tuple[int, CodeCarbonRow]]],
    latest: dict[str, CodeCarbonRow],
    failed: dict[str, str],
    records: dict[str, RunRecord],
    rejected: dict[str, str],
    *,
    kind: str,
) -> None:
    """Replace the records of rank runs by the merged job record (or a rejection), in place."""
    files_of = {key: {row.where for _, row in rows} for key, rows in rows_by_run.items()}
    rank_runs = {
        where: [key for key in keys if key in failed or len(files_of.get(key, ())) == 1]
        for where, keys in runs_by_file.items()
    }
    files = list(rank_runs)
    for index in range(max(len(keys) for keys in rank_runs.values())):
        group = [keys[index] for keys in rank_runs.values() if index < len(keys)]
        reason = None
        if len(group) < len(files):
            absent = [where for where in files if index >= len(rank_runs[where])]
            reason = f"rank merge: run {index + 1} is missing from {', '.join(absent)}; ranks must line up"
        elif any(key in failed for key in group):
            reason = "rank merge: " + "; ".join(failed[key] for key in group if key in failed)
        else:
            modes = sorted({latest[key].tracking_mode or "machine" for key in group})
            if modes not in (["machine"], ["process"]):
                reason = f"rank merge: the ranks of run {index + 1} mix tracking modes ({', '.join(modes)})"
        for key in group:
            if key not in records:  # none of its rows was readable: they are rejected already
                continue
            if reason:
                rejected[key] = reason
            else:
                records[key] = _merged(group, latest, kind=kind)


def _merged(group: list[str], latest: dict[str, CodeCarbonRow], *, kind: str) -> RunRecord:
    """One job record from its rank runs (see the module docstring for the rule)."""
    ranks = [latest[key] for key in group]
    first = ranks[0].fields
    fields = dict(first)
    flags = {"multi_rank_merged"} | {"tracker_run_id_missing" for rank in ranks if not rank.run_id}
    if ranks[0].tracking_mode == "process":
        for name in ("energy_kwh", "cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh"):
            fields[name] = sum(rank.fields[name] for rank in ranks)
        emissions = [rank.fields["tracker_emissions_kg_co2e"] for rank in ranks]
        fields["tracker_emissions_kg_co2e"] = None if None in emissions else sum(emissions)
        fields["gpu_count"] = sum(rank.fields["gpu_count"] for rank in ranks)
        utilizations = [rank.fields["gpu_utilization_pct"] for rank in ranks]
        known = [value for value in utilizations if value is not None]
        fields["gpu_utilization_pct"] = sum(known) / len(known) if known else None
    else:
        largest = max(ranks, key=lambda rank: rank.fields["energy_kwh"]).fields
        for name in (
            "energy_kwh", "cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh", "tracker_emissions_kg_co2e",
            "gpu_count", "gpu_utilization_pct", "tracker_pue",
        ):  # fmt: skip
            fields[name] = largest[name]
        flags.add("multi_rank_machine_mode")
    fields["started_at"] = min(rank.fields["started_at"] for rank in ranks)
    fields["ended_at"] = max(rank.fields["ended_at"] for rank in ranks)
    fields["duration_s"] = max(rank.fields["duration_s"] for rank in ranks)
    fields["cpu_count"] = max(rank.fields["cpu_count"] for rank in ranks)
    external_id = "ranks-" + digest(*sorted(group))
    return RunRecord(source=SOURCE, external_id=external_id, kind=kind, flags=tuple(sorted(flags)), **fields)
