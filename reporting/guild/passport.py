"""A model passport: one model's training compute, training time, energy, emissions, water and SCI for AI
scores, every figure traceable to its runs (docs/model-passport.md; schema: ``passport.schema.json``).

- **Lineage**: the model is a project; its lineage is every run of the project (training, fine-tuning,
  hyper-parameter searches, evaluation and development runs, failed ones too: a run has no status field, so
  nothing drops it; only an id a client opened twice that holds nothing is not a run of its own,
  ``RunQuerySet.without_empty_members``), optionally those started in a period, optionally only runs tagged
  ``lineage=<value>``.
- **Provider / consumer** (GSF SCI for AI, SPEC.md §6): inference runs are the consumer boundary (runtime
  operations); every other kind is the provider boundary (data engineering, training, evaluation, integration).
- **Ledger figures** are read as ``reporting.guild.runs.run_ledger_figures`` reads them (the carbon label's
  source): per run, the newest current Calculation holding it. Electricity lines are the operational
  records carrying energy (facility kWh, both Scope 2 methods); upstream (Cat 3) lines carry none; the
  embodied share is the management view's amortized records. A run no calculation holds is ``in_ledger: false``
  with null ledger figures, never 0.
- **Training compute** per run: FLOPs the run reports (a ``REPORTED_FLOPS_TAGS`` tag), else GPU-hours ×
  datasheet peak dense FLOP/s (``gpu_perf_per_watt.csv``) × the run's mean GPU utilization, else unknown (null).
- **Water**: facility kWh × the site's WUE (litres per IT kWh) ÷ its PUE, as the overview computes it; runs
  in a cloud region or placed only on a grid zone have no WUE (null).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from django.db.models import Q, Sum

from emissions.choices import Basis, RunKind
from emissions.functional_units import run_inferences, run_tokens
from emissions.models import EmissionRecord, Project, Run
from emissions.periods import Period
from emissions.services.run_quality import COMPONENTS, ESTIMATED
from emissions.units import G_PER_KG, SECONDS_PER_HOUR
from reporting.guild.gpus import gpu_spec_for

PASSPORT_VERSION = "1"
# Run tags that report a run's training compute in FLOPs (Hugging Face Trainer logs ``total_flos``).
REPORTED_FLOPS_TAGS = ("flops", "training_flops", "total_flops", "total_flos")
# Run tags that report the trained model's parameter count.
PARAMETER_TAGS = ("parameters", "num_parameters", "n_params")
LINEAGE_TAG = "lineage"
TRAINING_KINDS = (RunKind.TRAINING, RunKind.FINE_TUNING)

METHOD_REPORTED = "reported"
METHOD_ESTIMATED = "estimated_gpu_hours_x_peak_x_utilization"
METHOD_UNKNOWN = "unknown"

FLOPS_PER_TFLOP = 1e12
# SCI for AI functional units (SPEC.md §8), with the scale the spec's own examples use.
UNIT_FLOPS = ("1e18 FLOPs", 1e18)
UNIT_TRAINING_TOKENS = ("1M training tokens", 1e6)
UNIT_PARAMETERS = ("1B parameters", 1e9)
UNIT_TOKENS = ("1M tokens", 1e6)
UNIT_INFERENCE = ("inference", 1.0)


def passport_runs(*, project: Project, period: Period | None = None, lineage: str | None = None):
    """The runs of the model's lineage: all the project's runs, optionally started in ``period`` (UTC days)
    and optionally only those tagged ``lineage=<lineage>``."""
    runs = Run.objects.filter(project=project).without_empty_members()
    if period is not None:
        first = datetime.combine(period.start, time.min, tzinfo=UTC)
        last = first + timedelta(days=(period.end - period.start).days + 1)
        runs = runs.filter(started_at__gte=first, started_at__lt=last)
    if lineage:
        runs = runs.filter(**{f"tags__{LINEAGE_TAG}": lineage})
    return runs


def run_ledger_lines(*, run_ids: list[int]) -> dict[int, dict]:
    """Per run, from the newest current Calculation holding it (``run_ledger_figures``' rule): the
    calculation id, facility ``energy_kwh`` and both Scope 2 methods' kg of its electricity lines, the kg of its
    upstream (Cat 3) lines and its ``embodied_amortized_kg_co2e``."""
    with_energy = Q(energy_kwh__isnull=False)
    rows = list(
        EmissionRecord.objects.filter(run_id__in=run_ids, calculation__superseded_by__isnull=True)
        .values("run_id", "calculation_id", "basis")
        .annotate(
            kwh=Sum("energy_kwh"),
            location_kg=Sum("emissions_kg_co2e_location", filter=with_energy),
            market_kg=Sum("emissions_kg_co2e_market", filter=with_energy),
            upstream_location_kg=Sum("emissions_kg_co2e_location", filter=~with_energy),
            upstream_market_kg=Sum("emissions_kg_co2e_market", filter=~with_energy),
            all_kg=Sum("emissions_kg_co2e_location"),
        )
        .order_by("run_id", "calculation_id")
    )
    newest: dict[int, int] = {}
    for row in rows:
        newest[row["run_id"]] = max(newest.get(row["run_id"], 0), row["calculation_id"])
    lines: dict[int, dict] = {}
    for row in rows:
        if row["calculation_id"] != newest[row["run_id"]]:
            continue
        entry = lines.setdefault(
            row["run_id"],
            {
                "calculation_id": row["calculation_id"],
                "facility_energy_kwh": 0.0,
                "electricity_location_kg_co2e": 0.0,
                "electricity_market_kg_co2e": 0.0,
                "upstream_location_kg_co2e": 0.0,
                "upstream_market_kg_co2e": 0.0,
                "embodied_amortized_kg_co2e": 0.0,
            },
        )
        if row["basis"] == Basis.OPERATIONAL:
            entry["facility_energy_kwh"] += row["kwh"] or 0.0
            entry["electricity_location_kg_co2e"] += row["location_kg"] or 0.0
            entry["electricity_market_kg_co2e"] += row["market_kg"] or 0.0
            entry["upstream_location_kg_co2e"] += row["upstream_location_kg"] or 0.0
            entry["upstream_market_kg_co2e"] += row["upstream_market_kg"] or 0.0
        elif row["basis"] == Basis.EMBODIED_AMORTIZED:
            entry["embodied_amortized_kg_co2e"] += row["all_kg"] or 0.0
    return lines


def _tag_number(tags, keys: tuple[str, ...]) -> tuple[str, float] | None:
    """The first of ``keys`` whose tag value is a positive finite number, as (key, value)."""
    if not isinstance(tags, dict):
        return None
    for key in keys:
        try:
            value = float(str(tags.get(key, "")).strip())
        except ValueError:
            continue
        if math.isfinite(value) and value > 0:
            return key, value
    return None


def run_training_compute(run: Run) -> dict:
    """The run's compute in FLOPs and how it is known: reported by the run, estimated from GPU-hours ×
    datasheet peak dense FLOP/s × the run's mean GPU utilization (an upper bound: utilization is the share of
    time the GPU was busy, not the share of its peak it reached), or unknown (``flops`` null, with the reason)."""
    reported = _tag_number(run.tags, REPORTED_FLOPS_TAGS)
    if reported is not None:
        return {"flops": reported[1], "method": METHOD_REPORTED, "source": f"run tag {reported[0]!r}"}
    unknown = {"flops": None, "method": METHOD_UNKNOWN}
    if not run.gpu_count or not run.duration_s:
        return unknown | {"source": "no FLOPs reported and no GPU time recorded"}
    spec = gpu_spec_for(run.gpu_model) if run.gpu_model else None
    if spec is None:
        return unknown | {"source": f"no FLOPs reported; GPU {run.gpu_model or 'model not reported'} has no peak"}
    if run.gpu_utilization_pct is None:
        return unknown | {"source": "no FLOPs reported; GPU utilization not recorded"}
    gpu_hours = run.gpu_hours
    peak_flops_per_s = spec.dense_tensor_tflops * FLOPS_PER_TFLOP
    utilization = run.gpu_utilization_pct / 100.0
    return {
        "flops": gpu_hours * SECONDS_PER_HOUR * peak_flops_per_s * utilization,
        "method": METHOD_ESTIMATED,
        "source": (
            f"{gpu_hours:.4g} GPU-h × {spec.dense_tensor_tflops:g} TFLOP/s peak dense ({spec.gpu_model}; "
            f"{spec.source}) × {run.gpu_utilization_pct:g}% utilization"
        ),
        "peak_flops_per_s": peak_flops_per_s,
        "utilization_pct": run.gpu_utilization_pct,
    }


def _location(run: Run) -> dict:
    site, region = run.site, run.cloud_region
    zone = None
    if site is not None:
        zone = site.zone
    elif region is not None:
        zone = region.zone
    elif run.grid_zone is not None:
        zone = run.grid_zone
    return {
        "site": site.slug if site is not None else None,
        "cloud_region": f"{region.provider} {region.region}" if region is not None else None,
        "grid_zone": zone.code if zone is not None else None,
    }


def _pue(run: Run) -> float | None:
    """The PUE the ledger applies to the run's IT energy: its site's or cloud region's; none off-site."""
    if run.site is not None:
        return run.site.pue
    if run.cloud_region is not None:
        return run.cloud_region.pue
    return None


