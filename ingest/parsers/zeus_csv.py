"""Zeus ``ZeusMonitor(log_file=…)`` CSV: ``start_time,window_name,elapsed_time,`` then ``gpu{i}_energy``,
``cpu{i}_energy`` and ``dram{i}_energy`` columns, one row per measurement window.

``start_time`` is Unix seconds (UTC, so the ``timezone`` option does not apply), ``elapsed_time`` seconds,
energies **joules** (1 kWh = 3.6e6 J). One run per window: external_id ``<window_name>@<start_time>`` as
written (a digest when longer than 128 characters); GPU energy is the sum of the ``gpu{i}`` columns, CPU of
``cpu{i}`` (RAPL package) and RAM of ``dram{i}``; ``energy_kwh`` is their sum (Zeus's own
``total_energy`` counts GPUs only); ``gpu_count`` is the number of GPU columns. Zeus writes no project
and no CO2: name the project with the ``project`` option.

A log without any energy column (ZeusMonitor found no GPU and no RAPL: it then logs timing only) fails the
whole batch with a ParseError: the defect is the file's header, not a row, and loading its windows with
0 kWh would be a silent wrong zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from emissions.records import RunRecord
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import (
    JOULES_PER_KWH,
    Entry,
    cell_issue,
    csv_rows,
    digest,
    emit,
    not_future,
    number,
    tracker_options,
)
from ingest.records import ParsedRow, ParseError, RowIssue

SOURCE = "zeus_csv"
REQUIRED_COLUMNS = ["start_time", "window_name", "elapsed_time"]
_ENERGY = re.compile(r"^(gpu|cpu|dram)(\d+)_energy$")


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield one record per measurement window, or the window's row error."""
    settings = tracker_options(options)
    header, rows = csv_rows(content, required=REQUIRED_COLUMNS)
    energy_columns = [(column, _ENERGY.match(column)[1]) for column in header if _ENERGY.match(column)]
    if not energy_columns:
        raise ParseError(
            "no energy columns (gpu{i}_energy, cpu{i}_energy, dram{i}_energy): this Zeus log holds timing only "
            "(ZeusMonitor found no GPU and no RAPL to measure); nothing can be imported from it"
        )
    kind = settings.kind or "training"
    entries: list[Entry] = []
    records: dict[str, RunRecord] = {}
    for item in rows:
        if isinstance(item, RowIssue):
            entries.append(item)
            continue
        row_number, row = item
        try:
            record = _record(row, energy_columns, kind=kind)
        except CellError as exc:
            entries.append(cell_issue(row_number, exc, value=row.get(exc.column, ""), raw=str(row)))
            continue
        records[record.external_id] = record  # a window written twice: the later row wins
        entries.append((row_number, record.external_id))
    yield from emit(entries, records, {})


def _record(row: dict[str, str], energy_columns: list[tuple[str, str]], *, kind: str) -> RunRecord:
    if not row["window_name"]:
        raise CellError("window_name", "is empty")
    start = number(row["start_time"], "start_time", positive=True)
    try:
        started_at = datetime.fromtimestamp(start, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise CellError("start_time", f"{row['start_time']!r} is not a Unix time in seconds") from exc
    duration_s = number(row["elapsed_time"], "elapsed_time", positive=True)
    ended_at = not_future(started_at + timedelta(seconds=duration_s), "start_time", row["start_time"])
    kwh = {"gpu": 0.0, "cpu": 0.0, "dram": 0.0}
    for column, device in energy_columns:
        kwh[device] += number(row[column], column) / JOULES_PER_KWH
    external_id = f"{row['window_name']}@{row['start_time']}"
    if len(external_id) > 128:
        external_id = "window-" + digest(row["window_name"], row["start_time"])
    return RunRecord(
        source=SOURCE,
        external_id=external_id,
        kind=kind,
        started_at=started_at,
        ended_at=ended_at,
        duration_s=duration_s,
        energy_kwh=kwh["gpu"] + kwh["cpu"] + kwh["dram"],
        gpu_energy_kwh=kwh["gpu"],
        cpu_energy_kwh=kwh["cpu"],
        ram_energy_kwh=kwh["dram"],
        gpu_count=sum(1 for _, device in energy_columns if device == "gpu"),
        tracker_name="zeus",
        tags=(("window_name", row["window_name"][:200]),),
    )
