"""The model passport (reporting/guild/passport.py): ledger sums on the demo's largest model, the three ways a
run's training compute is known, the SCI for AI scores, the JSON Schema and the two downloads."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import pytest
from django.db import transaction
from django.db.models import Q, Sum
from django.test import override_settings

from emissions.choices import Basis, RunKind
from emissions.models import EmissionRecord, Project, Run
from emissions.periods import period_parse
from frontend.demo import demo_organization_seed
from reporting.guild.gpus import gpu_spec_for
from reporting.guild.passport import (
    METHOD_ESTIMATED,
    METHOD_REPORTED,
    METHOD_UNKNOWN,
    model_passport,
)
from reporting.guild.passport_markdown import passport_markdown
from reporting.guild.runs import run_ledger_figures
from tests.factories import RunFactory, SiteFactory
from tests.frontend.dashboard_data import calculation_add, record_add

SCHEMA = json.loads((Path(__file__).parents[2] / "reporting" / "guild" / "passport.schema.json").read_text())
YEAR = period_parse("2025")
TRAINING_SIDE = [RunKind.TRAINING, RunKind.FINE_TUNING, RunKind.EVALUATION, RunKind.DEVELOPMENT]


def _validate(passport: dict) -> None:
    # Through JSON, as the download serializes it (datetimes are strings already).
    jsonschema.validate(json.loads(json.dumps(passport)), SCHEMA, format_checker=jsonschema.FormatChecker())


# --- the demo's largest model ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def acme_2025(django_db_setup, django_db_blocker):
    """The demo organization with its 2025 inventory computed, rolled back after the module."""
    from emissions.services.ledger import inventory_calculate

    fast_hashing = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hashing, transaction.atomic():
        org = demo_organization_seed()
        inventory_calculate(organization=org, period=YEAR)
        yield org
        transaction.set_rollback(True)


def _largest_model(org) -> Project:
    """The project with the most training energy (training and fine-tuning runs' IT kWh)."""
    row = (
        Run.objects.for_org(org)
        .filter(kind__in=[RunKind.TRAINING, RunKind.FINE_TUNING])
        .values("project_id")
        .annotate(kwh=Sum("energy_kwh"))
        .order_by("-kwh")
        .first()
    )
    return Project.objects.get(pk=row["project_id"])


@pytest.mark.django_db
def test_the_largest_demo_models_passport_is_the_sum_of_its_runs_ledger_lines(acme_2025):
    project = _largest_model(acme_2025)
    passport = model_passport(project=project, period=YEAR)
    runs = Run.objects.filter(
        project=project,
        started_at__gte=datetime(2025, 1, 1, tzinfo=UTC),
        started_at__lt=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert passport["model"]["runs"] == runs.count() > 0
    # Only the 2025 calculation exists, so it is every run's newest current one.
    records = EmissionRecord.objects.filter(calculation__superseded_by__isnull=True, run__in=runs)
    electricity = Q(basis=Basis.OPERATIONAL, energy_kwh__isnull=False)
    for side, kinds in (("training", TRAINING_SIDE), ("inference", [RunKind.INFERENCE])):
        expected = records.filter(run__kind__in=kinds).aggregate(
            kwh=Sum("energy_kwh", filter=electricity),
            location=Sum("emissions_kg_co2e_location", filter=electricity),
            market=Sum("emissions_kg_co2e_market", filter=electricity),
            upstream=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.OPERATIONAL, energy_kwh__isnull=True)),
            embodied=Sum("emissions_kg_co2e_location", filter=Q(basis=Basis.EMBODIED_AMORTIZED)),
        )
        section = passport[side]
        assert section["runs"] == runs.filter(kind__in=kinds).count()
        assert section["energy"]["facility_energy_kwh"] == pytest.approx(expected["kwh"] or 0.0, rel=1e-9)
        emissions = section["emissions"]
        assert emissions["electricity_location_kg_co2e"] == pytest.approx(expected["location"] or 0.0, rel=1e-9)
        assert emissions["electricity_market_kg_co2e"] == pytest.approx(expected["market"] or 0.0, rel=1e-9)
        assert emissions["upstream_location_kg_co2e"] == pytest.approx(expected["upstream"] or 0.0, rel=1e-9)
        assert emissions["embodied_amortized_kg_co2e"] == pytest.approx(expected["embodied"] or 0.0, rel=1e-9)
        it_kwh = runs.filter(kind__in=kinds).aggregate(kwh=Sum("energy_kwh"))["kwh"] or 0.0
        assert section["energy"]["it_energy_kwh"] == pytest.approx(it_kwh, rel=1e-9)
    assert passport["training"]["emissions"]["electricity_location_kg_co2e"] > 0
    assert passport["training"]["energy"]["facility_energy_kwh"] > 0

    # The carbon label's per-run reading of the ledger gives the same figures.
    figures = run_ledger_figures(run_ids=list(runs.values_list("pk", flat=True)))
    assert sum(f["energy_kwh"] for f in figures.values()) == pytest.approx(
        passport["training"]["energy"]["facility_energy_kwh"] + passport["inference"]["energy"]["facility_energy_kwh"]
    )
    assert sum(f["kg_co2e"] for f in figures.values()) == pytest.approx(
        passport["training"]["emissions"]["electricity_location_kg_co2e"]
        + passport["inference"]["emissions"]["electricity_location_kg_co2e"]
    )

    # Traceable: each total is the sum of the runs' own entries, and every run is listed once.
    entries = passport["runs"]
    assert sorted(entry["id"] for entry in entries) == sorted(runs.values_list("pk", flat=True))
    provider = [entry for entry in entries if entry["boundary"] == "provider"]
    assert sum(e["facility_energy_kwh"] or 0.0 for e in provider) == pytest.approx(
        passport["training"]["energy"]["facility_energy_kwh"]
    )
    known = [e["compute"]["flops"] for e in provider if e["compute"]["flops"] is not None]
    assert passport["training"]["compute"]["flops"] == (pytest.approx(sum(known)) if known else None)
    assert passport["training"]["time"]["gpu_hours"] == pytest.approx(sum(e["gpu_hours"] for e in provider))
    # The demo's trackers report GPU model and utilization but no FLOPs: every GPU run is estimated from them.
    estimated = runs.filter(kind__in=TRAINING_SIDE, gpu_count__gt=0, gpu_utilization_pct__isnull=False)
    assert passport["training"]["compute"]["by_method"][METHOD_ESTIMATED]["runs"] == estimated.count() > 0
    for run in estimated[:20]:
        peak = gpu_spec_for(run.gpu_model).dense_tensor_tflops * 1e12
        expected_flops = run.gpu_count * run.duration_s * peak * run.gpu_utilization_pct / 100
        assert _entry(passport, run)["compute"]["flops"] == pytest.approx(expected_flops)
    _validate(passport)


