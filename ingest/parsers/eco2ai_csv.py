"""eco2ai ``emission.csv`` (0.3.x): ``id, project_name, experiment_description, epoch, start_time,
duration(s), power_consumption(kWh), CO2_emissions(kg), CPU_name, GPU_name, OS, region/country, cost``.

``start_time`` is naive local time at the START of the row's interval (``timezone`` option); energy kWh,
emissions kg. One run per ``id`` (external_id = id). Rows sharing an id:

* a plain ``start()``/``stop()`` run has one row, rewritten in place by the tool;
* a ``start_training()`` run appends one row per ``new_epoch()``, and eco2ai resets its consumption and
  start time after each epoch (see the sample: epoch rows 4 s apart, each ~4.2 s long), so the epoch
  rows are *parts* of the run: their energy, emissions and durations are summed once each. Keeping only
  the last row would drop every earlier epoch. The run is flagged ``eco2ai_training_mode``;
* a row repeated verbatim (same start, duration and energy: a file concatenated twice) is the same part
  and is counted once.

All rows of the id carry the run's record, so the store loads it once and counts the other rows as
duplicates. A rejected row rejects its whole run (a partial sum would be wrong). ``CPU_name`` reads
``"<name>/<n> device(s), TDP:<w>"`` and ``GPU_name`` ``"<name> <n> device(s)"``. eco2ai multiplies by its
``pue`` argument (default 1) but does not write it, so ``tracker_pue`` stays unknown (None).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from emissions.records import RunRecord
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import (
    Entry,
    cell_issue,
    country_iso3,
    csv_rows,
    emit,
    local_time,
    number,
    optional_number,
    tracker_options,
)
from ingest.records import ParsedRow, RowIssue

SOURCE = "eco2ai_csv"
REQUIRED_COLUMNS = ["id", "start_time", "duration(s)", "power_consumption(kwh)"]
_CPU = re.compile(r"^(?P<name>.*?)\s*/\s*(?P<count>\d+) device\(s\)(?:,\s*TDP:\s*(?P<tdp>[\d.]+))?$")
_GPU = re.compile(r"^(?P<name>.*?)\s*(?P<count>\d+) device\(s\)$")


@dataclass(frozen=True)
class _Part:
    row_number: int
    row: dict[str, str]
    started_at: object
    duration_s: float
    energy_kwh: float
    emissions_kg: float | None


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield every row: its run's record, or why it (or its run) was rejected."""
    settings = tracker_options(options)
    _, rows = csv_rows(content, required=REQUIRED_COLUMNS)
    entries: list[Entry] = []
    parts: dict[str, list[_Part]] = {}
    rejected: dict[str, str] = {}
    for item in rows:
        if isinstance(item, RowIssue):
            entries.append(item)
            continue
        row_number, row = item
        run_id = row["id"][:128]
        try:
            if not run_id:
                raise CellError("id", "is empty")
            part = _Part(
                row_number=row_number,
                row=row,
                started_at=local_time(row["start_time"], "start_time", settings.zone),
                duration_s=number(row["duration(s)"], "duration(s)", positive=True),
                energy_kwh=number(row["power_consumption(kwh)"], "power_consumption(kWh)"),
                emissions_kg=optional_number(row.get("co2_emissions(kg)"), "CO2_emissions(kg)"),
            )
        except CellError as exc:
            entries.append(cell_issue(row_number, exc, value=_cell(row, exc.column), raw=str(row)))
            if run_id:
                rejected.setdefault(run_id, f"run {run_id}: row {row_number} was rejected, so its total is unknown")
            continue
        parts.setdefault(run_id, []).append(part)
        entries.append((row_number, run_id))
    kind = settings.kind or "training"
    records = {run_id: _record(run_id, run_parts, kind=kind) for run_id, run_parts in parts.items()}
    yield from emit(entries, records, rejected)


def _cell(row: dict[str, str], column: str) -> str:
    return row.get(column.lower(), "")


def _record(run_id: str, parts: list[_Part], *, kind: str) -> RunRecord:
    """The run of an id: distinct rows summed, verbatim repeats counted once."""
    distinct = list({(part.started_at, part.duration_s, part.energy_kwh): part for part in parts}.values())
    last = parts[-1].row
    emissions = [part.emissions_kg for part in distinct]
    cpu_model, cpu_count = _device(last.get("cpu_name", ""), _CPU)
    gpu_model, gpu_count = _device(last.get("gpu_name", ""), _GPU)
    epochs = any(part.row.get("epoch", "").startswith("epoch") for part in parts)
    description = last.get("experiment_description", "")
    return RunRecord(
        source=SOURCE,
        external_id=run_id,
        kind=kind,
        started_at=min(part.started_at for part in distinct),
        ended_at=max(part.started_at + timedelta(seconds=part.duration_s) for part in distinct),
        duration_s=sum(part.duration_s for part in distinct),
        energy_kwh=sum(part.energy_kwh for part in distinct),
        tracker_emissions_kg_co2e=None if None in emissions else sum(emissions),
        project_name=last.get("project_name", "")[:200],
        cpu_model=cpu_model,
        cpu_count=cpu_count,
        gpu_model=gpu_model,
        gpu_count=gpu_count,
        country_iso3=country_iso3(last.get("region/country", "")),
        tracker_name="eco2ai",
        tags=(("experiment_description", description[:200]),) if description else (),
        flags=("eco2ai_training_mode",) if epochs else (),
    )


def _device(text: str, pattern: re.Pattern) -> tuple[str, int]:
    """(model, device count) from eco2ai's device text; unparsed text is kept as the model, count 0."""
    match = pattern.match(text.strip())
    if match is None:
        return text.strip()[:200], 0
    return match["name"].strip()[:200], int(match["count"])
