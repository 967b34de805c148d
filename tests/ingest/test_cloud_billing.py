"""Cloud billing end to end: every sample through the batch path, hand-computed GPU lines per cloud,
attribution, a restated month replacing its lines, and reconciliation with the provider's export."""

import csv
import gzip
import io
from datetime import date
from pathlib import Path

import pytest

from emissions.models import AllocationRule, CloudTagSet, CloudUsage, EmissionRecord, GridFactor
from emissions.periods import period_parse
from emissions.selectors import inventory_summary
from emissions.services.ledger import inventory_calculate
from ingest.loaders import cloud_usage_load
from ingest.models import ImportBatch
from ingest.services import import_batch_create, import_batch_process
from reporting.selectors.cloud import cloud_reconciliation
from tests.factories import OrganizationFactory, TeamFactory

BILLING = Path(__file__).parent / "fixtures" / "billing"
PROVIDER = Path(__file__).parent / "fixtures" / "provider_carbon"
# A100 SXM4 40GB at 50 % utilization: min 45.21 W, max 400 W (cloud_gpu_power.csv) → 222.605 W per GPU.
A100_W = 45.21 + 0.5 * (400 - 45.21)


@pytest.fixture
def org(reference, db, media_root):
    organization = OrganizationFactory(slug="cloudy", name="Cloudy")
    TeamFactory(organization=organization, slug="ml-research", name="ML research")
    return organization


def _import(org, source: str, path: Path | None = None, content: bytes | None = None) -> ImportBatch:
    data = content if content is not None else path.read_bytes()
    batch = import_batch_create(organization=org, source=source, filename=(path.name if path else "x"), content=data)
    return import_batch_process(batch=batch)