# --- hand-computed passports -------------------------------------------------------------------------------


@pytest.fixture
def lineage(org_a):
    """One model's runs with ledger lines written by hand (kg and kWh below), plus a superseded calculation.

    T1 training at site lab (PUE 1.25, WUE 1.8 L/kWh IT): reports 2e18 FLOPs, 1e9 tokens, 7e9 parameters;
       120 kWh, 30 kg location / 10 kg market, 5 kg upstream, 6 kg embodied.
    T2 fine-tuning off-site: 1 A100 for 1 h at 100 % → estimated; 40 kWh, 12 / 9 kg, 2 kg embodied.
    E  evaluation, no GPU: compute unknown; 8 kWh, 4 / 4 kg.
    I  inference: 2e6 tokens, 1,000 inferences; 4 kWh, 1 / 1 kg, 0.5 kg embodied.
    N  training with reported FLOPs that no calculation holds; X another lineage's run.
    """
    project = org_a.projects.get(slug="a-project")
    site = SiteFactory(organization=org_a, slug="lab", pue=1.25, wue_l_per_kwh=1.8)
    start = datetime(2025, 2, 1, 12, tzinfo=UTC)
    tag = {"lineage": "atlas"}

    def run(external_id: str, **fields) -> Run:
        return RunFactory(organization=org_a, project=project, external_id=external_id, started_at=start, **fields)

    runs = {
        "T1": run("t1", site=site, tags={**tag, "total_flos": "2e18", "parameters": "7e9"}, tokens_processed=10**9),
        "T2": run(
            "t2", kind=RunKind.FINE_TUNING, tags=tag, gpu_model="NVIDIA A100-SXM4-40GB", gpu_count=1,
            duration_s=3600.0, gpu_utilization_pct=100.0,
        ),
        "E": run("e", kind=RunKind.EVALUATION, tags=tag, gpu_count=0),
        "I": run("i", kind=RunKind.INFERENCE, tags=tag, tokens_processed=2 * 10**6, inferences_count=1000),
        "N": run("n", tags={**tag, "flops": "5e18"}),
        "X": run("x", tags={"lineage": "other"}),
    }  # fmt: skip
    period = (date(2025, 1, 1), date(2025, 3, 31))
    old = calculation_add(org_a, period)
    calc = calculation_add(org_a, period)
    old.superseded_by = calc
    old.save(update_fields=["superseded_by"])
    day = {"start": date(2025, 2, 1), "project": project}
    record_add(old, location=999.0, energy_kwh=999.0, run=runs["T1"], **day)  # superseded: never read
    for name, kwh, location, market, embodied in [
        ("T1", 120.0, 30.0, 10.0, 6.0),
        ("T2", 40.0, 12.0, 9.0, 2.0),
        ("E", 8.0, 4.0, 4.0, 0.0),
        ("I", 4.0, 1.0, 1.0, 0.5),
        ("X", 50.0, 50.0, 50.0, 0.0),
    ]:
        record_add(calc, location=location, market=market, energy_kwh=kwh, run=runs[name], **day)
        if embodied:
            record_add(calc, location=embodied, scope=3, scope3_category=2, basis=Basis.EMBODIED_AMORTIZED,
                       run=runs[name], **day)  # fmt: skip
    record_add(calc, location=5.0, scope=3, scope3_category=3, run=runs["T1"], **day)  # upstream: no energy
    return project, runs, calc


