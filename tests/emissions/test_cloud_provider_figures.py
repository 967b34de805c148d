"""Provider carbon figures and billing estimates in the ledger, hand-computed (issue: cloud figures an engineer
who knows CCF would trust). Two made-up grid zones keep the arithmetic readable:

- ``XA`` location 400 gCO2e/kWh, residual mix 500 gCO2e/kWh (AWS us-east-1, Azure eastus)
- ``XB`` location 100 gCO2e/kWh, no residual mix (AWS us-west-2): market-based falls back to location, flagged
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from emissions.choices import FactorKind
from emissions.cloud_sharing import EstimateGroup, fill_unclassified
from emissions.models import CloudRegion, CloudUsage, EmissionRecord, FactorDataset, GridFactor, ProviderCarbon
from emissions.periods import period_parse
from emissions.selectors import inventory_summary
from emissions.selectors_cloud import cloud_estimates
from emissions.services.cloud_basis import basis_book
from emissions.services.ledger import inventory_calculate
from reporting.selectors.cloud import cloud_reconciliation
from tests.factories import GridZoneFactory, RunFactory, TeamFactory

AUGUST, JULY = date(2026, 8, 1), date(2026, 7, 1)


@pytest.fixture
def zones(org_a):
    dataset = FactorDataset.objects.create(name="test", version="1", title="t", source="hand", licence="CC0")
    xa, xb = GridZoneFactory(code="XA", name="Zone A"), GridZoneFactory(code="XB", name="Zone B")
    for zone, kind, value in ((xa, FactorKind.LOCATION, 400), (xa, FactorKind.RESIDUAL_MIX, 500),
                              (xb, FactorKind.LOCATION, 100)):  # fmt: skip
        GridFactor.objects.create(dataset=dataset, zone=zone, kind=kind, year=2026, intensity_g_per_kwh=value,
                                  source="hand", licence="CC0")  # fmt: skip
    for provider, region, zone in (("aws", "us-east-1", xa), ("aws", "us-west-2", xb), ("azure", "eastus", xa)):
        CloudRegion.objects.create(dataset=dataset, provider=provider, region=region, zone=zone, pue=1.0, licence="x")
    return {"XA": xa, "XB": xb}


def _line(org, key, *, provider="aws", account="111", region="us-east-1", service="AmazonEC2", kwh=0.0,
          embodied=0.0, month=AUGUST, **fields) -> CloudUsage:  # fmt: skip
    # This module's regions, not the shipped ones a test may have loaded (``reference`` lasts the module).
    cloud_region = CloudRegion.objects.get(provider=provider, region=region, dataset__name="test")
    if coefficients := fields.pop("coefficients", None):  # stored once per set, as the importers do
        book = basis_book(org)
        fields["coefficients_digest"] = book.digest(tuple(coefficients.items()))
        book.save()
    values = {
        "organization": org, "provider": provider, "billing_period": month, "line_item_key": key,
        "usage_start": datetime(month.year, month.month, 1, tzinfo=UTC),
        "usage_end": datetime(month.year, month.month, 2, tzinfo=UTC), "region": region, "cloud_region": cloud_region,
        "account_id": account, "service": service, "currency": "USD", "cost": Decimal("10"),
        "compute_energy_kwh": kwh, "pue": 1.0, "embodied_kg_co2e": embodied, "classification": "compute", **fields,
    }  # fmt: skip
    return CloudUsage.objects.create(**values)


def _provider(org, key, *, provider="aws", account="111", region="us-east-1", service="AmazonEC2", location=0.0,
              market=0.0, month=AUGUST, **fields) -> ProviderCarbon:  # fmt: skip
    return ProviderCarbon.objects.create(
        organization=org, provider=provider, account_id=account, billing_period=month, region=region,
        service=service, source_row_key=key, total_location_kg_co2e=location, total_market_kg_co2e=market, **fields,
    )  # fmt: skip


def _cloud(org, period="2026-08"):
    calculation = inventory_calculate(organization=org, period=period_parse(period))
    records = list(EmissionRecord.objects.filter(calculation=calculation, scope3_subcategory="cloud"))
    return calculation, records


def _total(records, flag=None, quality=None) -> tuple[float, float]:
    chosen = [r for r in records if (flag is None or flag in r.flags) and (quality is None or r.quality == quality)]
    return (
        pytest.approx(sum(r.emissions_kg_co2e_location for r in chosen)),
        pytest.approx(sum(r.emissions_kg_co2e_market for r in chosen)),
    )


@pytest.mark.django_db
def test_partial_coverage_and_a_region_without_provider_row(org_a, zones):
    """Defects 4, 5 and 7: AWS reports account 111's us-east-1 EC2 only (30 kg location, 12 kg market).

    - 111 us-east-1 (10 kWh, 2 kg embodied): AWS's 30 / 12 kg, plus our 2 kg embodied (CCFT v2 excludes it);
    - 111 us-west-2 (20 kWh, 1 kg embodied): AWS covers account 111 and reports nothing there → 0 (a gap);
      before, it took 3/11 of AWS's figure (shares were estimate ÷ provider-month total);
    - 222 (5 kWh, not covered): our estimate stays, 5 × 400 / 1000 = 2.0 kg location, 5 × 500 / 1000 = 2.5 market;
      before, account 111's figure replaced it.
    Cat 1: location 30 + 2 + 2.0 = 34.0 kg, market 12 + 2 + 2.5 = 16.5 kg.
    """
    _line(org_a, "a", kwh=10, embodied=2)
    _line(org_a, "b", region="us-west-2", kwh=20, embodied=1)
    _line(org_a, "c", account="222", kwh=5)
    _provider(org_a, "r1", location=30, market=12, model_version="v2.0.0")
    calculation, records = _cloud(org_a)
    assert _total(records) == (34.0, 16.5)
    assert _total(records, quality="provider_reported") == (30.0, 12.0)
    assert _total(records, flag="embodied_estimated_provider_excludes") == (2.0, 2.0)
    assert _total(records, quality="billing_estimate") == (2.0 + 2.0, 2.0 + 2.5)
    assert any("reports nothing for" in gap for gap in calculation.data_gaps)
    # Each total takes its own method: the cloud's market-based figure only in the market-based total.
    summary = inventory_summary(calculation=calculation)
    assert summary["scope_3_kg_by_category"]["1"] == pytest.approx(34.0) == summary["total_location_kg"]
    assert summary["scope_3_market_kg_by_category"]["1"] == pytest.approx(16.5) == summary["total_market_kg"]


@pytest.mark.django_db
def test_provider_figures_without_billing_lines_count_by_method(org_a, zones):
    """Defects 1 and 6: no billing line in August. AWS 100 / 40 kg, Google 50 / 20 kg, Azure 70 kg (market only,
    eastus → zone XA: location 400, residual mix 500 gCO2e/kWh). Azure's location-based figure is its market
    figure × location ÷ residual = 70 × 400 / 500 = 56.0 kg (flagged), not its market figure (70, the old value).
    Location: 100 + 50 + 56 = 206 kg; market: 40 + 20 + 70 = 130 kg. The reconciliation counts the same 206."""
    _provider(org_a, "aws", location=100, market=40, model_version="v2.0.0")
    _provider(org_a, "gcp", provider="gcp", account="p1", region="us-central1", service="Compute Engine",
              location=50, market=20, scope3_kg_co2e=5)  # fmt: skip
    _provider(org_a, "az", provider="azure", account="s1", region="eastus", service="rg/vm", location=70, market=70)
    calculation, records = _cloud(org_a)
    assert _total(records) == (206.0, 130.0)
    assert all(r.quality == "provider_reported" for r in records)
    assert _total(records, flag="location_from_provider_market_and_grid_ratio") == (56.0, 70.0)
    assert not [r for r in records if "location_equals_provider_market" in r.flags]
    # AWS's CCFT v2 figure has no Scope 3 and no billing line is there to estimate it: said, not hidden.
    assert any("excludes embodied" in gap for gap in calculation.data_gaps)
    assert not any("market-only provider figure" in gap for gap in calculation.data_gaps)
    frame = cloud_reconciliation(organization=org_a, start=AUGUST, end=AUGUST)
    assert frame["counted_location_kg_co2e"].sum() == pytest.approx(206.0)
    azure = frame[frame["provider"] == "azure"].iloc[0]
    assert azure["counted_location_kg_co2e"] == pytest.approx(56.0) and pd.isna(azure["reported_location_kg_co2e"])


@pytest.mark.django_db
def test_azure_figure_without_lines_or_grid_ratio_keeps_its_figure_with_a_gap(org_a, zones):
    """Defect 6, no ratio to derive from: Azure 30 kg in westeurope (no cloud region known here) and 40 kg in
    westus2 (zone XB: location factor 100, no residual mix). Both keep their market figure as location-based
    (flagged location_equals_provider_market), and one gap states the 30 + 40 = 70.0 kg."""
    dataset = FactorDataset.objects.get(name="test")
    CloudRegion.objects.create(
        dataset=dataset, provider="azure", region="westus2", zone=zones["XB"], pue=1.0, licence="x"
    )
    _provider(org_a, "we", provider="azure", account="s1", region="westeurope", service="rg/a", location=30, market=30)
    _provider(org_a, "w2", provider="azure", account="s1", region="westus2", service="rg/b", location=40, market=40)
    calculation, records = _cloud(org_a)
    assert _total(records) == (70.0, 70.0)
    assert _total(records, flag="location_equals_provider_market") == (70.0, 70.0)
    [gap] = [gap for gap in calculation.data_gaps if "market-only provider figure" in gap]
    assert gap.startswith(
        "2 market-only provider figure(s) without billing lines (70.0 kgCO2e; azure westeurope, azure westus2)"
    )
    frame = cloud_reconciliation(organization=org_a, start=AUGUST, end=AUGUST)
    assert frame["counted_location_kg_co2e"].sum() == pytest.approx(70.0)


@pytest.mark.django_db
def test_provider_figures_without_lines_count_beside_another_providers_bill(org_a, zones):
    """Defect 1, second case: only an AWS bill (account 999, us-east-1, 10 kWh: 10 × 400 / 1000 = 4.0 kg
    location, 10 × 500 / 1000 = 5.0 kg market, an estimate: AWS exports nothing). Google reports 50 / 20 kg and
    Azure 70 kg (market only, eastus: location 70 × 400 / 500 = 56.0 kg) with no billing line of theirs.
    All count, by method: location 4.0 + 50 + 56.0 = 110.0 kg, market 5.0 + 20 + 70 = 95.0 kg; Google's and
    Azure's records are provider_reported (50 + 56.0 = 106.0 / 20 + 70 = 90.0) and no gap names them."""
    _line(org_a, "a", account="999", kwh=10)
    _provider(
        org_a,
        "gcp",
        provider="gcp",
        account="p1",
        region="us-central1",
        service="Compute Engine",
        location=50,
        market=20,
        scope3_kg_co2e=5,
    )
    _provider(org_a, "az", provider="azure", account="s1", region="eastus", service="rg/vm", location=70, market=70)
    calculation, records = _cloud(org_a)
    assert _total(records) == (110.0, 95.0)
    assert _total(records, quality="billing_estimate") == (4.0, 5.0)
    assert _total(records, quality="provider_reported") == (106.0, 90.0)
    reported = [r for r in records if r.quality == "provider_reported"]
    assert len(reported) == 2 and all("provider_reported_without_billing_lines" in r.flags for r in reported)
    assert not any(word in gap.lower() for gap in calculation.data_gaps for word in ("gcp", "google", "azure"))


