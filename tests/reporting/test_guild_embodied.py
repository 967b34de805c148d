"""Issue 24, findings 3 and 7 (embodied parts): the quality of a buyer's own product footprint, embodied charged
only from the in-service date, capital goods in the budgets of the team whose hardware it is, and the
leaderboard's caption naming the view each metric is computed on.

The organization is set by hand: one site (DE, no grid factor, so no operational emissions muddle the
embodied figures), GPU R in the catalogue at 100 kg per GPU, 5-year life (1,826.25 days), period 2026-Q3.
- ``own``: 4 GPUs at the supplier's 200 kg each (800 kg), acquired 2026-07-01, in service 2026-08-01, Echo's.
- ``cat``: 2 GPUs at the catalogue's 100 kg (200 kg), in service since 2026-01-01, nobody's.
- Echo's runs: 4 GPUs × 2 h = 8 GPU-hours on 2026-07-15 and on 2026-08-15.
"""

from datetime import UTC, date, datetime

import pytest
import yaml

from emissions.choices import Basis, QualityTier
from emissions.models import CloudRegion, EmissionRecord, FactorDataset, HardwareAsset
from emissions.periods import period_parse
from emissions.records import HardwareAssetRecord
from emissions.services.inventory import hardware_asset_upsert_many
from emissions.services.ledger import inventory_calculate
from ingest.parsers import hardware_assets
from reporting.guild.budgets import budget_status
from reporting.guild.label import carbon_label
from reporting.guild.leaderboard import leaderboard
from reporting.models import CarbonBudget
from reporting.rollups import rollup_refresh
from tests.factories import GpuModelFactory, GridZoneFactory, ProjectFactory, RunFactory, SiteFactory, TeamFactory

Q3 = period_parse("2026-Q3")
LIFE_DAYS = 5 * 365.25


@pytest.fixture
def fleet(org_a):
    site = SiteFactory(organization=org_a, zone=GridZoneFactory(code="DE"), slug="lab")
    echo = TeamFactory(organization=org_a, slug="echo", name="Echo")
    gpu = GpuModelFactory(embodied_low_kg_co2e=80, embodied_high_kg_co2e=120)
    HardwareAsset.objects.create(
        organization=org_a,
        site=site,
        asset_id="own",
        hardware_model=gpu,
        quantity=4,
        lifetime_years=5,
        acquired_on=date(2026, 7, 1),
        in_service_on=date(2026, 8, 1),
        embodied_kg_co2e_per_unit=200,
        team=echo,
    )
    HardwareAsset.objects.create(
        organization=org_a,
        site=site,
        asset_id="cat",
        hardware_model=gpu,
        quantity=2,
        lifetime_years=5,
        acquired_on=date(2026, 1, 1),
        in_service_on=date(2026, 1, 1),
    )
    project = ProjectFactory(organization=org_a, team=echo, slug="echo-llm")
    runs = [
        RunFactory(
            organization=org_a,
            project=project,
            site=site,
            gpu_count=4,
            duration_s=7200.0,
            started_at=datetime(2026, month, 15, 8, tzinfo=UTC),
            ended_at=datetime(2026, month, 15, 10, tzinfo=UTC),
        )
        for month in (7, 8)
    ]
    inventory_calculate(organization=org_a, period=Q3)
    rollup_refresh(organization=org_a)
    return org_a, echo, runs