def _entry(passport: dict, run: Run) -> dict:
    return next(entry for entry in passport["runs"] if entry["id"] == run.pk)


@pytest.mark.django_db
def test_training_compute_reported_flops_are_taken_as_reported(lineage):
    project, runs, _ = lineage
    passport = model_passport(project=project, lineage="atlas")
    compute = _entry(passport, runs["T1"])["compute"]
    assert (compute["flops"], compute["method"]) == (2e18, METHOD_REPORTED)
    assert "total_flos" in compute["source"]


@pytest.mark.django_db
def test_training_compute_is_estimated_from_gpu_hours_peak_and_utilization(lineage):
    project, runs, _ = lineage
    passport = model_passport(project=project, lineage="atlas")
    compute = _entry(passport, runs["T2"])["compute"]
    # 1 GPU × 1 h = 3,600 GPU-seconds × A100 SXM4 312 TFLOP/s BF16 dense × 100 % utilization.
    assert compute["method"] == METHOD_ESTIMATED
    assert compute["flops"] == pytest.approx(3600 * 312e12 * 1.0)
    assert compute["peak_flops_per_s"] == 312e12
    assert "A100" in compute["source"]


@pytest.mark.django_db
def test_training_compute_half_utilization_halves_the_estimate(org_a):
    run = RunFactory(organization=org_a, gpu_model="NVIDIA H100 80GB HBM3", gpu_count=8, duration_s=1800.0,
                     gpu_utilization_pct=40.0)  # fmt: skip
    passport = model_passport(project=run.project)
    # 8 GPUs × 0.5 h = 4 GPU-h × 3,600 s × H100 SXM 989 TFLOP/s × 0.40.
    assert _entry(passport, run)["compute"]["flops"] == pytest.approx(4 * 3600 * 989e12 * 0.40)


@pytest.mark.django_db
def test_training_compute_without_flops_or_gpu_facts_is_unknown_never_zero(lineage, org_a):
    project, runs, _ = lineage
    no_utilization = RunFactory(organization=org_a, project=project, gpu_model="NVIDIA A100", tags={"lineage": "atlas"})
    passport = model_passport(project=project, lineage="atlas")
    for run in (runs["E"], no_utilization):
        compute = _entry(passport, run)["compute"]
        assert (compute["flops"], compute["method"]) == (None, METHOD_UNKNOWN)
    compute = passport["training"]["compute"]
    # T1 reported 2e18, N reported 5e18 (not in the ledger, but its compute is known), T2 estimated.
    assert compute["flops"] == pytest.approx(2e18 + 5e18 + 3600 * 312e12)
    assert compute["by_method"][METHOD_UNKNOWN] == {"runs": 2, "flops": None}
    assert compute["by_method"][METHOD_REPORTED]["runs"] == 2
    assert (compute["runs_known"], compute["runs_unknown"]) == (3, 2)


@pytest.mark.django_db
def test_lineage_energy_emissions_and_water_by_hand(lineage):
    project, runs, calc = lineage
    passport = model_passport(project=project, lineage="atlas")
    assert passport["model"]["runs"] == 5  # X is another lineage's
    assert passport["calculations"] == [calc.pk]  # the superseded calculation is never read
    training = passport["training"]
    assert training["energy"]["facility_energy_kwh"] == pytest.approx(120 + 40 + 8)
    emissions = training["emissions"]
    assert emissions["electricity_location_kg_co2e"] == pytest.approx(30 + 12 + 4)
    assert emissions["electricity_market_kg_co2e"] == pytest.approx(10 + 9 + 4)
    assert emissions["upstream_location_kg_co2e"] == pytest.approx(5)
    assert emissions["embodied_amortized_kg_co2e"] == pytest.approx(6 + 2)
    assert emissions["embodied_share_pct"] == pytest.approx(100 * 8 / (46 + 8))
    assert emissions["runs_not_in_ledger"] == 1 and _entry(passport, runs["N"])["facility_energy_kwh"] is None
    # Water: T1's 120 facility kWh at lab × 1.8 L per IT kWh ÷ PUE 1.25; T2 and E have no site WUE.
    assert training["water"]["water_l"] == pytest.approx(120 * 1.8 / 1.25)
    assert training["water"]["facility_energy_kwh_without_wue"] == pytest.approx(40 + 8)
    # The factory's component split: GPU measured 8 kWh, CPU and RAM estimated, per run of the provider side.
    assert training["energy"]["components"]["gpu"]["by_quality_kwh"] == {"measured": pytest.approx(8.0 * 4)}
    assert training["energy"]["pues"] == [1.25]
    assert passport["inference"]["emissions"]["electricity_location_kg_co2e"] == pytest.approx(1.0)
    assert passport["model"]["parameters"]["count"] == 7e9