@pytest.mark.django_db
def test_azure_market_only_figure_and_its_resource_match(org_a, zones):
    """Defect 6 and 9: Azure reports 9 kg (market-based) for resource rg-a/vm1. Our lines: 10 kWh in eastus →
    location 10 × 400 / 1000 = 4.0 kg, market 10 × 500 / 1000 = 5.0 kg. The record keeps Azure's 9 kg as
    market-based and derives location-based with our ratio: 9 × 4.0 / 5.0 = 7.2 kg (flagged). The
    reconciliation matches the row to the line by resource, though the bill's service is "Virtual Machines",
    and compares by the method Azure reports: market difference 5.0 − 9.0 = −4.0 kg, variance −4.0 / 9.0 ×
    100 = −44.4 %; the location-based difference is None (Azure reports no location-based figure)."""
    vm = "/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm1"
    _line(org_a, "vm", provider="azure", account="s1", region="eastus", service="Virtual Machines", kwh=10,
          resource_id=vm)  # fmt: skip
    _provider(org_a, "az", provider="azure", account="s1", region="eastus", service="rg-a/vm1", location=9, market=9)
    _, records = _cloud(org_a)
    assert _total(records) == (7.2, 9.0)
    assert all("location_from_provider_market_and_our_factors" in r.flags for r in records)
    frame = cloud_reconciliation(organization=org_a, start=AUGUST, end=AUGUST)
    [row] = frame.to_dict("records")
    assert row["match"] == "service" and row["service"] == "Virtual Machines" and row["provider_service"] == "rg-a/vm1"
    assert row["estimated_kg_co2e"] == pytest.approx(4.0) and row["counted_location_kg_co2e"] == pytest.approx(7.2)
    assert row["market_difference_kg_co2e"] == pytest.approx(-4.0) and row["variance_basis"] == "market"
    assert row["variance_pct"] == pytest.approx(-44.444, abs=1e-3)
    assert pd.isna(row["difference_kg_co2e"])


