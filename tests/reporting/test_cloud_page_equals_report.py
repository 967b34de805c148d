"""The Cloud page's "Cloud in the inventory" equals the report's purchased-cloud line of the same quarter, bills
loaded or not (it once showed only bills: four "No cloud bills" panels beside a report with tonnes of cloud)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from emissions.models import CloudRegion, CloudUsage
from emissions.periods import period_parse
from reporting.selectors.cloud import cloud_in_ledger
from tests.reporting.report_helpers import report_generated, report_json, report_values

Q1 = period_parse("2025-Q1")


@pytest.mark.django_db
def test_without_bills_the_cloud_runs_are_the_cloud_figure(small_org):
    report = report_values(report_json(report_generated(small_org)))
    cloud = cloud_in_ledger(organization=small_org, period=Q1)
    assert cloud["runs_kg_co2e_location"] == pytest.approx(36.0)  # 100 kWh IT × PUE 1.2 × 300 g
    assert cloud["bills_kg_co2e_location"] == 0.0
    assert cloud["total_kg_co2e_location"] / 1000 == pytest.approx(report["E1-6.51-c1-cloud"])
    assert cloud["total_kg_co2e_market"] / 1000 == pytest.approx(report["E1-6.51-c1-cloud-mb"])


@pytest.mark.django_db
def test_with_a_bill_the_page_adds_runs_and_lines_as_the_report_does(small_org):
    CloudUsage.objects.create(
        organization=small_org, provider="aws", billing_period=date(2025, 2, 1), line_item_key="ec2-feb",
        usage_start=datetime(2025, 2, 1, tzinfo=UTC), usage_end=datetime(2025, 3, 1, tzinfo=UTC),
        region="eu-central-1", account_id="222", service="AmazonEC2", currency="USD", cost=Decimal("50"),
        compute_energy_kwh=10.0, pue=1.2, cloud_region=CloudRegion.objects.get(provider="aws", region="eu-central-1"),
    )  # fmt: skip
    report = report_values(report_json(report_generated(small_org)))
    cloud = cloud_in_ledger(organization=small_org, period=Q1)
    assert cloud["bills_kg_co2e_location"] == pytest.approx(10.0 * 1.2 * 0.3)  # 3.6 kg at DE's 300 g
    assert cloud["total_kg_co2e_location"] / 1000 == pytest.approx(report["E1-6.51-c1-cloud"])
    # Another quarter holds none of it.
    assert cloud_in_ledger(organization=small_org, period=period_parse("2025-Q2"))["total_kg_co2e_location"] == 0


@pytest.mark.django_db
def test_the_cloud_page_shows_the_figure_when_no_bill_is_loaded(client, small_org, django_user_model):
    from emissions.choices import Role
    from emissions.models import Membership

    report_generated(small_org)
    user = django_user_model.objects.create_user("carol", password="x")
    Membership.objects.create(organization=small_org, user=user, role=Role.VIEWER)
    client.force_login(user)
    html = client.get("/cloud/", {"period": "2025-Q1"}).content.decode()
    assert 'data-kpi="cloud-total">36.0 kg CO2e<' in html
    assert "No bills are loaded for this period" in html
