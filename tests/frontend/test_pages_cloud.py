"""The cloud page: spend vs emissions, estimate vs provider-reported, unallocated share and tag coverage."""

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from emissions.models import CloudUsage, ProviderCarbon
from emissions.periods import period_parse
from emissions.services.cloud_basis import cloud_tag_set_store
from reporting.selectors.cloud import cloud_dashboard

AUGUST = date(2026, 8, 1)
UNCLAIMED = "the provider covers this account and month but reports nothing for this region or service"


def _line(org, key: str, **fields) -> CloudUsage:
    values = {"organization": org, "provider": "aws", "billing_period": AUGUST, "line_item_key": key,
              "usage_start": datetime(2026, 8, 1, tzinfo=UTC), "usage_end": datetime(2026, 8, 31, tzinfo=UTC),
              "region": "us-east-1", "account_id": "111", "currency": "USD", **fields}  # fmt: skip
    return CloudUsage.objects.create(**values)


@pytest.fixture
def bills(org_a):
    """August: a tagged EC2 line (USD 300, 10 kWh × PUE 1.1, 2 kg embodied) and an untagged S3 line
    (USD 100, 1 kg embodied); AWS reports 3 kg (location) / 2.5 kg (market) for the EC2 line."""
    _line(org_a, "ec2", service="AmazonEC2", cost=Decimal("300"), compute_energy_kwh=10.0, pue=1.1,
          embodied_kg_co2e=2.0, tags_digest=cloud_tag_set_store(org_a, {"team": "data"}),
          allocation_basis="resource_tag")  # fmt: skip
    _line(org_a, "s3", service="AmazonS3", cost=Decimal("100"), embodied_kg_co2e=1.0, allocation_basis="unallocated")
    ProviderCarbon.objects.create(organization=org_a, provider="aws", account_id="111", billing_period=AUGUST,
                                  region="us-east-1", service="AmazonEC2", source_row_key="r1",
                                  total_location_kg_co2e=3.0, total_market_kg_co2e=2.5)  # fmt: skip
    return org_a


@pytest.mark.django_db
def test_cloud_dashboard_hand_computed(bills):
    data = cloud_dashboard(organization=bills, period=period_parse("2026-Q3"))
    facts, charts = data.facts, data.charts
    assert facts["unallocated_spend_pct"] == pytest.approx(25.0)  # USD 100 of 400
    coverage = facts["tag_coverage"]
    assert coverage["lines"] == 2 and coverage["tagged_lines"] == 1
    assert coverage["tagged_lines_pct"] == pytest.approx(50.0) and coverage["tagged_spend_pct"] == pytest.approx(75.0)
    assert facts["currencies"] == ["USD"]
    spend = charts["spend_emissions"].set_index("service")
    assert spend.loc["AmazonEC2", "spend"] == 300.0 and spend.loc["AmazonEC2", "energy_kwh"] == pytest.approx(11.0)
    assert spend.loc["AmazonEC2", "estimated_t_co2e"] == pytest.approx(0.002)  # no grid factor: embodied only
    assert spend.loc["AmazonS3", "estimated_t_co2e"] == pytest.approx(0.001)
    [month] = charts["estimate_vs_reported"].to_dict("records")
    assert month["estimated_t_co2e"] == pytest.approx(0.003) and month["reported_t_co2e_location"] == pytest.approx(
        0.003
    )
    allocation = charts["allocation"].set_index("allocation_basis")
    assert allocation.loc["resource_tag", "spend_share_pct"] == pytest.approx(75.0)
    assert allocation.loc["unallocated", "lines"] == 1
    notes = {row["service"]: row["note"] for row in facts["reconciliation"]}
    s3 = next(row for row in facts["reconciliation"] if row["service"] == "AmazonS3")
    assert s3["reported_location_kg_co2e"] is None and s3["difference_kg_co2e"] is None  # shown as "–", not nan
    # AWS covers account 111 in August but reports nothing for S3: AWS's figure (none) counts, not the 1 kg.
    assert s3["counted_location_kg_co2e"] == 0.0
    assert notes == {"AmazonEC2": "", "AmazonS3": UNCLAIMED}