@pytest.mark.django_db
def test_reconciliation_variance_takes_the_providers_basis(org_a, zones):
    """Defect 9: AWS reports 30 kg location / 12 kg market for account 111's us-east-1 EC2; our 10 kWh there
    are 4.0 / 5.0 kg. Location difference 4.0 − 30 = −26.0 kg, market 5.0 − 12 = −7.0 kg; AWS reports
    location-based, so the variance is −26.0 / 30 × 100 = −86.7 % (location). An uncovered account's group
    (account 222, 5 kWh: 2.0 / 2.5 kg) has no provider side: no difference, no variance."""
    _line(org_a, "a", kwh=10)
    _line(org_a, "c", account="222", kwh=5)
    _provider(org_a, "r1", location=30, market=12, model_version="v3.0.0")
    frame = cloud_reconciliation(organization=org_a, start=AUGUST, end=AUGUST).set_index("account_id")
    aws = frame.loc["111"]
    assert aws["difference_kg_co2e"] == pytest.approx(-26.0)
    assert aws["market_difference_kg_co2e"] == pytest.approx(-7.0)
    assert aws["variance_basis"] == "location" and aws["variance_pct"] == pytest.approx(-86.667, abs=1e-3)
    uncovered = frame.loc["222"]
    assert uncovered["estimated_market_kg_co2e"] == pytest.approx(2.5) and uncovered["variance_basis"] == ""
    assert pd.isna(uncovered["market_difference_kg_co2e"]) and pd.isna(uncovered["variance_pct"])


