"""GreenGuild's native run format (``POST /api/v1/runs`` or a ``.json`` file), for any tool that is not a
known tracker: Kubernetes exporters, schedulers, scripts. Documented in docs/import-formats.md.

    {"runs": [{"external_id": "job-42", "project": "llm-pretrain", "started_at": "2025-03-01T10:00:00Z",
               "duration_s": 3600, "energy_kwh": 12.5, "gpu_energy_kwh": 11.0, "gpu_count": 8, ...}]}

Each run is one row (row number = its 1-based position in ``runs``); a run with a bad field becomes a
row error naming the field, the others load. Pure: bytes in, rows out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from emissions.choices import EfficiencyTechnique, RunKind
from emissions.json_depth import JsonTooDeepError, json_loads
from emissions.records import RunRecord
from ingest.records import ParsedRow, ParseError, RowIssue

SOURCE = "native"
MAX_RUNS = 10_000
# A clock may drift; anything further ahead than this is a wrong timestamp, not a future run.
MAX_CLOCK_AHEAD = timedelta(days=1)
MAX_DURATION_S = 366 * 24 * 3600.0  # a run longer than a year is a unit mistake
ENERGY_FIELDS = ("energy_kwh", "cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh")
# Relative tolerance when checking that the components add up to energy_kwh.
COMPONENT_TOLERANCE = 1e-6


class _FieldError(ValueError):
    def __init__(self, field: str, value, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field, value, reason


def payload_runs(content: bytes) -> list:
    """The ``runs`` list of a payload, or ParseError saying what is wrong with its shape."""
    try:
        payload = json_loads(content)
    except JsonTooDeepError as exc:
        raise ParseError(f"{exc} (a runs payload needs 3)") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("runs"), list):
        raise ParseError('expected a JSON object with a "runs" list')
    if len(payload["runs"]) > MAX_RUNS:
        raise ParseError(f"{len(payload['runs'])} runs in one payload; send at most {MAX_RUNS:,} per request")
    return payload["runs"]


def parse(content: bytes, *, options: dict | None = None) -> Iterator[ParsedRow | RowIssue]:
    """One RunRecord per item of ``runs``, or a RowIssue naming the field at fault."""
    now = datetime.now(UTC)
    for row_number, item in enumerate(payload_runs(content), start=1):
        try:
            if not isinstance(item, dict):
                raise _FieldError("run", item, "each run must be a JSON object")
            record = _record(item, now=now)
        except _FieldError as exc:
            yield RowIssue(
                row_number=row_number,
                column=exc.field,
                reason=f"{exc.field}: {exc.reason}",
                raw=json.dumps(item, default=str)[:2000],
                value=str(exc.value)[:200],
            )
            continue
        yield ParsedRow(row_number=row_number, record=record)


def _number(item: dict, field: str, *, default: float | None = None, positive: bool = False) -> float | None:
    value = item.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _FieldError(field, value, "must be a finite number")
    if value < 0 or (positive and value == 0):
        raise _FieldError(field, value, "must be positive" if positive else "must not be negative")
    return float(value)


def _moment(item: dict, field: str, *, now: datetime, required: bool) -> datetime | None:
    value = item.get(field)
    if value is None:
        if required:
            raise _FieldError(field, value, "is required (ISO 8601 with a time zone)")
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise _FieldError(field, value, "is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        raise _FieldError(field, value, "needs a time zone (e.g. 2025-03-01T10:00:00Z)")
    moment = moment.astimezone(UTC)
    if moment > now + MAX_CLOCK_AHEAD:
        raise _FieldError(field, value, "is in the future")
    return moment


def _text(item: dict, field: str, limit: int = 200) -> str:
    value = item.get(field)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise _FieldError(field, value, "must be a string")
    return str(value)[:limit]


def _record(item: dict, *, now: datetime) -> RunRecord:
    external_id = _text(item, "external_id", 128)
    if not external_id:
        raise _FieldError("external_id", item.get("external_id"), "is required (your tool's run id)")
    started_at = _moment(item, "started_at", now=now, required=True)
    ended_at = _moment(item, "ended_at", now=now, required=False)
    duration_s = _number(item, "duration_s")
    if duration_s is None:
        if ended_at is None:
            raise _FieldError("duration_s", None, "give duration_s or ended_at")
        duration_s = (ended_at - started_at).total_seconds()
    if duration_s <= 0:
        raise _FieldError("duration_s", duration_s, "must be positive")
    if duration_s > MAX_DURATION_S:
        # Also keeps started_at + duration inside the calendar (a huge value overflowed into a 500).
        raise _FieldError("duration_s", duration_s, f"must be at most {MAX_DURATION_S:,.0f} s (one year)")
    if ended_at is not None and ended_at < started_at:
        raise _FieldError("ended_at", item.get("ended_at"), "is before started_at")
    energies = {field: _number(item, field, default=0.0) for field in ENERGY_FIELDS}
    components = energies["cpu_energy_kwh"] + energies["gpu_energy_kwh"] + energies["ram_energy_kwh"]
    if item.get("energy_kwh") is None:
        energies["energy_kwh"] = components
    elif components and not math.isclose(components, energies["energy_kwh"], rel_tol=COMPONENT_TOLERANCE):
        raise _FieldError("energy_kwh", energies["energy_kwh"], f"differs from cpu+gpu+ram = {components:g}")
    kind = _text(item, "kind") or RunKind.TRAINING
    if kind not in RunKind.values:
        raise _FieldError("kind", kind, f"must be one of {', '.join(RunKind.values)}")
    techniques = item.get("efficiency_techniques") or []
    if not isinstance(techniques, list) or any(t not in EfficiencyTechnique.values for t in techniques):
        raise _FieldError(
            "efficiency_techniques", techniques, f"items must be in {', '.join(EfficiencyTechnique.values)}"
        )
    tags = item.get("tags") or {}
    if not isinstance(tags, dict):
        raise _FieldError("tags", tags, "must be an object of strings")
    pue = _number(item, "tracker_pue")
    if pue is not None and pue < 1:
        raise _FieldError("tracker_pue", pue, "a PUE is at least 1")
    return RunRecord(
        source=SOURCE,
        external_id=external_id,
        started_at=started_at,
        ended_at=ended_at or started_at + timedelta(seconds=duration_s),
        duration_s=duration_s,
        project_name=_text(item, "project", 200),
        experiment_external_id=_text(item, "experiment", 64),
        kind=kind,
        tracker_pue=pue,
        cpu_model=_text(item, "cpu_model"),
        cpu_count=int(_number(item, "cpu_count", default=0)),
        gpu_model=_text(item, "gpu_model"),
        gpu_count=int(_number(item, "gpu_count", default=0)),
        gpu_utilization_pct=_number(item, "gpu_utilization_pct"),
        cloud_provider=_text(item, "cloud_provider", 10).lower(),
        cloud_region=_text(item, "cloud_region", 64).lower(),
        tracker_emissions_kg_co2e=_number(item, "tracker_emissions_kg_co2e"),
        tracker_name=_text(item, "tool", 50),
        user_name=_text(item, "user", 150),
        tags=tuple(sorted((str(k)[:100], str(v)[:200]) for k, v in tags.items())),
        efficiency_techniques=tuple(techniques),
        tokens_processed=_int_or_none(item, "tokens_processed"),
        inferences_count=_int_or_none(item, "inferences_count"),
        **energies,
    )


def _int_or_none(item: dict, field: str) -> int | None:
    value = _number(item, field)
    return None if value is None else int(value)