@pytest.mark.django_db
def test_sci_for_ai_provider_and_consumer_scores_by_hand(lineage):
    project, runs, _ = lineage
    sci = model_passport(project=project, lineage="atlas")["sci_for_ai"]
    # Provider carbon: location-based electricity + amortized embodied of T1, T2 and E (N has no ledger line).
    provider_kg = (30 + 6) + (12 + 2) + 4
    assert sci["provider"]["kg_co2e"] == pytest.approx(provider_kg)
    scores = {score["functional_unit"]: score for score in sci["provider"]["scores"]}
    # Per 1e18 FLOPs over the runs whose compute is known: T1 (36 kg, 2e18) and T2 (14 kg, 1.1232e18).
    flops = 2e18 + 3600 * 312e12
    assert scores["1e18 FLOPs"]["g_co2e_per_unit"] == pytest.approx(1000 * (36 + 14) / (flops / 1e18))
    assert sorted(scores["1e18 FLOPs"]["run_ids"]) == sorted([runs["T1"].pk, runs["T2"].pk])
    assert scores["1e18 FLOPs"]["share_of_emissions_pct"] == pytest.approx(100 * 50 / provider_kg)
    # Per 1M training tokens: T1 only, 36 kg over 1,000 M tokens.
    assert scores["1M training tokens"]["g_co2e_per_unit"] == pytest.approx(36_000 / 1000)
    # Per 1B parameters: all provider carbon over 7 B parameters.
    assert scores["1B parameters"]["g_co2e_per_unit"] == pytest.approx(1000 * provider_kg / 7)
    consumer = {score["functional_unit"]: score for score in sci["consumer"]["scores"]}
    # I: 1 kg + 0.5 kg embodied over 2 M tokens and over 1,000 inferences.
    assert consumer["1M tokens"]["g_co2e_per_unit"] == pytest.approx(1500 / 2)
    assert consumer["inference"]["g_co2e_per_unit"] == pytest.approx(1500 / 1000)


@pytest.mark.django_db
def test_a_model_without_functional_units_has_no_scores_not_zero_ones(org_a):
    run = RunFactory(organization=org_a, gpu_count=0)
    sci = model_passport(project=run.project)["sci_for_ai"]
    assert sci["provider"]["scores"] == [] and sci["consumer"]["scores"] == []


# --- schema and downloads ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_passport_validates_against_its_schema_and_the_schema_rejects_a_zero_for_unknown(lineage):
    project, _, _ = lineage
    passport = model_passport(project=project, lineage="atlas")
    _validate(passport)
    broken = json.loads(json.dumps(passport))
    unknown = next(entry for entry in broken["runs"] if entry["compute"]["method"] == METHOD_UNKNOWN)
    unknown["compute"]["flops"] = 0.0
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


@pytest.mark.django_db
def test_the_json_and_markdown_downloads(client, lineage, alice):
    project, runs, _ = lineage
    client.force_login(alice)
    response = client.get(f"/projects/{project.slug}/passport.json?lineage=atlas&period=2025-Q1")
    assert response.status_code == 200
    body = response.json()
    _validate(body)
    assert body["model"]["period"] == "2025-Q1" and body["model"]["runs"] == 5
    markdown = client.get(f"/projects/{project.slug}/passport.md?lineage=atlas").content.decode()
    assert markdown == passport_markdown(model_passport(project=project, lineage="atlas"))
    assert "Annex XI 1.2(d)" in markdown and "Annex XI 1.2(e)" in markdown
    assert f"| {runs['T2'].pk} (t2) | fine_tuning |" in markdown
    assert client.get(f"/projects/{project.slug}/passport.json?period=nonsense").status_code == 404
    page = client.get(f"/projects/{project.slug}/").content.decode()
    assert (
        f'href="/projects/{project.slug}/passport.json"' in page
        and f'href="/projects/{project.slug}/passport.md"' in page
    )