def _run_entry(run: Run, line: dict | None) -> dict:
    components = {}
    for name in COMPONENTS:
        tier = (run.component_quality or {}).get(name, ESTIMATED)
        components[name] = {"energy_kwh": getattr(run, f"{name}_energy_kwh"), "quality": tier}
    water_l = None
    site = run.site
    if line is not None and site is not None and site.wue_l_per_kwh:
        water_l = line["facility_energy_kwh"] * site.wue_l_per_kwh / site.pue
    entry = {
        "id": run.pk,
        "external_id": run.external_id,
        "source": run.source,
        "kind": run.kind,
        "boundary": "consumer" if run.kind == RunKind.INFERENCE else "provider",
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "duration_s": run.duration_s,
        "gpu_model": run.gpu_model,
        "gpu_count": run.gpu_count,
        "gpu_hours": run.gpu_hours,
        "gpu_utilization_pct": run.gpu_utilization_pct,
        "compute": run_training_compute(run),
        "tokens": run_tokens(run.tokens_processed) or None,
        "inferences": run_inferences(run.kind, run.inferences_count) or None,
        "it_energy_kwh": run.energy_kwh,
        "components": components,
        "pue": _pue(run),
        "location": _location(run),
        "in_ledger": line is not None,
        "water_l": water_l,
    }
    ledger_keys = (
        "calculation_id",
        "facility_energy_kwh",
        "electricity_location_kg_co2e",
        "electricity_market_kg_co2e",
        "upstream_location_kg_co2e",
        "upstream_market_kg_co2e",
        "embodied_amortized_kg_co2e",
    )
    return entry | {key: (line[key] if line is not None else None) for key in ledger_keys}