@pytest.mark.django_db
def test_cloud_page_shows_the_market_difference_and_variance(client, alice, org_a, zones):
    """Defect 9 on the Cloud page: the Azure row of the resource-match scenario shows its market difference
    (5.0 − 9.0 = −4.0 kg) and variance (−44.4 %, market)."""
    vm = "/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm1"
    _line(
        org_a, "vm", provider="azure", account="s1", region="eastus", service="Virtual Machines", kwh=10, resource_id=vm
    )
    _provider(org_a, "az", provider="azure", account="s1", region="eastus", service="rg-a/vm1", location=9, market=9)
    client.force_login(alice)
    page = client.get("/cloud/", {"period": "2026-Q3"}).content.decode()
    assert "Difference, market-based" in page
    assert '<td class="num">-4.0 kg CO2e</td><td class="num" data-variance="market">-44.4 % (market-based)</td>' in page


@pytest.mark.django_db
def test_unclassified_lines_are_in_the_reconciliation_at_the_ledgers_total(org_a, zones):
    """Defect 9: a classified 10 kWh line at USD 10 and an unclassified CloudWatch line at USD 10 (0 kWh). The
    month's ratio is 10 kWh / USD 10 = 1 kWh per USD, so the unclassified line is 10 kWh: 20 kWh × 400 / 1000 =
    8.0 kg. The reconciliation shows the unclassified group at 4.0 kg (not 0), and its estimate sum = its counted
    sum = the ledger = 8.0 kg."""
    _line(org_a, "a", kwh=10)
    _line(org_a, "u", service="AmazonCloudWatch", classification="unclassified")
    _, records = _cloud(org_a)
    assert _total(records)[0] == pytest.approx(8.0)
    frame = cloud_reconciliation(organization=org_a, start=AUGUST, end=AUGUST)
    assert frame.set_index("service").loc["AmazonCloudWatch", "estimated_kg_co2e"] == pytest.approx(4.0)
    assert frame["estimated_kg_co2e"].sum() == pytest.approx(8.0) == frame["counted_location_kg_co2e"].sum()


@pytest.mark.django_db
def test_estimates_carry_both_methods_and_never_mix(org_a, zones):
    """Defect 6: an estimate in XA (10 kWh): location 4.0 kg, market (residual mix) 5.0 kg; in XB (10 kWh):
    1.0 kg both ways, flagged market_from_location_factor. Totals: location 5.0, market 6.0."""
    _line(org_a, "a", kwh=10)
    _line(org_a, "b", region="us-west-2", kwh=10)
    _, records = _cloud(org_a)
    assert _total(records) == (5.0, 6.0)
    assert _total(records, flag="market_from_location_factor") == (1.0, 1.0)