@pytest.mark.django_db
def test_a_buyers_own_footprint_is_supplier_specific_in_every_view(fleet):
    """Finding 3: the 800 kg of ``own`` were ``provider_reported`` at acquisition and ``default`` once amortized."""
    org, _, _ = fleet
    records = EmissionRecord.objects.filter(organization=org, activity_kind="hardware_asset")
    capital = records.get(basis=Basis.CAPITAL_GOODS)
    assert (capital.emissions_kg_co2e_location, capital.quality) == (800.0, QualityTier.SUPPLIER_SPECIFIC)
    amortized = EmissionRecord.objects.filter(organization=org, basis=Basis.EMBODIED_AMORTIZED)
    by_quality = {
        tier: sum(r.emissions_kg_co2e_location for r in amortized.filter(quality=tier))
        for tier in (QualityTier.SUPPLIER_SPECIFIC, QualityTier.DEFAULT)
    }
    # own: 800 × 61 days (1 Aug – 30 Sep) / 1,826.25 = 26.721424 kg; cat: 200 × 92 / 1,826.25 = 10.075291 kg.
    assert by_quality[QualityTier.SUPPLIER_SPECIFIC] == pytest.approx(800 * 61 / LIFE_DAYS)
    assert by_quality[QualityTier.SUPPLIER_SPECIFIC] == pytest.approx(26.721424, abs=1e-6)
    assert by_quality[QualityTier.DEFAULT] == pytest.approx(10.075291, abs=1e-6)


@pytest.mark.django_db
def test_embodied_is_charged_to_runs_only_from_the_in_service_date(fleet):
    """Finding 7: the July run used no ``own`` GPU (in service from 1 August) but carried a share of their
    amortization. Spans: 1–31 July (``cat`` only), 1 August – 30 September (both).
    July run: cat's July amortization 200 × 31 / 1,826.25 = 3.394935 kg × 8 / (2 GPUs × 31 d × 24 h = 1,488)
    = 0.018252 kg, default; nothing supplier-specific (old: 26.721424 × 8 / 5,856 = 0.036504 kg of it).
    August run: own 26.721424 × 8 / (6 × 61 × 24 = 8,784) = 0.024337 kg supplier-specific and cat's
    200 × 61 / 1,826.25 = 6.680356 × 8 / 8,784 = 0.006084 kg default."""
    _, _, (july, august) = fleet
    amortized = EmissionRecord.objects.filter(basis=Basis.EMBODIED_AMORTIZED)

    def kg(run, tier):
        return sum(r.emissions_kg_co2e_location for r in amortized.filter(run=run, quality=tier))

    assert kg(july, QualityTier.SUPPLIER_SPECIFIC) == 0.0
    assert kg(july, QualityTier.DEFAULT) == pytest.approx(200 * 31 / LIFE_DAYS * 8 / 1488)
    assert kg(july, QualityTier.DEFAULT) == pytest.approx(0.018252, abs=1e-6)
    assert kg(august, QualityTier.SUPPLIER_SPECIFIC) == pytest.approx(0.024337, abs=1e-6)
    assert kg(august, QualityTier.DEFAULT) == pytest.approx(0.006084, abs=1e-6)
    # Nothing lost: runs + idle = the period's amortization of both assets.
    assert sum(r.emissions_kg_co2e_location for r in amortized) == pytest.approx((800 * 61 + 200 * 92) / LIFE_DAYS)
    idle = amortized.filter(run__isnull=True).order_by("period_start", "quality")
    assert [(r.period_start, r.period_end) for r in idle] == [
        (date(2026, 7, 1), date(2026, 7, 31)),
        (date(2026, 8, 1), date(2026, 9, 30)),
        (date(2026, 8, 1), date(2026, 9, 30)),
    ]


@pytest.mark.django_db
def test_capital_goods_count_in_the_budget_of_the_team_whose_hardware_it_is(fleet):
    """Finding 7: budgets are on the inventory view (operational + capital goods), but capital goods never carried
    a team: Echo's 1,000 kg budget showed 0 kg used. Now its 800 kg of GPUs bought in July count: 80 %."""
    org, echo, _ = fleet
    budget = CarbonBudget.objects.create(
        organization=org, team=echo, period_start=Q3.start, period_end=Q3.end, budget_kg_co2e=1000
    )
    status = budget_status(budget=budget, today=date(2026, 10, 1))
    assert status.used_kg_co2e == pytest.approx(800.0)
    assert status.used_kg_co2e / budget.budget_kg_co2e == pytest.approx(0.8)


