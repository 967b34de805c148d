"""CodeCarbon ``emissions.csv`` (2.x and 3.x), alone or several in a ZIP archive (multi-GPU rank files).

Columns are matched by header name (see codecarbon_rows); which rows make one run, and how the ranks of
one job on one host are merged, is codecarbon_jobs's rule:

* **Flushes** — rows with the same run id, or id-less rows of one host and start, are cumulative totals of
  one run: the latest row is the run, earlier rows count as duplicates. Nothing is summed. An id-less run
  gets an id derived from its host fields and start, and the flag ``tracker_run_id_missing``.
* **Ranks** — rows of one host, experiment and time span with different run ids are one job: CPU and RAM
  once (machine mode) or summed (process mode), GPUs summed unless every rank saw all of them; flagged
  ``multi_rank_merged``. Mixed tracking modes are rejected with the reason.
* **Option ``merge_ranks``** (a ZIP of one CSV per rank whose times do not line up): the i-th run of every
  member file (members in natural name order) is one job, merged by the same rule; a rank file without an
  i-th run, or a rejected member row, rejects every row of that job.
* **A negative component** (mlco2/codecarbon#309) is dropped and flagged; the other components are kept.
"""

from __future__ import annotations

from collections.abc import Iterator

from emissions.records import RunRecord
from ingest.parsers.codecarbon_jobs import job_record, jobs_of, latest_members, ranks_merge, run_keys
from ingest.parsers.codecarbon_rows import REQUIRED_COLUMNS, CodeCarbonRow, read_row, record_of, run_id_of
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import (
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
    entries: list = []  # RowIssue, or (row_number, order) until the row's run key is known
    parsed_rows: list[tuple[int, CodeCarbonRow]] = []
    failed: dict[str, str] = {}  # runs none of whose rows could be read
    failed_by_file: dict[str, list[str]] = {where: [] for where, _ in members}
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
                _remember(failed_by_file[where], key)
                continue
            order += 1
            parsed_rows.append((order, parsed))
            entries.append((row_number, order))
    keys = run_keys(parsed_rows)
    rows_by_run: dict[str, list[tuple[int, CodeCarbonRow]]] = {}
    runs_by_file: dict[str, list[str]] = {where: [] for where, _ in members}
    for position, row in parsed_rows:
        rows_by_run.setdefault(keys[position], []).append((position, row))
        _remember(runs_by_file[row.where], keys[position])
    for where, failed_keys in failed_by_file.items():
        for key in failed_keys:
            _remember(runs_by_file[where], key)
    entries = [entry if isinstance(entry, RowIssue) else (entry[0], keys[entry[1]]) for entry in entries]
    latest = {key: latest_members(rows) for key, rows in rows_by_run.items()}
    records: dict[str, RunRecord] = {}
    rejected: dict[str, str] = {}
    if settings.merge_ranks and len(members) > 1:
        _merge_ranks_by_position(runs_by_file, rows_by_run, latest, failed, records, rejected, kind=kind)
    else:
        jobs, job_of = jobs_of(latest)
        results = {job.key: job_record(job, source=SOURCE, kind=kind) for job in jobs}
        for run_key, job_key in job_of.items():
            result = results[job_key]
            if isinstance(result, str):
                rejected[run_key] = result
            else:
                records[run_key] = result
    yield from emit(entries, records, rejected)


def _remember(keys: list[str], key: str) -> None:
    if key not in keys:
        keys.append(key)


def _place(where: str, row_number: int) -> str:
    return f"{where} row {row_number}" if where else f"row {row_number}"


def _merge_ranks_by_position(
    runs_by_file: dict[str, list[str]],
    rows_by_run: dict[str, list[tuple[int, CodeCarbonRow]]],
    latest: dict[str, list[CodeCarbonRow]],
    failed: dict[str, str],
    records: dict[str, RunRecord],
    rejected: dict[str, str],
    *,
    kind: str,
) -> None:
    """Option ``merge_ranks``: the i-th run of every member file is one job (ranks must line up)."""
    files_of = {key: {row.where for _, row in rows} for key, rows in rows_by_run.items()}
    rank_runs = {
        where: [key for key in keys if key in failed or len(files_of.get(key, ())) == 1]
        for where, keys in runs_by_file.items()
    }
    files = list(rank_runs)
    for key, members in latest.items():
        if len(files_of.get(key, ())) > 1:  # one run in several files: rule 1, not a rank
            records[key] = record_of(members[-1], source=SOURCE, external_id=key, kind=kind)
    for index in range(max(len(keys) for keys in rank_runs.values())):
        group = [keys[index] for keys in rank_runs.values() if index < len(keys)]
        result: RunRecord | str
        if len(group) < len(files):
            absent = [where for where in files if index >= len(rank_runs[where])]
            result = f"rank merge: run {index + 1} is missing from {', '.join(absent)}; ranks must line up"
        elif any(key in failed for key in group):
            result = "rank merge: " + "; ".join(failed[key] for key in group if key in failed)
        else:
            ranks = [member for key in group for member in latest[key]]
            result = ranks_merge(ranks, source=SOURCE, external_id="ranks-" + digest(*sorted(group)), kind=kind)
        for key in group:
            if key not in latest:  # none of its rows was readable: they are rejected already
                continue
            if isinstance(result, str):
                rejected[key] = result
            else:
                records[key] = result