@pytest.mark.django_db
def test_a_month_the_provider_has_not_published_is_provisional(org_a, zones):
    """Defect 7: AWS's export reaches July; August's estimate (10 kWh → 4.0 kg) is flagged provisional."""
    _provider(org_a, "july", location=1, market=1, month=JULY)
    _line(org_a, "a", kwh=10)
    calculation, records = _cloud(org_a)
    assert _total(records, flag="provider_figure_pending") == (4.0, 5.0)
    assert any("provisional" in gap for gap in calculation.data_gaps)


def test_unclassified_fill_in_does_not_depend_on_order():
    """Defect 10: g1 10 kWh for USD 10 classified + USD 5 unclassified; g2 30 kWh for USD 30 + USD 10.
    The month's ratio is (10 + 30) / (10 + 30) = 1 kWh per USD, taken before any fill-in: g1 = 10 + 5 = 15,
    g2 = 30 + 10 = 40 in either order. The old loop gave g2 30 + 10 × 45/40 = 41.25 after g1."""

    def groups():
        common = {"provider": "aws", "period": AUGUST, "account": "1", "region": "r", "zone": None, "service": "s",
                  "resource": "", "team_id": None, "project_id": None}  # fmt: skip
        return [EstimateGroup(**common, facility_kwh=10, classified_cost=10, unclassified_cost=5),
                EstimateGroup(**common, facility_kwh=30, classified_cost=30, unclassified_cost=10)]  # fmt: skip

    forward, backward = groups(), groups()[::-1]
    fill_unclassified(forward)
    fill_unclassified(backward)
    assert [g.facility_kwh for g in forward] == [15.0, 40.0] == [g.facility_kwh for g in backward[::-1]]


@pytest.mark.django_db
def test_measured_gpu_utilization_replaces_the_assumption(org_a, zones):
    """Defect 3: a GPU line of 8 × 24 = 192 GPU-hours at the assumed 50 %: A100 40GB min 45.21 W, max 400 W →
    192 × (45.21 + 0.5 × 354.79) / 1000 = 42.740160 kWh. A tracker run on that instance for 12 h on 8 GPUs
    measured 30 kWh of GPU energy. The line then counts 30 kWh measured + (192 − 96) GPU-hours idle ×
    45.21 W / 1000 = 4.34016 kWh (the cloud idle bucket, its own record): 34.34016 kWh; at 400 g/kWh
    30 × 0.4 = 12.0 kg measured and 4.34016 × 0.4 = 1.736064 kg idle, instead of 42.74016 × 0.4 = 17.096064 kg."""
    assumed_kwh = 192 * (45.21 + 0.5 * (400 - 45.21)) / 1000
    _line(org_a, "gpu", kwh=0.0, classification="gpu", gpu_energy_kwh=assumed_kwh, resource_id="i-123",
          coefficients={"gpu_hours": 192, "gpu_min_w": 45.21, "gpu_max_w": 400})  # fmt: skip
    before = _total(_cloud(org_a)[1])
    assert before == (pytest.approx(17.096064), pytest.approx(17.096064 * 500 / 400))
    region = CloudRegion.objects.get(region="us-east-1", dataset__name="test")
    RunFactory(organization=org_a, tags={"instance_id": "i-123"}, started_at=datetime(2026, 8, 1, 6, tzinfo=UTC),
               ended_at=datetime(2026, 8, 1, 18, tzinfo=UTC), duration_s=12 * 3600, gpu_count=8,
               gpu_energy_kwh=30.0, energy_kwh=31.0, cloud_region=region)  # fmt: skip
    _, records = _cloud(org_a)
    assert _total(records)[0] == pytest.approx(12.0 + 1.736064)
    assert _total(records, flag="cloud_idle_gpu")[0] == pytest.approx(1.736064)
    assert not [r for r in records if r.run_id]  # the run is inside the billing line, not counted again


@pytest.mark.django_db
def test_reconciliation_total_is_the_ledger_total(org_a, zones):
    """Defect 9: the reconciliation's counted column adds up to the ledger's cloud billing figure (scenario of
    the partial-coverage test: 34.0 kg), and its estimate column to the estimate of every line
    (6.0 + 3.0 + 2.0 = 11.0 kg)."""
    TeamFactory(organization=org_a, slug="t2")
    _line(org_a, "a", kwh=10, embodied=2)
    _line(org_a, "b", region="us-west-2", kwh=20, embodied=1)
    _line(org_a, "c", account="222", kwh=5)
    _provider(org_a, "r1", location=30, market=12, model_version="v2.0.0")
    _, records = _cloud(org_a)
    frame = cloud_reconciliation(organization=org_a, start=AUGUST, end=AUGUST)
    assert frame["counted_location_kg_co2e"].sum() == pytest.approx(34.0) == _total(records)[0]
    assert frame["estimated_kg_co2e"].sum() == pytest.approx(11.0)


