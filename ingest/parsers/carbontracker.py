"""carbontracker (2.x) logs: the ``log_dir`` as a ZIP, or one ``*_carbontracker_output.log`` file.

Files are named ``{prefix_}{pid}.{logger_id}_{YYYY-MM-DDTHHMMSSZ}_carbontracker{,_output,_err}.log``; the
``Z`` is misleading, the tool formats its local ``datetime.now()``. One run per ``{prefix_}{pid}.{logger_id}``
(the external_id, e.g. ``27991.807784``). We parse the text ourselves (carbontracker's own parser
mis-reads the actual epoch count):

* output log, the last ``Actual consumption for N epoch(s)`` block: ``Time`` (h:mm:ss) → duration,
  ``Energy`` kWh → energy_kwh, ``CO2eq`` **grams** → tracker_emissions_kg_co2e. A run with only a
  ``Predicted`` block (stopped before its first epoch ended, or a cut log) is a row error, not a zero.
  On interruption the tool logs one epoch fewer than it measured; the time and energy are still right.
* standard log: the first line's naive local timestamp → started_at (``timezone`` option; else the output
  log's first line), ``carbontracker version``, the PUE line, the components (``CPU with device(s) …``),
  per-epoch durations and average power per component (splits energy_kwh into CPU/GPU in proportion to
  power × duration), and ``Training was interrupted`` → flag ``interrupted``.

PUE: carbontracker multiplies the *predicted and actual* totals by its PUE (the log says "Only predicted
and actual consumptions are multiplied by a PUE coefficient of 1.58"; the sample checks out: 60 W × 9 s
= 0.00015 kWh × 1.58 = 0.000237 kWh). So energy_kwh keeps the tool's figure and ``tracker_pue`` records
1.58, which the accounting divides out before applying the site's own PUE. Without a standard log we
assume 1.58 (every 2.x release applies it) and flag ``tracker_pue_assumed``.

An output log imported alone is flagged ``output_log_only``; imported after the run's log directory it
adds what it has but never replaces the richer run (the same id is merged, not overwritten).

A single output log carries no run id in its text: the id comes from the ``filename`` option when the
upload passes it, else it is derived from the log's first line and components (flag
``tracker_run_id_missing``). The ``*_err.log`` files are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import PurePosixPath

from emissions.records import RunRecord
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import (
    TrackerOptions,
    archive_members,
    cell_issue,
    decode,
    digest,
    emit,
    local_time,
    number,
    tracker_options,
)
from ingest.records import ParsedRow, ParseError, RowIssue

SOURCE = "carbontracker"
DEFAULT_PUE = 1.58
_NAME = re.compile(r"^(?P<run>.+?)_\d{4}-\d{2}-\d{2}T\d{4,6}Z_carbontracker(?P<part>_output|_err)?\.log$")
_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:,\d+)? - (.*)$")
_BLOCK = re.compile(r"^(Actual|Predicted) consumption for (\d+) epoch\(s\):$")
_FIELD = re.compile(r"^\s*(Time|Energy|CO2eq):\s*(.*?)\s*$")
_DURATION = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")
_DEVICES = re.compile(r"(GPU|CPU) with device\(s\) (.+?)\.(?=\s+(?:GPU|CPU) with|\s*$)")


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield one record per run (the row number is the line of its Actual block), or its row error."""
    settings = tracker_options(options)
    members = archive_members(content, suffixes=(".log",))
    runs: dict[str, dict[str, tuple[str, str]]] = {}
    if members is None:
        text = decode(content)
        if "consumption for" not in text and " - carbontracker version" in text:
            raise ParseError(
                "this is a carbontracker standard log: upload its *_carbontracker_output.log "
                "(or the whole log directory as a ZIP); the totals are in the output log"
            )
        match = _NAME.match(PurePosixPath(settings.filename).name) if settings.filename else None
        runs[match["run"] if match else ""] = {"output": (settings.filename or "the file", text)}
    else:
        for where, data in members:
            match = _NAME.match(PurePosixPath(where).name)
            if match and match["part"] != "_err":
                part = "output" if match["part"] else "standard"
                runs.setdefault(match["run"], {})[part] = (where, decode(data, where))
        if not runs:
            raise ParseError("the archive holds no *_carbontracker.log / *_carbontracker_output.log file")
    entries: list = []
    records: dict[str, RunRecord] = {}
    for run_key, files in runs.items():
        try:
            row_number, record = _run(run_key, files, settings)
        except _RunError as exc:
            entries.append(exc.issue)
            continue
        records[record.external_id] = record
        entries.append((row_number, record.external_id))
    yield from emit(entries, records, {})


class _RunError(Exception):
    def __init__(self, issue: RowIssue):
        super().__init__(issue.reason)
        self.issue = issue


