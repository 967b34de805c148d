"""One CodeCarbon CSV row (``emissions.csv`` or a task CSV, any 2.x/3.x header) read into RunRecord fields.

Columns are matched by name; absent columns take their empty value. ``timestamp`` is naive local time at
the END of the run (checked against the task CSV: each task's timestamp is the previous one plus its
duration), so ``ended_at = timestamp`` and ``started_at = ended_at − duration``. Energies are kWh and
already include the ``pue`` CodeCarbon applied (kept as ``tracker_pue``); ``emissions`` is kg CO2e.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from emissions.records import RunRecord
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import count, country_iso3, local_time, number, optional_number

REQUIRED_COLUMNS = ["timestamp", "duration", "energy_consumed"]
COMPONENTS = ("cpu_energy", "gpu_energy", "ram_energy")
TRACKER_NAME = "codecarbon"
# run_id values CodeCarbon 3.x writes when the API output owns the run id.
_MISSING_IDS = {"", "none", "null", "nan"}


@dataclass(frozen=True)
class CodeCarbonRow:
    """A readable row: ``fields`` are RunRecord keyword arguments (all but source, external_id, kind, flags)."""

    row_number: int
    where: str
    run_id: str
    tracking_mode: str
    fields: dict = field(hash=False)
    # What identifies the machine and the job beside the run id: project, experiment, OS, CPU, RAM size.
    host: tuple = ()
    flags: tuple[str, ...] = ()

    def sort_key(self, order: int) -> tuple:
        """Latest cumulative row of a run last: by end time, then duration, then file order."""
        return (self.fields["ended_at"], self.fields["duration_s"], order)


def run_id_of(row: dict[str, str]) -> str:
    """The row's run id, ``""`` when absent or written as None."""
    value = row.get("run_id", "").strip()
    return "" if value.lower() in _MISSING_IDS else value[:128]


def read_row(row: dict[str, str], *, row_number: int, zone: ZoneInfo, where: str = "") -> CodeCarbonRow:
    """Check one row and build its fields; raises CellError naming the column at fault."""
    ended_at = local_time(row.get("timestamp", ""), "timestamp", zone)
    duration_s = number(row.get("duration"), "duration", positive=True)
    components = {name: number(row.get(name), name, default=0.0, minimum=None) for name in COMPONENTS}
    energy_kwh = number(row.get("energy_consumed"), "energy_consumed", minimum=None)
    flags = []
    negative = [name for name, kwh in components.items() if kwh < 0]
    if negative:
        # CodeCarbon can write one negative component (mlco2/codecarbon#309, a counter wrap or a bad delta):
        # that component is unknown, the others are still measurements. Keep them; the run's energy is
        # their sum, and the flag says which component was dropped.
        for name in negative:
            components[name] = 0.0
        energy_kwh = sum(components.values())
        flags += ["negative_component_dropped", *(f"negative_{name}" for name in negative)]
    elif energy_kwh < 0:
        raise CellError("energy_consumed", f"{energy_kwh!r} is below 0")
    elif all(name in row for name in COMPONENTS):
        parts = sum(components.values())
        if not math.isclose(parts, energy_kwh, rel_tol=1e-4, abs_tol=1e-12):
            raise CellError(
                "energy_consumed",
                f"{energy_kwh!r} kWh is not cpu_energy + gpu_energy + ram_energy = {parts!r} kWh",
            )
    pue = optional_number(row.get("pue"), "pue")
    if pue is not None and pue < 1:
        raise CellError("pue", f"{pue:g} is below 1")
    gpu_count = count(row.get("gpu_count"), "gpu_count")
    gpu_utilization = optional_number(row.get("gpu_utilization_percent"), "gpu_utilization_percent")
    if gpu_count == 0 and components["gpu_energy"] == 0:
        gpu_utilization = None  # no GPU: CodeCarbon writes 0, which is not a utilization
    fields = {
        "started_at": ended_at - timedelta(seconds=duration_s),
        "ended_at": ended_at,
        "duration_s": duration_s,
        "energy_kwh": energy_kwh,
        "cpu_energy_kwh": components["cpu_energy"],
        "gpu_energy_kwh": components["gpu_energy"],
        "ram_energy_kwh": components["ram_energy"],
        "project_name": row.get("project_name", "")[:200],
        "experiment_external_id": row.get("experiment_id", "")[:64],
        "tracker_pue": pue,
        "cpu_model": row.get("cpu_model", "")[:200],
        "cpu_count": count(row.get("cpu_count"), "cpu_count"),
        "gpu_model": row.get("gpu_model", "")[:200],
        "gpu_count": gpu_count,
        "gpu_utilization_pct": gpu_utilization,
        "country_iso3": country_iso3(row.get("country_iso_code", "")),
        "tracker_region": "" if (row.get("cloud_region") or "").strip() else (row.get("region") or "")[:100],
        "cloud_provider": row.get("cloud_provider", "").lower()[:20],
        "cloud_region": row.get("cloud_region", "")[:100],
        "tracker_emissions_kg_co2e": optional_number(row.get("emissions"), "emissions"),
        "tracker_name": TRACKER_NAME,
        "tracker_version": row.get("codecarbon_version", "")[:50],
    }
    host = tuple(
        row.get(name, "").strip() for name in ("project_name", "experiment_id", "os", "cpu_model", "cpu_count")
    )
    return CodeCarbonRow(
        row_number=row_number,
        where=where,
        run_id=run_id_of(row),
        tracking_mode=row.get("tracking_mode", "").lower(),
        fields=fields,
        host=(*host, str(fields["cpu_count"]), _ram_gb(row.get("ram_total_size", ""))),
        flags=tuple(flags),
    )


def _ram_gb(text: str) -> str:
    """RAM size to 0.1 GB: two ranks of one host may print it with different float noise."""
    try:
        return f"{float(text):.1f}"
    except ValueError:
        return text.strip()


def record_of(
    row: CodeCarbonRow, *, source: str, external_id: str, kind: str, flags: tuple[str, ...] = ()
) -> RunRecord:
    """The RunRecord of one row; a row without a tracker run id is flagged ``tracker_run_id_missing``."""
    all_flags = {*flags, *row.flags}
    if not row.run_id:
        all_flags.add("tracker_run_id_missing")
    return RunRecord(source=source, external_id=external_id, kind=kind, flags=tuple(sorted(all_flags)), **row.fields)
