"""CodeCarbon task CSV ``emissions_<experiment>_<run_id>.csv`` (``start_task``/``stop_task``), or a ZIP of them.

First column ``task_name``, then the emissions.csv columns without experiment_id, pue and wue (see
codecarbon_rows for units and times). One run per task row: ``external_id = "<run_id>:<task_name>"``,
kind from the ``kind`` option (default ``training``), no tracker PUE (the file does not say). A later row
with the same run id and task name is the same task written again: the latest row wins, the earlier ones
count as duplicates. The tasks of a run partition its cumulative ``emissions.csv`` row: import one or the
other (the loader refuses the second, see ingest.loaders).
"""

from __future__ import annotations

from collections.abc import Iterator

from ingest.parsers.codecarbon_rows import REQUIRED_COLUMNS, CodeCarbonRow, read_row, record_of, run_id_of
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import Entry, archive_members, cell_issue, csv_rows, emit, tracker_options
from ingest.records import ParsedRow, RowIssue

SOURCE = "codecarbon_task_csv"


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield every task row: the record of its task run, or why it was rejected."""
    settings = tracker_options(options)
    members = archive_members(content, suffixes=(".csv",)) or [("", content)]
    entries: list[Entry] = []
    latest: dict[str, tuple[tuple, CodeCarbonRow]] = {}
    order = 0
    for where, data in members:
        _, rows = csv_rows(data, required=["task_name", "run_id", *REQUIRED_COLUMNS], where=where)
        for item in rows:
            if isinstance(item, RowIssue):
                entries.append(item)
                continue
            row_number, row = item
            try:
                if not row["task_name"]:
                    raise CellError("task_name", "is empty")
                if not run_id_of(row):
                    raise CellError("run_id", "is empty: a task needs the id of its run")
                parsed = read_row(row, row_number=row_number, zone=settings.zone, where=where)
            except CellError as exc:
                entries.append(cell_issue(row_number, exc, value=row.get(exc.column, ""), raw=str(row), where=where))
                continue
            order += 1
            key = f"{parsed.run_id}:{row['task_name']}"[:128]
            rank = parsed.sort_key(order)
            if key not in latest or rank > latest[key][0]:
                latest[key] = (rank, parsed)
            entries.append((row_number, key))
    kind = settings.kind or "training"
    records = {key: record_of(row, source=SOURCE, external_id=key, kind=kind) for key, (_, row) in latest.items()}
    yield from emit(entries, records, {})