def _sum(runs: list[dict], key: str) -> float:
    return sum(run[key] for run in runs if run[key] is not None)


def _energy(runs: list[dict]) -> dict:
    """IT kWh per component and quality tier, facility kWh of the runs in the ledger, the PUE(s) and locations."""
    by_component: dict[str, dict[str, float]] = {name: defaultdict(float) for name in COMPONENTS}
    for run in runs:
        for name, component in run["components"].items():
            by_component[name][component["quality"]] += component["energy_kwh"]
    it_kwh = _sum(runs, "it_energy_kwh")
    in_ledger = [run for run in runs if run["in_ledger"]]
    ledger_it_kwh = _sum(in_ledger, "it_energy_kwh")
    facility_kwh = _sum(in_ledger, "facility_energy_kwh")
    locations = sorted(
        {
            (run["location"]["grid_zone"] or "", run["location"]["site"] or "", run["location"]["cloud_region"] or "")
            for run in runs
        }
    )
    return {
        "it_energy_kwh": it_kwh,
        "components": {
            name: {"energy_kwh": sum(tiers.values()), "by_quality_kwh": dict(tiers)}
            for name, tiers in by_component.items()
        },
        # Energy a tracker reported without a component split (the IT total less cpu + gpu + ram).
        "unsplit_energy_kwh": max(it_kwh - sum(sum(t.values()) for t in by_component.values()), 0.0),
        "facility_energy_kwh": facility_kwh,
        "effective_pue": facility_kwh / ledger_it_kwh if ledger_it_kwh else None,
        "pues": sorted({run["pue"] for run in runs if run["pue"] is not None}),
        "locations": [
            {"grid_zone": zone or None, "site": site or None, "cloud_region": region or None}
            for zone, site, region in locations
        ],
    }