@pytest.mark.django_db
def test_every_zero_energy_gpu_line_is_a_gap_with_its_cost(org_a, zones):
    """Defect 2: a line of an instance nobody knows (``p9.48xlarge``) that says "GPU" and carries 0 kWh of GPU
    energy, and a Trainium line (no citable power): each is a gap naming its count and cost (USD 10.00); the
    Trainium line once, as an accelerator without a power figure. A CPU line with 0 GPU kWh is no gap."""
    _line(org_a, "p9", instance_type="p9.48xlarge", usage_type="BoxUsage:p9.48xlarge", sku="GPU instance hour")
    _line(org_a, "trn", instance_type="trn1.32xlarge", classification="gpu", estimate_fell_back=True)
    _line(org_a, "cpu", instance_type="m5.large", kwh=1)
    calculation, _ = _cloud(org_a)
    gaps = calculation.data_gaps
    assert any("1 billing line(s) of aws p9.48xlarge (cost 10.00) look like GPU" in gap for gap in gaps)
    trainium = [gap for gap in gaps if "trn1.32xlarge" in gap]
    assert len(trainium) == 1 and "no power figure" in trainium[0] and "cost 10.00" in trainium[0]
    assert not any("m5.large" in gap for gap in gaps)


@pytest.mark.django_db
def test_a_covered_account_is_the_providers_figure_for_the_whole_account(org_a, zones):
    """Coverage: AWS's export has account 111 in August with one row, us-east-1 AmazonEC2, 30 / 12 kg (CCFT v3,
    embodied included). The account's S3 lines (us-east-1, 5 kWh: 5 × 400 / 1000 = 2.0 kg) and its us-west-2 EC2
    lines (20 kWh × 100 / 1000 = 2.0 kg) are absent from the export: they count 0, and one gap states the
    2.0 + 2.0 = 4.0 kg of estimate left out. Cat 1 = AWS's 30 / 12 kg."""
    _line(org_a, "ec2", kwh=10)
    _line(org_a, "s3", service="AmazonS3", kwh=5)
    _line(org_a, "west", region="us-west-2", kwh=20)
    _provider(org_a, "r1", location=30, market=12, model_version="v3.0.0")
    calculation, records = _cloud(org_a)
    assert _total(records) == (30.0, 12.0)
    assert all(r.quality == "provider_reported" for r in records)
    assert any(
        gap.startswith("2 billing estimate group(s) (4.0 kgCO2e estimated)") and "reports nothing for" in gap
        for gap in calculation.data_gaps
    )


@pytest.mark.django_db
def test_ccft_v3_figure_includes_embodied_so_no_estimate_is_added(org_a, zones):
    """Defect 7, the other side: a CCFT model v3.0.0 row (Scopes 1–3) 30 / 12 kg on a line of 10 kWh with 2 kg
    embodied. The figure already holds the embodied emissions: no embodied_estimated_provider_excludes record and
    no boundary gap; Cat 1 = 30 / 12 kg (not 32 / 14)."""
    _line(org_a, "a", kwh=10, embodied=2)
    _provider(org_a, "r1", location=30, market=12, model_version="v3.0.0")
    calculation, records = _cloud(org_a)
    assert _total(records) == (30.0, 12.0)
    assert not [r for r in records if "embodied_estimated_provider_excludes" in r.flags]
    assert not any("excludes embodied" in gap for gap in calculation.data_gaps)


@pytest.mark.django_db
def test_a_busy_month_counts_what_the_run_measured_and_no_idle(org_a, zones):
    """Defect 3, busy month: the 192 GPU-hour A100 line (42.74016 kWh at the assumed 50 %) is covered in full by
    one 24 h tracker run on 8 GPUs (24 × 8 = 192 GPU-hours) that measured 60 kWh. The line counts 60 kWh: 60 ×
    400 / 1000 = 24.0 kg location, 60 × 500 / 1000 = 30.0 kg market; 192 − 192 = 0 idle GPU-hours, so no idle
    record (the assumption gave 17.096064 kg, 29 % low)."""
    assumed_kwh = 192 * (45.21 + 0.5 * (400 - 45.21)) / 1000
    _line(
        org_a,
        "gpu",
        kwh=0.0,
        classification="gpu",
        gpu_energy_kwh=assumed_kwh,
        resource_id="i-123",
        coefficients={"gpu_hours": 192, "gpu_min_w": 45.21, "gpu_max_w": 400},
    )
    region = CloudRegion.objects.get(region="us-east-1", dataset__name="test")
    RunFactory(
        organization=org_a,
        tags={"instance_id": "i-123"},
        started_at=datetime(2026, 8, 1, tzinfo=UTC),
        ended_at=datetime(2026, 8, 2, tzinfo=UTC),
        duration_s=24 * 3600,
        gpu_count=8,
        gpu_energy_kwh=60.0,
        energy_kwh=61.0,
        cloud_region=region,
    )
    _, records = _cloud(org_a)
    operational = [r for r in records if not r.run_id]
    assert _total(operational) == (24.0, 30.0)
    assert not [r for r in records if "cloud_idle_gpu" in r.flags]