def _data_rows(path: Path) -> int:
    with path.open(newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


@pytest.mark.parametrize(("source", "name"), [("aws_cur", "aws_cur.csv"), ("gcp_billing", "gcp_billing.csv"),
                                              ("azure_cost", "azure_cost.csv"), ("focus", "focus.csv")])  # fmt: skip
def test_every_sample_imports_every_row(org, source, name):
    batch = _import(org, source, BILLING / name)
    assert batch.status == "done", batch.error
    assert batch.rows_total == _data_rows(BILLING / name) == batch.rows_loaded
    lines = CloudUsage.objects.for_org(org)
    assert lines.count() == batch.rows_total
    # Only usage charges carry energy; tax, credits and purchases keep their cost.
    for line in lines.exclude(charge_category="usage"):
        assert (line.compute_energy_kwh or 0) + (line.gpu_energy_kwh or 0) == 0
    assert lines.filter(charge_category="usage", classification="gpu").exists()


def test_aws_p4d_line_by_hand(org):
    """24 instance-hours of p4d.24xlarge in us-east-1 (8 × A100 40GB, 96 Cascade Lake vCPUs, 1,152 GiB)."""
    _import(org, "aws_cur", BILLING / "aws_cur.csv")
    line = CloudUsage.objects.for_org(org).get(line_item_key__startswith="syn0001@")
    assert (line.instance_type, line.region, line.usage_quantity, line.usage_unit) == (
        "p4d.24xlarge",
        "us-east-1",
        24,
        "hour",
    )
    assert line.gpu_energy_kwh == pytest.approx(24 * 8 * A100_W / 1000)  # 42.740 kWh
    assert line.compute_energy_kwh == pytest.approx(24 * 96 * (0.64 + 0.5 * (3.97 - 0.64)) / 1000)  # 5.311 kWh
    assert line.memory_energy_kwh == pytest.approx(24 * (1152 - 98.12) * 0.000392)  # 9.915 kWh
    assert line.pue == 1.135
    # SCI embodied share: (8 × 127.6 + 2,500) kg × 24 h / (4 × 8,760 h), the instance being the whole host.
    assert line.embodied_kg_co2e == pytest.approx((8 * 127.6 + 2500) * 24 / 35_040)
    # Its emissions in the ledger: facility kWh × the Virginia eGRID factor + the embodied share.
    inventory_calculate(organization=org, period=period_parse("2025-03"))
    factor = GridFactor.objects.get(zone__code="US-VA", kind="location").intensity_g_per_kwh
    it_kwh = line.gpu_energy_kwh + line.compute_energy_kwh + line.memory_energy_kwh
    us_east_1 = CloudUsage.objects.for_org(org).filter(region="us-east-1", charge_category="usage")
    expected = sum(
        sum(getattr(x, f) or 0 for f in ("compute_energy_kwh", "gpu_energy_kwh", "memory_energy_kwh",
                                         "storage_energy_kwh", "network_energy_kwh")) * x.pue * factor / 1000
        + (x.embodied_kg_co2e or 0)
        for x in us_east_1
    )  # fmt: skip
    record = EmissionRecord.objects.get(organization=org, scope3_subcategory="cloud", factors__location__zone="US-VA")
    assert record.emissions_kg_co2e_location == pytest.approx(expected)
    assert record.quality == "billing_estimate"
    assert it_kwh * 1.135 * factor / 1000 < record.emissions_kg_co2e_location


def test_gcp_and_azure_gpu_lines_by_hand(org):
    _import(org, "gcp_billing", BILLING / "gcp_billing.csv")
    _import(org, "azure_cost", BILLING / "azure_cost.csv")
    # GCP bills the GPUs of an A3 VM on their own SKU, in GPU-hours: 96 H100 GPU-hours in us-east4 (Virginia).
    h100 = CloudUsage.objects.for_org(org).get(provider="gcp", sku="SYN1-H100-0004")
    h100_w = 79.12 + 0.5 * (700 - 79.12)  # cloud_gpu_power.csv: H100 SXM min/max W, 50 % utilization
    assert (h100.usage_quantity, h100.region, h100.pue) == (96, "us-east4", 1.08)
    assert h100.gpu_energy_kwh == pytest.approx(96 * h100_w / 1000)  # 37.398 kWh
    a100 = CloudUsage.objects.for_org(org).get(provider="gcp", sku="SYN1-A100-0001")  # a2-highgpu-8g, 192 GPU-h
    assert a100.gpu_energy_kwh == pytest.approx(192 * A100_W / 1000)  # 42.740 kWh
    # Azure ND96asr v4 (8 × A100 40GB) in eastus: 24 on-demand and 8 spot instance-hours.
    nd = CloudUsage.objects.for_org(org).filter(provider="azure", instance_type="Standard_ND96asr_v4")
    assert sorted(line.usage_quantity for line in nd) == [8, 24]
    for line in nd:
        assert line.pue == 1.185
        assert line.gpu_energy_kwh == pytest.approx(line.usage_quantity * 8 * A100_W / 1000)  # 42.740 kWh for 24 h


def test_tags_allocate_with_precedence_and_the_rest_is_unallocated(org):
    team = org.teams.get(slug="ml-research")
    _import(org, "aws_cur", BILLING / "aws_cur.csv")
    lines = CloudUsage.objects.for_org(org)
    team_sets = CloudTagSet.objects.for_org(org).filter(tags__team="ml-research").values("digest")
    tagged = lines.filter(tags_digest__in=team_sets)
    assert tagged.exists() and all(
        line.team_id == team.pk and line.allocation_basis == "resource_tag" for line in tagged
    )
    assert lines.filter(allocation_basis="unallocated").exists()
    AllocationRule.objects.create(organization=org, account_id="444444444444", team=team, priority=10)
    _import(org, "aws_cur", BILLING / "aws_cur.csv")  # re-import: identical lines, new attribution
    by_account = CloudUsage.objects.for_org(org).filter(account_id="444444444444")
    assert all(line.team_id == team.pk for line in by_account)


def test_gzip_and_reimport_are_idempotent(org):
    gz = gzip.compress((BILLING / "aws_cur.csv").read_bytes())
    first = _import(org, "aws_cur", content=gz)
    again = _import(org, "aws_cur", content=gz)
    assert (first.rows_loaded, again.rows_loaded, again.rows_duplicate) == (15, 0, 15)
    assert CloudUsage.objects.for_org(org).count() == 15


def test_restated_month_replaces_its_lines(org):
    _import(org, "aws_cur", BILLING / "aws_cur.csv")
    before = sum(CloudUsage.objects.for_org(org).values_list("usage_quantity", flat=True))
    rows = list(csv.reader(io.StringIO((BILLING / "aws_cur.csv").read_text())))
    header, body = rows[0], rows[1:]
    quantity = header.index("lineItem/UsageAmount")
    body[0][quantity] = "12"  # the provider restates syn0001 from 24 to 12 hours
    restated = body[:-1]  # ...and drops the last line
    out = io.StringIO()
    csv.writer(out).writerows([header, *restated])
    batch = _import(org, "aws_cur", content=out.getvalue().encode())
    lines = CloudUsage.objects.for_org(org)
    assert lines.count() == len(restated)  # replaced, not added
    assert lines.get(line_item_key__startswith="syn0001@").usage_quantity == 12
    assert sum(lines.values_list("usage_quantity", flat=True)) == pytest.approx(before - 12 - float(body[-1][quantity]))
    assert batch.rows_loaded == 1 and batch.rows_duplicate == len(restated) - 1


def test_the_scheduled_ledger_sees_a_billing_import_and_a_restated_month(org):
    from emissions.services.ledger import inventory_ensure

    period = period_parse("2025-03")
    empty = inventory_ensure(organization=org, period=period)
    _import(org, "aws_cur", BILLING / "aws_cur.csv")
    first = inventory_ensure(organization=org, period=period)  # new billing lines: recomputed
    assert first.pk != empty.pk and inventory_summary(calculation=first)["scope_3_kg_by_category"]["1"] > 0
    assert inventory_ensure(organization=org, period=period).pk == first.pk  # nothing changed: reused
    rows = (BILLING / "aws_cur.csv").read_text().splitlines(keepends=True)
    _import(org, "aws_cur", content="".join(rows[:-1]).encode())  # the restated month drops a line
    assert inventory_ensure(organization=org, period=period).pk != first.pk


def test_provider_export_is_the_inventory_number_and_reconciles(org):
    _import(org, "aws_cur", BILLING / "aws_cur.csv")
    estimate = inventory_summary(calculation=inventory_calculate(organization=org, period=period_parse("2025-03")))
    _import(org, "aws_carbon", PROVIDER / "aws_ccft_export.csv")
    reported = inventory_summary(calculation=inventory_calculate(organization=org, period=period_parse("2025-03")))
    records = EmissionRecord.objects.filter(
        organization=org, scope3_subcategory="cloud", calculation__superseded_by=None
    )
    # AWS's own export for the month (6,227 kg location-based, accounts 222… and 333…) replaces the estimate
    # of the accounts it covers; CCFT v2 has no Scope 3, so those lines' embodied estimate is added; account
    # 444… (eu-west-1), which the export does not cover, keeps its estimate.
    provider = sum(r.emissions_kg_co2e_location for r in records if r.quality == "provider_reported")
    assert provider == pytest.approx(6227.0)
    covered = CloudUsage.objects.for_org(org).filter(account_id__in=["222222222222", "333333333333"])
    embodied = sum(line.embodied_kg_co2e or 0 for line in covered.filter(charge_category="usage"))
    added = [r for r in records if "embodied_estimated_provider_excludes" in r.flags]
    assert sum(r.emissions_kg_co2e_location for r in added) == pytest.approx(embodied) and embodied > 0
    uncovered = [r for r in records if r.quality == "billing_estimate" and r not in added]
    assert uncovered and {r.factors["account"] for r in uncovered} == {"444444444444"}
    assert reported["scope_3_kg_by_category"]["1"] == pytest.approx(
        6227.0 + embodied + sum(r.emissions_kg_co2e_location for r in uncovered)
    )
    assert estimate["scope_3_kg_by_category"]["1"] < reported["scope_3_kg_by_category"]["1"]
    # ...shared out to owners by the estimate; the reconciliation lines up both sides and explains gaps.
    frame = cloud_reconciliation(organization=org, start=date(2025, 3, 1), end=date(2025, 3, 1))
    both = frame.dropna(subset=["estimated_kg_co2e", "reported_location_kg_co2e"])
    assert not both.empty
    assert frame["reported_location_kg_co2e"].sum() == pytest.approx(6227.0)
    lonely = frame[frame["estimated_kg_co2e"].isna()]
    assert not lonely.empty and (lonely["note"].str.contains("without billing lines")).all()
    assert frame["counted_location_kg_co2e"].sum() == pytest.approx(reported["scope_3_kg_by_category"]["1"])


def test_a_run_joins_its_billing_lines_by_resource_id_and_time_window(org):
    from datetime import UTC, datetime

    from emissions.selectors import run_cloud_lines
    from tests.factories import RunFactory

    _import(org, "aws_cur", BILLING / "aws_cur.csv")  # syn0001: i-0a1b2c3d4e5f60001, 2025-03-01 00:00–24:00
    during = {"started_at": datetime(2025, 3, 1, 10, tzinfo=UTC), "ended_at": datetime(2025, 3, 1, 12, tzinfo=UTC)}
    run = RunFactory(organization=org, tags={"resource_id": "i-0a1b2c3d4e5f60001"}, **during)
    assert list(run_cloud_lines(run=run).values_list("line_item_key", flat=True)) == [
        "syn0001@20250301T000000Z@20250302T000000Z"
    ]
    CloudUsage.objects.for_org(org).filter(line_item_key__startswith="syn0001@").update(
        resource_id="arn:aws:ec2:us-east-1:222222222222:instance/i-0a1b2c3d4e5f60001"
    )
    by_instance = RunFactory(organization=org, tags={"instance_id": "i-0a1b2c3d4e5f60001"}, **during)
    assert run_cloud_lines(run=by_instance).count() == 1  # the ARN ends with "/<instance id>"
    later = RunFactory(
        organization=org,
        tags={"resource_id": "i-0a1b2c3d4e5f60001"},
        started_at=datetime(2025, 3, 5, tzinfo=UTC),
        ended_at=datetime(2025, 3, 5, 1, tzinfo=UTC),
    )
    assert not run_cloud_lines(run=later).exists()
    assert not run_cloud_lines(run=RunFactory(organization=org, **during)).exists()  # no resource tag
    other = OrganizationFactory(slug="other-cloud")
    stranger = RunFactory(organization=other, tags={"resource_id": "i-0a1b2c3d4e5f60001"}, **during)
    assert not run_cloud_lines(run=stranger).exists()  # another organization's lines never join


@pytest.mark.parametrize("value", [50, "50", -0.2, "half"])
def test_a_utilization_option_outside_0_to_1_is_refused(org, value):
    # a percentage read as a fraction: min W + 50 × (max W − min W), ~80× the CPU energy at 0.5
    with pytest.raises(
        ValueError, match=r"gpu_utilization=.* must be a fraction between 0 and 1, e\.g\. 0\.5 for 50 %"
    ):
        cloud_usage_load(organization=org, records=[], options={"gpu_utilization": value})
    with pytest.raises(ValueError, match=r"cpu_utilization=.* must be a fraction between 0 and 1"):
        cloud_usage_load(organization=org, records=[], options={"cpu_utilization": value})