def _emissions(runs: list[dict]) -> dict:
    in_ledger = [run for run in runs if run["in_ledger"]]
    location = _sum(in_ledger, "electricity_location_kg_co2e")
    market = _sum(in_ledger, "electricity_market_kg_co2e")
    embodied = _sum(in_ledger, "embodied_amortized_kg_co2e")
    return {
        "electricity_location_kg_co2e": location,
        "electricity_market_kg_co2e": market,
        "upstream_location_kg_co2e": _sum(in_ledger, "upstream_location_kg_co2e"),
        "upstream_market_kg_co2e": _sum(in_ledger, "upstream_market_kg_co2e"),
        "embodied_amortized_kg_co2e": embodied,
        "embodied_share_pct": 100.0 * embodied / (location + embodied) if location + embodied else None,
        "runs_not_in_ledger": len(runs) - len(in_ledger),
        "it_energy_kwh_not_in_ledger": _sum([run for run in runs if not run["in_ledger"]], "it_energy_kwh"),
    }


def _water(runs: list[dict]) -> dict:
    covered = [run for run in runs if run["water_l"] is not None]
    return {
        "water_l": _sum(covered, "water_l"),
        "runs_covered": len(covered),
        "facility_energy_kwh_without_wue": _sum(
            [run for run in runs if run["in_ledger"] and run["water_l"] is None], "facility_energy_kwh"
        ),
    }


def _compute(runs: list[dict]) -> dict:
    by_method: dict[str, dict] = {
        method: {"runs": 0, "flops": 0.0} for method in (METHOD_REPORTED, METHOD_ESTIMATED, METHOD_UNKNOWN)
    }
    for run in runs:
        slot = by_method[run["compute"]["method"]]
        slot["runs"] += 1
        slot["flops"] += run["compute"]["flops"] or 0.0
    by_method[METHOD_UNKNOWN]["flops"] = None  # unknown is never 0
    known = [run for run in runs if run["compute"]["flops"] is not None]
    return {
        "flops": sum(run["compute"]["flops"] for run in known) if known else None,
        "runs_known": len(known),
        "runs_unknown": len(runs) - len(known),
        "by_method": by_method,
    }


def _training_time(runs: list[dict]) -> dict:
    ends = [run["ended_at"] for run in runs if run["ended_at"]]
    return {
        "run_time_s": _sum(runs, "duration_s"),
        "gpu_hours": _sum(runs, "gpu_hours"),
        "first_started_at": min((run["started_at"] for run in runs), default=None),
        "last_ended_at": max(ends, default=None),
    }


def _run_sci_kg(run: dict) -> float:
    """The run's SCI carbon: location-based electricity (E × I) plus its amortized embodied share (M)."""
    return run["electricity_location_kg_co2e"] + run["embodied_amortized_kg_co2e"]


def _score(runs: list[dict], quantity_of, unit: tuple[str, float], total_kg: float) -> dict | None:
    """SCI = C / R over the runs in the ledger whose quantity is known; None when no run knows it."""
    covered = [(run, quantity_of(run)) for run in runs if run["in_ledger"]]
    covered = [(run, quantity) for run, quantity in covered if quantity]
    if not covered:
        return None
    kg = sum(_run_sci_kg(run) for run, _ in covered)
    quantity = sum(q for _, q in covered)
    name, scale = unit
    return {
        "functional_unit": name,
        "quantity": quantity,
        "kg_co2e": kg,
        "g_co2e_per_unit": G_PER_KG * kg / (quantity / scale),
        "run_ids": [run["id"] for run, _ in covered],
        "share_of_emissions_pct": 100.0 * kg / total_kg if total_kg else None,
    }


def _parameters(runs: list[dict], tags: dict[int, dict]) -> dict | None:
    """The parameter count the newest training or fine-tuning run reports (the lineage's latest model)."""
    reporting = [
        (run, found)
        for run in runs
        if run["kind"] in TRAINING_KINDS and (found := _tag_number(tags[run["id"]], PARAMETER_TAGS))
    ]
    if not reporting:
        return None
    run, (key, value) = max(reporting, key=lambda item: (item[0]["started_at"], item[0]["id"]))
    return {"count": value, "run_id": run["id"], "source": f"run tag {key!r}"}