@pytest.mark.django_db
def test_cloud_page_renders_every_chart(client, alice, bills):
    client.force_login(alice)
    response = client.get("/cloud/", {"period": "2026-Q3"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-kpi="unallocated">25.0 %<' in page and 'data-kpi="tagged">75.0 %<' in page
    for chart in ("spend_emissions", "estimate_vs_reported", "allocation"):
        assert f'id="chart-{chart}-data"' in page and f"download={chart}" in page
    assert UNCLAIMED in page
    csv_text = client.get("/cloud/", {"period": "2026-Q3", "download": "allocation"}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "allocation_basis,lines,spend,spend_share_pct"


@pytest.mark.django_db
def test_no_bills_says_how_to_get_data_in(client, alice, org_a):
    client.force_login(alice)
    page = client.get("/cloud/", {"period": "2026-Q3"}).content.decode()
    assert "No cloud bills in this period" in page and "Imports" in page and "data-chart=" not in page


@pytest.mark.django_db
def test_another_organizations_bills_never_appear(client, alice, bills, org_b):
    _line(org_b, "secret", service="SecretService", cost=Decimal("999"))
    client.force_login(alice)
    page = client.get("/cloud/", {"period": "2026-Q3"}).content.decode()
    assert "SecretService" not in page and 'data-kpi="unallocated">25.0 %<' in page


@pytest.mark.django_db
def test_service_named_like_a_script_is_text(client, alice, bills):
    evil = "<script>alert(1)</script>"
    CloudUsage.objects.filter(line_item_key="ec2").update(service=evil)
    client.force_login(alice)
    page = client.get("/cloud/", {"period": "2026-Q3"}).content.decode()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    payload = re.search(r'id="chart-spend_emissions-data">(.*?)</script>', page, re.S)[1]
    assert "<" not in payload
    texts = [text for trace in json.loads(payload)["figure"]["data"] for text in trace["text"]]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; · us-east-1" in texts


@pytest.mark.django_db
def test_estimate_quality_kpis_hand_computed(org_a, client, alice):
    from tests.factories import TeamFactory

    team = TeamFactory(organization=org_a, slug="ml", name="ML")
    # Usage: USD 300 classified with a team (6 kWh), USD 100 unclassified without (0 kWh), USD 100 on
    # averages without a team (2 kWh); a USD 50 tax line is not usage and counts nowhere.
    _line(org_a, "a", charge_category="usage", cost=Decimal("300"), compute_energy_kwh=4.0, gpu_energy_kwh=2.0,
          classification="gpu", team=team)  # fmt: skip
    _line(org_a, "b", charge_category="usage", cost=Decimal("100"), classification="unclassified")
    _line(org_a, "c", charge_category="usage", cost=Decimal("100"), storage_energy_kwh=2.0, classification="storage",
          estimate_fell_back=True)  # fmt: skip
    _line(org_a, "tax", charge_category="tax", cost=Decimal("50"), classification="none")
    quality = cloud_dashboard(organization=org_a, period=period_parse("2026-Q3")).facts["estimate_quality"]
    assert quality["unclassified_spend_pct"] == pytest.approx(20.0)  # 100 of 500
    assert quality["fell_back_lines_pct"] == pytest.approx(100 / 3)  # 1 of 3 usage lines
    assert quality["allocated_energy_pct"] == pytest.approx(75.0)  # 6 of 8 kWh
    client.force_login(alice)
    page = client.get("/cloud/?period=2026-Q3").content.decode()
    assert 'data-kpi="unclassified">20.0 %</span>' in page
    assert 'data-kpi="allocated-energy">75.0 %</span>' in page


@pytest.mark.django_db
def test_run_coverage_kpi_counts_the_run_energy_a_bill_holds(org_a, client, alice):
    """Two runs in us-east-1 during the EC2 line (12 and 4 kWh) and one in eu-west-1 (8 kWh), no bill there:
    (the line costs 0, as a month whose credits cancel its cost: the page still renders, with no share)
    12 + 4 = 16 of 24 kWh held by billing lines → 66.7 %; 2 of 3 runs."""
    from emissions.models import CloudRegion, FactorDataset
    from tests.factories import RunFactory

    _line(org_a, "ec2", service="AmazonEC2", classification="compute", charge_category="usage")
    dataset = FactorDataset.objects.create(name="test-regions", version="1", title="t", source="test", licence="test")
    regions = {name: CloudRegion.objects.create(dataset=dataset, provider="aws", region=name, pue=1.1, licence="test")
               for name in ("us-east-1", "eu-west-1")}  # fmt: skip
    during = {"started_at": datetime(2026, 8, 3, 10, tzinfo=UTC), "ended_at": datetime(2026, 8, 3, 12, tzinfo=UTC)}
    project = org_a.projects.get()
    for region, kwh in (("us-east-1", 12.0), ("us-east-1", 4.0), ("eu-west-1", 8.0)):
        RunFactory(organization=org_a, project=project, cloud_region=regions[region], energy_kwh=kwh, **during)
    coverage = cloud_dashboard(organization=org_a, period=period_parse("2026-Q3")).facts["run_coverage"]
    assert (coverage["runs"], coverage["covered_runs"]) == (3, 2)
    assert coverage["covered_energy_pct"] == pytest.approx(100 * 16 / 24)
    client.force_login(alice)
    page = client.get("/cloud/?period=2026-Q3").content.decode()
    assert re.search(r'data-kpi="run-coverage">66\.7\s*%', page), page[page.find("run-coverage") - 200 :][:400]


@pytest.mark.django_db
def test_the_admin_shows_a_lines_tags_from_its_set(admin_client, bills):
    line = CloudUsage.objects.get(organization=bills, line_item_key="ec2")
    page = admin_client.get(f"/admin/emissions/cloudusage/{line.pk}/change/")
    assert page.status_code == 200
    assert "{&#x27;team&#x27;: &#x27;data&#x27;}" in page.content.decode()  # the set's tags, not only its digest