@pytest.mark.django_db
def test_the_leaderboard_shows_the_embodied_quality_apart(fleet):
    """Finding 3: Echo's embodied (management view) is 0.018252 + 0.024337 + 0.006084 = 0.048673 kg, of which
    0.024337 kg supplier-specific: 50.0 %. Its runs' 20 kWh have no grid factor (none loaded for DE): no
    operational emissions, no measured/estimated share, and the row is unranked with the reason."""
    org, _, _ = fleet
    row = leaderboard(organization=org, period=Q3, metric="absolute", entity="team", today=date(2026, 10, 1))
    echo = row.set_index("name").loc["Echo"]
    assert echo["emissions_t_co2e_location"] == pytest.approx(0.048673e-3, abs=1e-9)
    assert echo["value"] is None and echo["note"] == "2 run(s), 20.000 kWh not counted (100 %)"
    assert echo["embodied_share_pct"] == pytest.approx(100.0)
    assert echo["embodied_supplier_specific_pct"] == pytest.approx(100 * 0.024337 / 0.048673, abs=0.01)
    assert echo["estimated_share_pct"] is None or echo["estimated_share_pct"] != echo["estimated_share_pct"]


@pytest.mark.django_db
def test_the_fleet_register_names_whose_hardware_it_is(org_a):
    SiteFactory(organization=org_a, slug="lab")
    GpuModelFactory()
    csv = (
        b"asset_id,site,hardware_model,quantity,acquired_on,in_service_on,team\n"
        b"x1,lab,GPU R,1,2026-01-01,2026-01-01,A Team\n"
        b"x2,lab,GPU R,1,2026-01-01,2026-01-01,nobody\n"
        b"x3,lab,GPU R,1,2026-01-01,2026-01-01,\n"
    )
    records: list[HardwareAssetRecord] = [row.record for row in hardware_assets.parse(csv)]
    outcome = hardware_asset_upsert_many(organization=org_a, records=records)
    assert {a.asset_id: a.team.slug if a.team else None for a in HardwareAsset.objects.all()} == {
        "x1": "a-team",
        "x3": None,
    }
    assert outcome.loaded == 2 and "unknown team 'nobody'" in outcome.rejected[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("metric", "words"),
    [
        ("absolute", "management view (operational + amortized embodied + write-offs), location-based"),
        ("per_1m_tokens", "operational emissions (electricity and its upstream, no embodied), location-based"),
        ("per_1k_inferences", "report inferences (inference runs only)"),
        ("budget_adherence", "each budget on its own basis (inventory view"),
    ],
)
def test_the_leaderboard_says_which_view_each_metric_uses(client, alice, metric, words):
    """Finding 7: the caption named the management view for every metric; per-unit metrics use operational only."""
    client.force_login(alice)
    page = client.get(f"/leaderboard/?period=2026-Q3&entity=team&metric={metric}").content.decode()
    assert words in page


@pytest.mark.django_db
def test_a_cloud_gpu_run_carries_an_embodied_share_like_an_on_prem_run(org_a):
    """Finding 7: cloud tracker runs carried no embodied share while on-prem runs did. A cloud run on 4 GPUs for
    2 h (8 GPU-hours) of a GPU model the catalogue does not know: the generic card 150 kg + the generic 8-GPU node
    2,500 kg ÷ 8 = 462.5 kg per GPU over 4 years × 8,760 h = 0.013199 kg per GPU-hour → 0.105594 kg, management
    view (amortized), Scope 3 Cat 1 "cloud", quality default. A CPU-only cloud run carries none (as on-prem)."""
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    region = CloudRegion.objects.create(
        dataset=dataset, provider="aws", region="eu-central-1", zone=GridZoneFactory(code="DE"), pue=1.2, licence="t"
    )
    gpu_run, cpu_run = (
        RunFactory(
            organization=org_a,
            cloud_region=region,
            gpu_count=gpus,
            duration_s=7200.0,
            started_at=datetime(2026, 8, 3, 8, tzinfo=UTC),
            ended_at=datetime(2026, 8, 3, 10, tzinfo=UTC),
        )
        for gpus in (4, 0)
    )
    inventory_calculate(organization=org_a, period=Q3)
    embodied = EmissionRecord.objects.filter(basis=Basis.EMBODIED_AMORTIZED)
    record = embodied.get()
    assert record.run_id == gpu_run.pk and (record.scope, record.scope3_category) == (3, 1)
    assert record.scope3_subcategory == "cloud" and record.quality == QualityTier.DEFAULT
    assert record.emissions_kg_co2e_location == pytest.approx(8 * (150 + 2500 / 8) / (4 * 8760))
    assert record.emissions_kg_co2e_location == pytest.approx(0.105594, abs=1e-6)
    assert not embodied.filter(run=cpu_run).exists()


