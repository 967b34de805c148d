"""The CodeCarbon wire protocol: an unmodified ``codecarbon`` 3.x (or 2.x) client reports to GreenGuild.

Point a tracker at ``api_endpoint=http://HOST/api/codecarbon`` with ``api_key=<an ingest token>``. It
sends ``POST /runs`` (we answer 201 with ``{"id": …}``) and then ``POST /emissions`` deltas (201).
Success must be exactly 201; the client times out after 2 s and never resends a lost delta, so each
sample is stored in the request's transaction and nothing heavy happens here (the ledger is refreshed
by a Celery beat task). ``emissions_endpoint=http://HOST/api/codecarbon/http-output/<token>`` takes the
cumulative record CodeCarbon's HTTP output sends at stop/flush (it sends no auth header, hence the
token in the path). Contract: docs/codecarbon.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from emissions.json_depth import json_loads
from emissions.models import ApiToken, Run
from emissions.records import RunRecord, RunSampleRecord
from emissions.services.run_ranks import counted_components, live_run_first_rank_claim, live_run_rank_assign
from emissions.services.runs import RunOfAnotherProjectError, run_project_check, run_sample_append, run_upsert_many
from emissions.services.tokens import api_token_authenticate
from emissions.throttling import invalid_token_register
from ingest.loaders import runs_load
from ingest.parsers.tracker_rows import digest

SOURCE_LIVE = "codecarbon_api"
SOURCE_HTTP_OUTPUT = "codecarbon_http"
# A tracker's clock may drift; a timestamp further ahead than this is refused as wrong.
MAX_CLOCK_AHEAD = timedelta(days=1)


class PayloadError(ValueError):
    """A request body the server refuses (400), with the field at fault."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _error(status: int, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _body(request: HttpRequest) -> dict:
    try:
        body = json_loads(request.body)  # bounded nesting: JsonTooDeepError is a ValueError
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("body", f"not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise PayloadError("body", "expected a JSON object")
    return body


def _number(body: dict, field: str, *, required: bool = False, minimum: float | None = 0.0) -> float | None:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise PayloadError(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(field, f"{value!r} is not a number")
    if not math.isfinite(value):
        raise PayloadError(field, f"{value!r} is not a finite number")
    if minimum is not None and value < minimum:
        raise PayloadError(field, f"{value!r} is below {minimum:g}")
    return float(value)


def _timestamp(body: dict, field: str = "timestamp") -> datetime:
    """An ISO timestamp as aware UTC; naive values are taken as UTC (CodeCarbon sends an offset)."""
    value = body.get(field)
    if not isinstance(value, str):
        raise PayloadError(field, "is required (ISO 8601)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PayloadError(field, f"{value!r} is not an ISO 8601 timestamp") from exc
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment > timezone.now() + MAX_CLOCK_AHEAD:
        raise PayloadError(field, f"{value!r} is in the future")
    return moment


def _text(body: dict, field: str, limit: int = 200) -> str:
    value = body.get(field)
    return str(value)[:limit] if value not in (None, "") else ""


# Per-process caches for the hot path (a tracker posts every few seconds): a token is re-checked
# against the database at most every TOKEN_CACHE_S seconds, so a revocation takes effect within that
# time; a run's id and start never change once created, so they are kept for the process's life.
TOKEN_CACHE_S = 30.0
_token_cache: dict[str, tuple[float, ApiToken]] = {}
_run_cache: dict[tuple[int, str], tuple[int, datetime, int | None, str]] = {}
_CACHE_LIMIT = 10_000


def _token(request: HttpRequest, plaintext: str | None) -> ApiToken | JsonResponse:
    if not plaintext:
        return _error(401, "missing x-api-token header: use an ingest token created in GreenGuild")
    now = time.monotonic()
    cached = _token_cache.get(plaintext)
    if cached is not None and now - cached[0] < TOKEN_CACHE_S:
        return cached[1]
    # Looked up before any throttle: other clients' invalid tokens never refuse a valid one (a lost sample).
    token = api_token_authenticate(plaintext=plaintext, scope=ApiToken.Scope.INGEST)
    if token is None:
        _token_cache.pop(plaintext, None)
        wait_s = invalid_token_register(request, plaintext=plaintext)
        if wait_s is not None:
            response = _error(429, "too many invalid tokens from this address or with this prefix: retry later")
            response["Retry-After"] = str(math.ceil(wait_s))
            return response
        return _error(403, "invalid, revoked or read-only token")
    if len(_token_cache) >= _CACHE_LIMIT:
        _token_cache.clear()
    _token_cache[plaintext] = (now, token)
    return token


def _live_run(token: ApiToken, external_id: str) -> tuple[Run, str, bool] | None:
    """The token's project's live run with this id (id, start and rank only) and what its samples add.

    What they add (``all``, ``gpu``, ``none``: emissions/services/run_ranks.py) is cached with the run's rank
    once found; it is only a guess: ``run_sample_append`` checks the rank against the stored run and reads
    both again if it changed. The third value is True when the run was read from the database just now.
    Raises RunOfAnotherProjectError when the id is a live run of another project of the organization.
    """
    key = (token.project_id, external_id)
    looked_up = key not in _run_cache
    if looked_up:
        run = (
            Run.objects.filter(organization_id=token.organization_id, source=SOURCE_LIVE, external_id=external_id)
            .only("pk", "started_at", "flags", "project_id", "rank_of")
            .first()
        )
        if run is None:
            return None
        run_project_check(run=run, project=token.project, external_id=external_id)
        _live_run_remember(token, run.pk, external_id, run.started_at, run.rank_of_id, counted_components(run))
    pk, started_at, rank_of_id, counted = _run_cache[key]
    run = Run(pk=pk, started_at=started_at, external_id=external_id, organization_id=token.organization_id)
    run.rank_of_id = rank_of_id
    return run, counted, looked_up


def _live_run_remember(
    token: ApiToken, pk: int, external_id: str, started_at: datetime, rank_of_id: int | None, counted: str
) -> None:
    if len(_run_cache) >= _CACHE_LIMIT:
        _run_cache.clear()
    _run_cache[(token.project_id, external_id)] = (pk, started_at, rank_of_id, counted)


def run_record_from_codecarbon_run(body: dict, *, external_id: str) -> RunRecord:
    """The run a ``POST /runs`` body describes (no energy yet: samples add it)."""
    gpu_count = _number(body, "gpu_count") or 0
    cpu_count = _number(body, "cpu_count") or 0
    return RunRecord(
        source=SOURCE_LIVE,
        external_id=external_id,
        started_at=_timestamp(body),
        duration_s=0.0,
        energy_kwh=0.0,
        experiment_external_id=_text(body, "experiment_id", 64),
        cpu_model=_text(body, "cpu_model"),
        cpu_count=int(cpu_count),
        gpu_model=_text(body, "gpu_model"),
        gpu_count=int(gpu_count),
        cloud_provider=_text(body, "provider", 10).lower(),
        cloud_region=_text(body, "region", 64).lower(),
        tracker_name="codecarbon",
        tracker_version=_text(body, "codecarbon_version", 50),
        tags=(
            ("os", _text(body, "os")),
            ("tracking_mode", _text(body, "tracking_mode")),
            ("ram_total_gb", f"{_number(body, 'ram_total_size') or 0:.1f}"),
        ),
    )


def sample_record_from_codecarbon_emission(body: dict) -> RunSampleRecord:
    """The delta a ``POST /emissions`` body carries; the dedupe key digests the whole body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    energies = {name: _number(body, name) or 0.0 for name in ("cpu_energy", "gpu_energy", "ram_energy")}
    return RunSampleRecord(
        recorded_at=_timestamp(body),
        dedupe_key=hashlib.sha256(canonical.encode()).hexdigest(),
        duration_s=_number(body, "duration", required=True),
        energy_kwh=_number(body, "energy_consumed", required=True),
        cpu_energy_kwh=energies["cpu_energy"],
        gpu_energy_kwh=energies["gpu_energy"],
        ram_energy_kwh=energies["ram_energy"],
        cpu_power_w=_number(body, "cpu_power"),
        gpu_power_w=_number(body, "gpu_power"),
        ram_power_w=_number(body, "ram_power"),
        cpu_utilization_pct=_number(body, "cpu_utilization_percent"),
        gpu_utilization_pct=_number(body, "gpu_utilization_percent"),
        tracker_emissions_kg_co2e=_number(body, "emissions_sum"),
    )


def run_record_from_codecarbon_output(body: dict) -> RunRecord:
    """The cumulative record of CodeCarbon's HTTP output (the emissions.csv keys plus ``user``)."""
    ended_at = _timestamp(body)
    duration_s = _number(body, "duration", required=True)
    run_id = _text(body, "run_id", 128)
    started_at = ended_at - timedelta(seconds=duration_s)
    flags: tuple[str, ...] = ()
    if run_id.lower() in ("", "none", "null"):
        # 3.x with the API output on sends run_id None (mlco2/codecarbon#1303): an id from the run's start,
        # and the store matches it to the live run by experiment and time (emissions/services/run_matching.py).
        run_id = "derived-" + digest(_text(body, "project_name"), _text(body, "experiment_id"), f"{started_at:%FT%T}")
        flags = ("tracker_run_id_missing",)
    energies = {name: _number(body, name) or 0.0 for name in ("cpu_energy", "gpu_energy", "ram_energy")}
    return RunRecord(
        source=SOURCE_HTTP_OUTPUT,
        external_id=run_id,
        flags=flags,
        started_at=started_at,
        ended_at=ended_at,
        duration_s=duration_s,
        energy_kwh=_number(body, "energy_consumed", required=True),
        cpu_energy_kwh=energies["cpu_energy"],
        gpu_energy_kwh=energies["gpu_energy"],
        ram_energy_kwh=energies["ram_energy"],
        experiment_external_id=_text(body, "experiment_id", 64),
        tracker_pue=_number(body, "pue", minimum=1.0),
        cpu_model=_text(body, "cpu_model"),
        cpu_count=int(_number(body, "cpu_count") or 0),
        gpu_model=_text(body, "gpu_model"),
        gpu_count=int(_number(body, "gpu_count") or 0),
        gpu_utilization_pct=_number(body, "gpu_utilization_percent"),
        country_iso3=_text(body, "country_iso_code", 3).upper(),
        cloud_provider=_text(body, "cloud_provider", 10).lower(),
        cloud_region=_text(body, "cloud_region", 64).lower(),
        tracker_emissions_kg_co2e=_number(body, "emissions"),
        tracker_name="codecarbon",
        tracker_version=_text(body, "codecarbon_version", 50),
        user_name=_text(body, "user", 150),
    )


@csrf_exempt
@require_POST
def codecarbon_runs(request: HttpRequest) -> JsonResponse:
    """``POST /runs``: open a run in the token's project; 201 with the run id the client echoes back."""
    token = _token(request, request.headers.get("x-api-token"))
    if isinstance(token, JsonResponse):
        return token
    external_id = str(uuid.uuid4())
    try:
        body = _body(request)
        record = run_record_from_codecarbon_run(body, external_id=external_id)
    except PayloadError as exc:
        return _error(400, str(exc), field=exc.field)
    run_upsert_many(organization=token.organization, records=[record], project=token.project, site=token.site)
    # Another rank of the same job on the same host may have opened the job's first run already.
    live_run_rank_assign(
        run=Run.objects.get(organization=token.organization, source=SOURCE_LIVE, external_id=external_id)
    )
    return JsonResponse({"id": external_id, "experiment_id": record.experiment_external_id}, status=201)


@csrf_exempt
@require_POST
def codecarbon_emissions(request: HttpRequest) -> JsonResponse:
    """``POST /emissions``: store one delta of a run of the token's project, once."""
    token = _token(request, request.headers.get("x-api-token"))
    if isinstance(token, JsonResponse):
        return token
    try:
        body = _body(request)
        sample = sample_record_from_codecarbon_emission(body)
    except PayloadError as exc:
        return _error(400, str(exc), field=exc.field)
    try:
        live = _live_run(token, str(body.get("run_id", ""))[:128])
    except RunOfAnotherProjectError as exc:
        return _error(409, str(exc))
    if live is None:
        return _error(403, "unknown run_id for this token's project: POST /runs first")
    run, counted, looked_up = live
    # Whether a member may take its first rank's place is settled by the first try (a first rank that has
    # reported stays so): tried once per process and run, not on every sample of the hot path.
    if counted != "all" and looked_up and live_run_first_rank_claim(run=run, sample=sample):
        run.rank_of_id, counted = None, "all"  # its job's first rank never reported: this run counts it
    added = run_sample_append(run=run, sample=sample, counted=counted)
    stored = added is not None
    _live_run_remember(token, run.pk, run.external_id, run.started_at, run.rank_of_id, added or counted)
    return JsonResponse({"run_id": run.external_id, "stored": stored}, status=201)


@csrf_exempt
@require_POST
def codecarbon_http_output(request: HttpRequest, token: str) -> JsonResponse:
    """CodeCarbon's ``emissions_endpoint``: a cumulative record that replaces the run's previous one."""
    api_token = _token(request, token)
    if isinstance(api_token, JsonResponse):
        return api_token
    try:
        record = run_record_from_codecarbon_output(_body(request))
    except PayloadError as exc:
        return _error(400, str(exc), field=exc.field)
    options = {"project": api_token.project.slug, **({"site": api_token.site.slug} if api_token.site_id else {})}
    # Through the tracker loader, so a run already imported from its emissions.csv is not counted twice.
    outcome = runs_load(organization=api_token.organization, records=[record], options=options)
    if outcome.rejected:
        return _error(409, next(iter(outcome.rejected.values())))
    return JsonResponse({"run_id": record.external_id, "stored": bool(outcome.loaded)}, status=201)