@pytest.mark.django_db
def test_cloud_estimates_use_the_months_residual_mix(org_a, zones):
    """Issue 16 for cloud: zone XA has a monthly residual mix, January 500 and February 100 gCO2e/kWh (besides
    the yearly 500). 10 kWh in each month: market-based 10 × 500 / 1000 + 10 × 100 / 1000 = 5.0 + 1.0 = 6.0 kg
    (the yearly figure alone gave 10.0); location-based 2 × 10 × 400 / 1000 = 8.0 kg. The reconciliation
    prices the groups the same way."""
    dataset = FactorDataset.objects.get(name="test")
    for month, value in ((1, 500), (2, 100)):
        GridFactor.objects.create(
            dataset=dataset,
            zone=zones["XA"],
            kind=FactorKind.RESIDUAL_MIX,
            year=2026,
            month=month,
            intensity_g_per_kwh=value,
            source="hand",
            licence="CC0",
        )
    january, february = date(2026, 1, 1), date(2026, 2, 1)
    _line(org_a, "jan", kwh=10, month=january)
    _line(org_a, "feb", kwh=10, month=february)
    _, records = _cloud(org_a, "2026-Q1")
    assert _total(records) == (8.0, 6.0)
    frame = cloud_reconciliation(organization=org_a, start=january, end=february)
    assert frame["estimated_market_kg_co2e"].sum() == pytest.approx(6.0)


@pytest.mark.django_db
def test_the_sample_provider_exports_without_billing_count_in_full_by_method(reference, media_root):
    """Defect 1 with the project's own samples (tests/ingest/fixtures/provider_carbon/, March 2025) and no bill:
    the inventory's cloud figure is their sum, by method, computed here from the CSVs without our parsers —
    AWS total_lbm/mbm (MTCO2e × 1000), Google's total location/market columns, Azure's resource rows
    (latestMonthEmissions, market-based only). The shipped reference data has no residual mix, so no
    location ÷ residual ratio exists for Azure's regions: its figure stands in for location too, and one gap
    states the Azure sum."""
    import csv
    from pathlib import Path

    from ingest.services import import_batch_create, import_batch_process
    from tests.factories import OrganizationFactory

    folder = Path(__file__).parents[1] / "ingest" / "fixtures" / "provider_carbon"
    rows = {name: list(csv.DictReader((folder / name).open(newline=""))) for name in
            ("aws_ccft_export.csv", "gcp_carbon_footprint.csv", "azure_carbon_emissions.csv")}  # fmt: skip
    aws = [(float(r["total_lbm_emissions_value"]) * 1000, float(r["total_mbm_emissions_value"]) * 1000)
           for r in rows["aws_ccft_export.csv"]]  # fmt: skip
    total = "carbon_footprint_total_kgCO2e"
    gcp = [(float(r[f"{total}.location_based"]), float(r[f"{total}.market_based"]))
           for r in rows["gcp_carbon_footprint.csv"]]  # fmt: skip
    azure = [float(r["latestMonthEmissions"]) for r in rows["azure_carbon_emissions.csv"]
             if r["dataType"] == "ResourceItemDetailsData"]  # fmt: skip
    location = sum(a for a, _ in aws) + sum(g for g, _ in gcp) + sum(azure)
    market = sum(m for _, m in aws) + sum(m for _, m in gcp) + sum(azure)
    org = OrganizationFactory(slug="provider-only")
    for source, name in (("aws_carbon", "aws_ccft_export.csv"), ("gcp_carbon", "gcp_carbon_footprint.csv"),
                         ("azure_carbon", "azure_carbon_emissions.csv")):  # fmt: skip
        batch = import_batch_create(
            organization=org, source=source, filename=name, content=(folder / name).read_bytes()
        )
        assert import_batch_process(batch=batch).status == "done"
    calculation, records = _cloud(org, "2025-03")
    assert _total(records) == (location, market)
    assert location > market > 0 and all(r.quality == "provider_reported" for r in records)
    assert any("excludes embodied" in gap for gap in calculation.data_gaps)  # AWS CCFT v2: no Scope 3
    assert any(
        gap.startswith(f"{len(azure)} market-only provider figure(s) without billing lines ({sum(azure):,.1f} kgCO2e;")
        for gap in calculation.data_gaps
    )