@pytest.mark.django_db
def test_the_labels_training_figure_includes_the_electricitys_upstream_and_states_its_span(small_org, client, alice):
    """Finding 7: the label's training figure left out the electricity's upstream (Scope 3 Cat 3), which the
    inventory counts. Hand-set (tests/reporting/conftest.py, zone DE: location 300, upstream 50, T&D 20 g/kWh):
    a training run at ``lab`` (PUE 1.25) of 100 kWh IT in 2025-Q1 → 125 kWh facility: Scope 2 37.5 kg, Cat 3b
    6.25 kg, Cat 3c 2.5 kg; the cloud training run (aws eu-central-1, PUE 1.2, 100 kWh IT): 120 kWh × 300 g =
    36 kg Cat 1 (no upstream factor is applied to cloud electricity). Training = 37.5 + 6.25 + 2.5 + 36 = 82.25 kg,
    of which 8.75 kg upstream (the old label: 73.5 kg)."""
    project = small_org.projects.get(slug="a-project")
    lab = small_org.sites.get(slug="lab")
    RunFactory(
        organization=small_org,
        project=project,
        site=lab,
        energy_kwh=100.0,
        gpu_energy_kwh=90.0,
        cpu_energy_kwh=8.0,
        ram_energy_kwh=2.0,
        external_id="lab-1",
        started_at=datetime(2025, 2, 10, 8, tzinfo=UTC),
        ended_at=datetime(2025, 2, 10, 10, tzinfo=UTC),
    )
    q1 = period_parse("2025-Q1")
    inventory_calculate(organization=small_org, period=q1)
    label = carbon_label(project=project, period=q1)
    assert label["training_kg_co2e"] == pytest.approx(82.25)
    assert label["training_upstream_kg_co2e"] == pytest.approx(8.75)
    assert (label["span"], label["method"]) == ("2025-01-01..2025-03-31", "management view, location-based")
    client.force_login(alice)
    svg = client.get("/projects/a-project/label.svg?period=2025-Q1").content.decode()
    assert "Training incl. upstream" in svg and "82.25 kgCO2e" in svg
    assert "2025-01-01..2025-03-31 · management view, location-based" in svg
    card = yaml.safe_load(client.get("/projects/a-project/label.yaml?period=2025-Q1").content)["co2_eq_emissions"]
    assert "includes 8750.0 g upstream of the electricity (Scope 3 Cat 3)" in card["source"]
    # Places of several runs are kept apart: a place itself holds a comma (zone, cloud region).
    assert card["geographical_location"] == "Germany (DE); Germany (DE), aws eu-central-1"


@pytest.mark.django_db
def test_the_budgets_page_says_which_view_method_and_span_it_charges(client, alice):
    client.force_login(alice)
    page = client.get("/budgets/?period=2026-Q3").content.decode()
    assert "inventory-view emissions (operational + capital goods of the hardware the fleet register names" in page
    assert "on their own Scope 2 basis (location- or market-based, shown on each budget)" in page
    assert "from the budget's first day through today" in page