def _run(run_key: str, files: dict[str, tuple[str, str]], settings: TrackerOptions) -> tuple[int, RunRecord]:
    if "output" not in files:
        where = files["standard"][0]
        reason = f"{where}: no matching *_carbontracker_output.log, which holds the run's totals"
        raise _RunError(RowIssue(row_number=1, column="", reason=reason))
    where, output = files["output"]
    standard = files.get("standard", ("", ""))[1]
    lines = output.splitlines()
    blocks = [(index, match) for index, line in enumerate(lines) if (match := _BLOCK.match(line.strip()))]
    actual = [(index, match) for index, match in blocks if match[1] == "Actual"]
    if not actual:
        what = "a 'Predicted' block but no 'Actual consumption'" if blocks else "no consumption block"
        reason = f"{where}: the output log has {what}: the run ended before its first epoch or the log is cut"
        raise _RunError(
            RowIssue(row_number=(blocks[0][0] + 1) if blocks else 1, column="Actual consumption", reason=reason)
        )
    index = actual[-1][0]
    values = {m[1]: m[2] for line in lines[index + 1 : index + 6] if (m := _FIELD.match(line))}
    flags: set[str] = set()
    try:
        energy_kwh = _quantity(values.get("Energy", ""), "Energy", {"kwh": 1.0, "wh": 1e-3})
        emissions_kg = _quantity(values.get("CO2eq", ""), "CO2eq", {"g": 1e-3, "kg": 1.0})
        info = _standard(standard or output)
        duration_s = _seconds(values.get("Time", ""))
        if duration_s <= 0:
            duration_s = number(sum(info["epochs"]), "Time", positive=True)
        started_at = local_time(info["start"], "start", settings.zone)
    except CellError as exc:
        raise _RunError(cell_issue(index + 1, exc, value=values.get(exc.column, ""), where=where)) from exc
    pue = info["pue"]
    if pue is None:
        pue = DEFAULT_PUE
        flags.add("tracker_pue_assumed")
    if info["interrupted"]:
        flags.add("interrupted")
    if not standard:
        # Totals without the standard log's components and power split: a poorer copy of the run, which
        # never replaces the richer one imported from the whole log directory (emissions/services/runs.py).
        flags.add("output_log_only")
    external_id = run_key
    if not external_id:
        external_id = "derived-" + digest(info["start"], info["components"])
        flags.add("tracker_run_id_missing")
    power = info["energy_by_component"]
    measured = sum(power.values())
    share = {name: power.get(name, 0.0) / measured if measured else 0.0 for name in ("cpu", "gpu")}
    devices = info["devices"]
    if not measured and len(devices) == 1:  # no per-epoch power (output log only): one component has it all
        share[next(iter(devices)).lower()] = 1.0
    record = RunRecord(
        source=SOURCE,
        external_id=external_id[:128],
        kind=settings.kind or "training",
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=duration_s),
        duration_s=duration_s,
        energy_kwh=energy_kwh,
        cpu_energy_kwh=energy_kwh * share["cpu"],
        gpu_energy_kwh=energy_kwh * share["gpu"],
        tracker_pue=pue,
        cpu_model=", ".join(dict.fromkeys(devices.get("CPU", [])))[:200],
        cpu_count=len(devices.get("CPU", [])),
        gpu_model=", ".join(dict.fromkeys(devices.get("GPU", [])))[:200],
        gpu_count=len(devices.get("GPU", [])),
        tracker_emissions_kg_co2e=emissions_kg,
        tracker_name="carbontracker",
        tracker_version=info["version"][:50],
        flags=tuple(sorted(flags)),
    )
    return index + 1, record


def _quantity(text: str, column: str, units: dict[str, float]) -> float:
    """``"0.000237 kWh"`` → the number times its unit factor; an unexpected unit is an error."""
    value, _, unit = text.partition(" ")
    if unit.strip().lower() not in units:
        raise CellError(column, f"{text!r} is not a number followed by {' or '.join(units)}")
    return number(value, column) * units[unit.strip().lower()]


def _seconds(text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise CellError("Time", f"{text!r} is not a duration h:mm:ss")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _standard(text: str) -> dict:
    """What the standard log (or, lacking it, the output log) says about the run."""
    info = {
        "start": "",
        "version": "",
        "pue": None,
        "components": "",
        "devices": {},
        "interrupted": False,
        "epochs": [],
        "energy_by_component": {},
    }
    duration = 0.0
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match is None:
            continue
        stamp, message = match.groups()
        message = message.removeprefix("CarbonTracker: ").strip()
        info["start"] = info["start"] or stamp
        if message.startswith("carbontracker version "):
            info["version"] = message.removeprefix("carbontracker version ").strip()
        elif pue := re.search(r"multiplied by a PUE coefficient of ([\d.]+)", message):
            info["pue"] = number(pue[1], "PUE")
        elif message.startswith("The following components were found:") and not info["components"]:
            info["components"] = message
            for device_type, names in _DEVICES.findall(message.removeprefix("The following components were found:")):
                info["devices"][device_type] = [name.strip() for name in names.split(",") if name.strip()]
        elif message.startswith("Duration: "):
            duration = _seconds(message.removeprefix("Duration: ").strip())
            info["epochs"].append(duration)
        elif power := re.match(r"Average power usage \(W\) for (\w+): ([\d.eE+-]+)", message):
            component, joules = power[1].lower(), number(power[2], "Average power usage") * duration
            info["energy_by_component"][component] = info["energy_by_component"].get(component, 0.0) + joules
        elif message.startswith("Training was interrupted"):
            info["interrupted"] = True
    if not info["start"]:
        raise CellError("start", "no timestamped line in the log")
    return info