@pytest.mark.django_db
def test_a_cloud_region_without_a_grid_factor_is_a_gap_with_its_kwh(org_a, zones):
    """Issue 16 (every fallback a gap with its size): a region whose zone has no factor in 2026 (ZN) holds two
    lines of 7 and 5 kWh (PUE 1.0) and a tracker run of 3 kWh IT at PUE 1.0: one gap per region with its kWh,
    12.0 for the billing lines and 3.0 for the run, added into one line: 15.0 kWh."""
    zn = GridZoneFactory(code="ZN", name="No factor")
    CloudRegion.objects.create(
        dataset=FactorDataset.objects.get(name="test"),
        provider="aws",
        region="xx-none-1",
        zone=zn,
        pue=1.0,
        licence="x",
    )
    _line(org_a, "a", region="xx-none-1", kwh=7.0)
    _line(org_a, "b", region="xx-none-1", kwh=5.0, account="222")
    region = CloudRegion.objects.get(region="xx-none-1")
    RunFactory(
        organization=org_a,
        cloud_region=region,
        energy_kwh=3.0,
        gpu_energy_kwh=3.0,
        cpu_energy_kwh=0.0,
        ram_energy_kwh=0.0,
        started_at=datetime(2026, 9, 2, 6, tzinfo=UTC),
        ended_at=datetime(2026, 9, 2, 7, tzinfo=UTC),
    )
    calculation = inventory_calculate(organization=org_a, period=period_parse("2026-Q3"))
    gaps = [gap for gap in calculation.data_gaps if gap.startswith("no grid factor for cloud region aws xx-none-1")]
    assert gaps == ["no grid factor for cloud region aws xx-none-1: 15.0 kWh of cloud electricity not in the ledger"]


@pytest.mark.django_db
def test_azure_lines_keep_a_group_per_resource_only_when_azure_figures_name_them(org_a, zones):
    """Three Azure VMs of one subscription, region, service and owner: 10, 20 and 30 kWh in eastus (400 g/kWh,
    residual 500). With no Azure carbon figure for the month, their estimate is one group and one record of 60
    kWh: 24 kg location-based, 30 kg market-based (a million Azure lines, one resource each, made a million
    records). Once Azure reports one of them (rg-a/vm1, 9 kg market-based), the estimates come per resource
    again, so that the figure is matched to vm1 by name; the subscription is then Azure's figure (9 kg, and
    9 × 4.0 / 5.0 = 7.2 kg location-based from our ratio), as for any covered account."""
    for name, kwh in (("vm1", 10), ("vm2", 20), ("vm3", 30)):
        vm = f"/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/{name}"
        _line(org_a, name, provider="azure", account="s1", region="eastus", service="Virtual Machines", kwh=kwh,
              resource_id=vm)  # fmt: skip
    month_end = date(2026, 8, 31)
    [group] = cloud_estimates(organization=org_a, start=AUGUST, end=month_end)
    assert (group.resource, group.facility_kwh) == ("", 60.0)
    _, records = _cloud(org_a)
    assert len(records) == 1 and _total(records) == (24.0, 30.0)
    _provider(org_a, "az", provider="azure", account="s1", region="eastus", service="rg-a/vm1", location=9, market=9)
    groups = cloud_estimates(organization=org_a, start=AUGUST, end=month_end)
    assert sorted((g.resource, g.facility_kwh) for g in groups) == [("rg-a/vm1", 10.0), ("rg-a/vm2", 20.0),
                                                                    ("rg-a/vm3", 30.0)]  # fmt: skip
    _, records = _cloud(org_a)
    assert _total(records) == (7.2, 9.0)
    rows = cloud_reconciliation(organization=org_a, start=AUGUST, end=AUGUST).to_dict("records")
    [matched] = [row for row in rows if row["provider_service"] == "rg-a/vm1"]
    assert matched["estimated_kg_co2e"] == pytest.approx(4.0)  # vm1's 10 kWh, not the subscription's 60