def _sci(provider: list[dict], consumer: list[dict], parameters: dict | None) -> dict:
    provider_kg = sum(_run_sci_kg(run) for run in provider if run["in_ledger"])
    consumer_kg = sum(_run_sci_kg(run) for run in consumer if run["in_ledger"])
    provider_scores = [
        _score(provider, lambda run: run["compute"]["flops"], UNIT_FLOPS, provider_kg),
        _score(
            provider,
            lambda run: run["tokens"] if run["kind"] in TRAINING_KINDS else None,
            UNIT_TRAINING_TOKENS,
            provider_kg,
        ),
    ]
    if parameters is not None and provider_kg:
        name, scale = UNIT_PARAMETERS
        provider_scores.append(
            {
                "functional_unit": name,
                "quantity": parameters["count"],
                "kg_co2e": provider_kg,
                "g_co2e_per_unit": G_PER_KG * provider_kg / (parameters["count"] / scale),
                "run_ids": [run["id"] for run in provider if run["in_ledger"]],
                "share_of_emissions_pct": 100.0,
            }
        )
    consumer_scores = [
        _score(consumer, lambda run: run["tokens"], UNIT_TOKENS, consumer_kg),
        _score(consumer, lambda run: run["inferences"], UNIT_INFERENCE, consumer_kg),
    ]
    return {
        "formula": "SCI = (E × I + M) / R: location-based electricity kg plus amortized embodied kg, per R",
        "provider": {"kg_co2e": provider_kg, "scores": [s for s in provider_scores if s is not None]},
        "consumer": {"kg_co2e": consumer_kg, "scores": [s for s in consumer_scores if s is not None]},
    }


def model_passport(*, project: Project, period: Period | None = None, lineage: str | None = None) -> dict:
    """The passport of the project's model as a JSON-ready dict (``passport.schema.json``); units in the keys.

    ``training`` sums the provider-boundary runs (every kind but inference), ``inference`` the consumer-boundary
    runs, ``runs`` lists every run with its contribution, so each total is the sum of its runs' entries.
    """
    runs = list(
        passport_runs(project=project, period=period, lineage=lineage)
        .select_related("site__zone", "cloud_region__zone", "grid_zone")
        .order_by("started_at", "pk")
    )
    lines = run_ledger_lines(run_ids=[run.pk for run in runs])
    entries = [_run_entry(run, lines.get(run.pk)) for run in runs]
    provider = [entry for entry in entries if entry["boundary"] == "provider"]
    consumer = [entry for entry in entries if entry["boundary"] == "consumer"]
    parameters = _parameters(provider, {run.pk: run.tags for run in runs})
    lineage_rule = "all runs of the project, whatever their kind or outcome (failed runs and searches included)"
    if lineage:
        lineage_rule += f", tagged {LINEAGE_TAG}={lineage}"
    if period is not None:
        lineage_rule += f", started {period.start}..{period.end} (UTC)"
    return {
        "passport_version": PASSPORT_VERSION,
        "model": {
            "project": project.slug,
            "name": project.name,
            "model_family": project.model_family,
            "period": period.label if period is not None else None,
            "lineage_tag": lineage or None,
            "lineage_rule": lineage_rule,
            "parameters": parameters,
            "runs": len(entries),
            "runs_by_kind": {
                kind: sum(e["kind"] == kind for e in entries) for kind in sorted({e["kind"] for e in entries})
            },
        },
        "calculations": sorted({entry["calculation_id"] for entry in entries if entry["calculation_id"] is not None}),
        "training": {
            "runs": len(provider),
            "compute": _compute(provider),
            "time": _training_time(provider),
            "energy": _energy(provider),
            "emissions": _emissions(provider),
            "water": _water(provider),
            "tokens": sum(e["tokens"] or 0 for e in provider if e["kind"] in TRAINING_KINDS) or None,
        },
        "inference": {
            "runs": len(consumer),
            "energy": _energy(consumer),
            "emissions": _emissions(consumer),
            "water": _water(consumer),
            "tokens": sum(e["tokens"] or 0 for e in consumer) or None,
            "inferences": sum(e["inferences"] or 0 for e in consumer) or None,
        },
        "sci_for_ai": _sci(provider, consumer, parameters),
        "runs": entries,
    }
