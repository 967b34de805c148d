"""BoAmps report JSON (Boavizta AI energy report, ``boamps_report_<run_id>.json`` from CodeCarbon 3.x),
one report or a JSON array of reports; each report is one run (its "row" number is its 1-based position).

* external_id: ``header.reportId`` (CodeCarbon writes its run id there); a report without one gets an id
  derived from its measures, flagged ``tracker_run_id_missing``.
* energy: the sum of ``measures[].powerConsumption``, kWh (an older report's ``unit`` of Wh, kWh, J, kJ or
  MJ is converted; any other unit is a row error). The report has no CPU/GPU/RAM split and no CO2.
* times: ``measurementDateTime`` is naive local time (``timezone`` option). CodeCarbon writes the run's END
  there (it equals the CSV ``timestamp``), so ``ended_at`` is it and ``started_at = ended_at −
  measurementDuration``; with several measures the run spans them all.
* ``averageUtilizationGpu`` is a fraction 0–1 (×100 → gpu_utilization_pct); ``averageUtilizationCpu``
  (also 0–1) has no field on a run and is not stored.
* hardware from ``infrastructure.components`` (componentType cpu/gpu, nbComponent), country from
  ``environment.country``, project from ``header.publisher.projectName``, kind from ``task.taskStage``
  (or the ``kind`` option), tracker from ``measures[0].measurementMethod`` / ``version``.

A report from CodeCarbon describes the same run as its emissions.csv row: the loader refuses the second
of the two (see ingest.loaders) so the energy is never counted twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

from emissions.choices import RunKind
from emissions.json_depth import JsonTooDeepError, json_loads
from emissions.records import RunRecord
from ingest.parsers.csv_rows import CellError
from ingest.parsers.tracker_rows import (
    TrackerOptions,
    cell_issue,
    count,
    country_iso3,
    decode,
    digest,
    local_time,
    number,
    optional_number,
    tracker_options,
)
from ingest.records import ParsedRow, ParseError, RowIssue

SOURCE = "boamps_json"
_KWH_PER_UNIT = {
    "kwh": 1.0,
    "wh": 1e-3,
    "j": 1 / 3.6e6,
    "joule": 1 / 3.6e6,
    "kj": 1 / 3.6e3,
    "kjoule": 1 / 3.6e3,
    "mj": 1 / 3.6,
    "mjoule": 1 / 3.6,
}
_STAGES = {
    "training": RunKind.TRAINING,
    "finetuning": RunKind.FINE_TUNING,
    "fine-tuning": RunKind.FINE_TUNING,
    "inference": RunKind.INFERENCE,
    "evaluation": RunKind.EVALUATION,
}
_PROVIDERS = {"google": "gcp", "gcp": "gcp", "aws": "aws", "amazon": "aws", "azure": "azure", "microsoft": "azure"}


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """Yield one record per report, or the report's row error."""
    settings = tracker_options(options)
    try:
        document = json_loads(decode(content))
    except JsonTooDeepError as exc:
        raise ParseError(f"{exc}: not a BoAmps report (one nests about 5)") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON ({exc}): is the file truncated?") from exc
    reports = document if isinstance(document, list) else [document]
    if not reports or not all(isinstance(report, dict) and "measures" in report for report in reports):
        raise ParseError("not a BoAmps report: expected a JSON object (or array of objects) with 'measures'")
    for position, report in enumerate(reports, start=1):
        try:
            yield ParsedRow(row_number=position, record=_record(report, settings))
        except CellError as exc:
            yield cell_issue(position, exc, value=_value_at(report, exc.column), raw=json.dumps(report)[:2000])


def _record(report: dict, settings: TrackerOptions) -> RunRecord:
    header = _mapping(report, "header")
    measures = report.get("measures")
    if not isinstance(measures, list) or not measures or not all(isinstance(m, dict) for m in measures):
        raise CellError("measures", "must be a non-empty list of measures")
    energy_kwh, spans, gpu_utilizations = 0.0, [], []
    for index, measure in enumerate(measures):
        where = f"measures[{index}]"
        unit = str(measure.get("unit") or "kWh").strip().lower()
        if unit not in _KWH_PER_UNIT:
            raise CellError(f"{where}.unit", f"{unit!r} is not an energy unit (kWh, Wh, J, kJ, MJ)")
        energy_kwh += number(measure.get("powerConsumption"), f"{where}.powerConsumption") * _KWH_PER_UNIT[unit]
        duration = number(measure.get("measurementDuration"), f"{where}.measurementDuration", positive=True)
        ended_at = local_time(
            str(measure.get("measurementDateTime") or ""), f"{where}.measurementDateTime", settings.zone
        )
        spans.append((ended_at - timedelta(seconds=duration), ended_at, duration))
        gpu = optional_number(measure.get("averageUtilizationGpu"), f"{where}.averageUtilizationGpu")
        if gpu is not None:
            if gpu > 1:
                raise CellError(f"{where}.averageUtilizationGpu", f"{gpu:g} is not a fraction between 0 and 1")
            gpu_utilizations.append(gpu * 100)
    devices = {"cpu": ("", 0), "gpu": ("", 0)}
    components = _mapping(report, "infrastructure").get("components") or []
    for index, component in enumerate(components if isinstance(components, list) else []):
        kind = str(component.get("componentType", "")).lower() if isinstance(component, dict) else ""
        if kind in devices and not devices[kind][1]:
            name = str(component.get("componentName") or "")[:200]
            devices[kind] = (name, count(component.get("nbComponent"), f"infrastructure.components[{index}]"))
    report_id = str(header.get("reportId") or "").strip()[:128]
    flags = () if report_id else ("tracker_run_id_missing",)
    if not report_id:
        report_id = "derived-" + digest(json.dumps(measures, sort_keys=True))
    task = _mapping(report, "task")
    stage = str(task.get("taskStage", "")).strip().lower()
    requests = optional_number(task.get("nbRequest"), "task.nbRequest")
    infrastructure = _mapping(report, "infrastructure")
    return RunRecord(
        source=SOURCE,
        external_id=report_id,
        kind=settings.kind or _STAGES.get(stage, RunKind.TRAINING).value,
        started_at=min(span[0] for span in spans),
        ended_at=max(span[1] for span in spans),
        duration_s=max(span[2] for span in spans),
        energy_kwh=energy_kwh,
        project_name=str(_mapping(header, "publisher").get("projectName") or "")[:200],
        cpu_model=devices["cpu"][0],
        cpu_count=devices["cpu"][1],
        gpu_model=devices["gpu"][0],
        gpu_count=devices["gpu"][1],
        gpu_utilization_pct=sum(gpu_utilizations) / len(gpu_utilizations) if gpu_utilizations else None,
        country_iso3=country_iso3(str(_mapping(report, "environment").get("country") or "")),
        cloud_provider=_PROVIDERS.get(str(infrastructure.get("cloudProvider") or "").strip().lower(), ""),
        tracker_name=str(measures[0].get("measurementMethod") or "")[:50],
        tracker_version=str(measures[0].get("version") or "")[:50],
        inferences_count=int(requests) if requests else None,
        flags=flags,
    )


def _mapping(container: dict, key: str) -> dict:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _value_at(report: dict, path: str) -> object:
    """The value at ``measures[0].powerConsumption``-style ``path``, ``""`` when absent or not a scalar."""
    node: object = report
    for part in re.findall(r"[^.\[\]]+", path):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return ""
    return "" if node is None or isinstance(node, dict | list) else node
