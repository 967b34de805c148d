"""Billing imports keep every line and every cost (issue 14): line identity per interval, exact repeats,
the file-level reconciliation, rows that never fail a batch, spellings providers leave implicit, and
tracker runs replaced by bills only where the bill covers them."""

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from emissions.models import CloudRegion, CloudUsage, EmissionRecord, Run
from emissions.periods import period_parse
from emissions.selectors import run_billing_cover, runs_not_in_ledger
from emissions.services.ledger import inventory_calculate
from ingest.models import ImportBatch
from ingest.parsers import aws_cur, azure_cost, focus, gcp_billing
from ingest.parsers.billing_rows import parse_timestamp
from ingest.parsers.cloud_region_names import azure_region, provider_region
from ingest.records import ParsedRow
from ingest.services import import_batch_create, import_batch_process
from tests.factories import OrganizationFactory, RunFactory

BILLING = Path(__file__).parent / "fixtures" / "billing"


@pytest.fixture
def org(reference, db, media_root):
    return OrganizationFactory(slug="faithful", name="Faithful")


def _import(org, source: str, content: bytes) -> ImportBatch:
    batch = import_batch_create(organization=org, source=source, filename="export.csv", content=content)
    return import_batch_process(batch=batch)


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _cur_line(line_id: str, day: int, cost: str, **extra) -> dict:
    """A legacy CUR line at daily granularity: AWS repeats the line item id for every day."""
    return {
        "identity/LineItemId": line_id,
        "lineItem/LineItemType": "Usage",
        "lineItem/UsageStartDate": f"2025-03-{day:02d}T00:00:00Z",
        "lineItem/UsageEndDate": f"2025-03-{day + 1:02d}T00:00:00Z",
        "lineItem/ProductCode": "AmazonS3",
        "lineItem/UsageType": "TimedStorage-ByteHrs",
        "lineItem/UsageAmount": "2.5",
        "pricing/unit": "GB-Mo",
        "lineItem/UnblendedCost": cost,
        "lineItem/CurrencyCode": "USD",
        "product/region": "us-east-1",
        **extra,
    }


def test_a_daily_cur_repeating_its_line_ids_keeps_every_day(org):
    # 3 line ids × 10 days = 30 rows; keyed on the id alone they folded into 3 lines (the public CUR of
    # focus_converters: 1,281 rows, 388 ids). Costs 0.0000000001 apart must survive too (10 decimals).
    rows = [_cur_line(f"id-{n}", day, f"0.12345678{n}{day % 10}") for n in range(3) for day in range(1, 11)]
    content = _csv(rows)
    file_cost = sum(float(row["lineItem/UnblendedCost"]) for row in rows)  # computed from the rows, not parsed
    batch = _import(org, "aws_cur", content)
    assert (batch.status, batch.rows_total, batch.rows_loaded, batch.rows_duplicate) == ("done", 30, 30, 0)
    lines = CloudUsage.objects.for_org(org)
    assert lines.count() == 30
    assert float(sum(line.cost for line in lines)) == pytest.approx(file_cost, abs=1e-12)
    assert batch.reconciliation["warnings"] == []
    assert batch.reconciliation["stored"]["lines"] == 30
    # The same file again stores nothing new.
    again = _import(org, "aws_cur", content)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 30)
    assert lines.count() == 30 and again.reconciliation["warnings"] == []


def test_exact_repeats_are_reported_and_stored_once(org):
    rows = [_cur_line("id-1", 1, "1.5"), _cur_line("id-2", 1, "2.0"), _cur_line("id-1", 1, "1.5")]
    batch = _import(org, "aws_cur", _csv(rows))
    # rows = stored + duplicates + rejected: 3 = 2 + 1 + 0
    assert (batch.rows_total, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (3, 2, 1, 0)
    report = batch.reconciliation
    assert report["repeated"] == {"rows": 1, "cost": {"USD": 1.5}, "row_numbers": [4]}
    assert report["file"]["cost"] == {"USD": 5.0} and report["stored"]["cost"] == {"USD": 3.5}
    assert report["warnings"] == []  # 5.0 in the file = 3.5 stored + 1.5 repeated


def test_a_repeated_id_with_other_values_is_a_line_of_its_own(org):
    rows = [_cur_line("id-1", 1, "1.5"), _cur_line("id-1", 1, "4.0")]
    batch = _import(org, "aws_cur", _csv(rows))
    assert (batch.rows_loaded, batch.rows_duplicate) == (2, 0)
    assert sorted(float(c) for c in CloudUsage.objects.for_org(org).values_list("cost", flat=True)) == [1.5, 4.0]


def test_rejected_rows_are_explained_in_the_reconciliation(org):
    rows = [_cur_line("id-1", 1, "1.5"), _cur_line("id-2", 1, "2.0", **{"lineItem/UsageAmount": "lots"})]
    batch = _import(org, "aws_cur", _csv(rows))
    assert (batch.status, batch.rows_rejected) == ("partial", 1)
    report = batch.reconciliation
    assert report["rejected"]["rows"] == 1 and report["rejected"]["cost"] == {"USD": 2.0}
    assert report["warnings"] == []


def test_the_ingest_command_prints_the_reconciliation(org):
    from ingest.management.commands.ingest import Command

    batch = _import(org, "aws_cur", _csv([_cur_line("id-1", 1, "1.5"), _cur_line("id-1", 1, "1.5")]))
    out = io.StringIO()
    Command(stdout=out)._report(batch)  # what `manage.py ingest` prints once the batch is finished
    text = out.getvalue()
    assert "file: 2 rows, cost 3.000000 USD" in text and "stored: 1 lines, cost 1.500000 USD" in text
    assert "exact repeats of earlier rows (stored once): 1 rows" in text and "reconciled" in text


def _focus_row(**values) -> dict:
    row = {
        "BilledCost": "1.0", "EffectiveCost": "1.0", "BillingAccountId": "acct", "BillingCurrency": "USD",
        "BillingPeriodStart": "2025-03-01T00:00:00Z", "ChargeCategory": "Usage",
        "ChargeDescription": "$0.0116 per On Demand Linux t2.micro Instance Hour",
        "ChargePeriodStart": "2025-03-01T00:00:00Z", "ChargePeriodEnd": "2025-03-02T00:00:00Z",
        "ConsumedQuantity": "24", "ConsumedUnit": "Hours", "PricingQuantity": "24", "PricingUnit": "Hours",
        "ProviderName": "AWS", "PublisherName": "Amazon Web Services, Inc.", "RegionId": "us-east-1",
        "ResourceId": "i-1", "ServiceName": "Amazon Elastic Compute Cloud", "SkuId": "SKU", "SubAccountId": "sub",
        "Tags": "NULL",
    }  # fmt: skip
    return row | values


def test_no_row_fails_a_focus_batch(org):
    """The FOCUS 1.0 sample's shapes: an Oracle row, literal NULLs, a NULL-quantity credit, a negative
    correction, a marketplace line and an EC2 line whose instance type is only in the description."""
    rows = [
        _focus_row(),  # EC2 t2.micro, instance type from ChargeDescription, Tags NULL
        _focus_row(ProviderName="Oracle", PublisherName="Oracle", RegionId="NULL", ChargeDescription="Standard - E5",
                   ConsumedUnit="OCPU Hours", PricingUnit="OCPU Hours", EffectiveCost="3.0", BilledCost="3.0"),
        _focus_row(ChargeCategory="Credit", ConsumedQuantity="NULL", PricingQuantity="NULL", EffectiveCost="-0.5"),
        _focus_row(ProviderName="Microsoft", PublisherName="Microsoft", RegionId="EastUS", ConsumedQuantity="-1",
                   PricingQuantity="-1", EffectiveCost="-0.149",
                   ChargeDescription="Virtual Machines Dv2/DSv2 Series - D11 v2/DS11 v2 - US East"),
        _focus_row(PublisherName="Red Hat Inc.", ChargeDescription="SoftwareUsage:t2.nano", EffectiveCost="0.2"),
    ]  # fmt: skip
    batch = _import(org, "focus", _csv(rows))
    assert (batch.status, batch.rows_total, batch.rows_loaded, batch.rows_rejected) == ("done", 5, 5, 0)
    lines = {line.source_row: line for line in CloudUsage.objects.for_org(org)}
    ec2, oracle, credit, correction, software = (lines[n] for n in range(2, 7))
    assert ec2.instance_type == "t2.micro" and ec2.classification == "compute" and ec2.compute_energy_kwh > 0
    assert ec2.tags == {}
    assert (oracle.provider, oracle.classification, oracle.region) == ("oracle", "unsupported", "")
    assert (credit.charge_category, float(credit.cost), credit.usage_quantity) == ("credit", -0.5, 0.0)
    assert (correction.charge_category, correction.region, correction.usage_quantity) == ("adjustment", "eastus", -1)
    assert software.classification == "licence" and (software.compute_energy_kwh or 0) == 0
    assert batch.reconciliation["warnings"] == [] and batch.reconciliation["stored"]["cost"] == {"USD": 3.551}
    # The provider we have no coefficients for is a data gap with its cost, not a crash.
    calculation = inventory_calculate(organization=org, period=period_parse("2025-03"))
    assert any("of oracle (cost 3.00) are not estimated" in gap for gap in calculation.data_gaps)


@pytest.mark.parametrize(
    ("written", "region"),
    [("EastUS", "eastus"), ("CentralUS", "centralus"), ("SouthCentralUS", "southcentralus"), ("WESTUS", "westus"),
     ("US East 2", "eastus2"), ("East US", "eastus"), ("EU West", "westeurope"), ("AP Southeast", "southeastasia"),
     ("JA East", "japaneast"), ("US North Central", "northcentralus"), ("westeurope", "westeurope"),
     ("Zone 1", ""), ("Intercontinental", ""), ("Unknown", ""), ("Atlantis", "Atlantis")],
)  # fmt: skip
def test_azure_region_spellings(written, region):
    assert azure_region(written) == region


def test_every_azure_alias_names_a_region_we_have():
    path = Path(__file__).resolve().parents[2] / "emissions" / "reference_data" / "azure_region_aliases.csv"
    regions = set(CloudRegion.objects.none().values_list("region", flat=True))  # no DB: read the CSV instead
    with (path.parent / "cloud_regions.csv").open(newline="", encoding="utf-8") as handle:
        regions = {row["region"] for row in csv.DictReader(handle) if row["provider"] == "azure"}
    with path.open(newline="", encoding="utf-8") as handle:
        aliases = list(csv.DictReader(handle))
    assert len(aliases) > 200
    for row in aliases:
        assert row["region"] == "" or row["region"] in regions, row
        assert row["source"] and row["licence"], row
        assert azure_region(row["alias"]) == row["region"], row


def test_azure_ea_regions_in_pascal_case_get_a_grid_factor(org):
    content = (BILLING / "azure_cost.csv").read_text().replace("eastus", "EastUS").replace("westeurope", "West Europe")
    batch = _import(org, "azure_cost", content.encode())
    assert batch.status == "done", batch.error
    assert not CloudUsage.objects.for_org(org).filter(cloud_region__isnull=True).exclude(region="").exists()


@pytest.mark.parametrize(
    ("provider", "written", "region"),
    [("aws", "US East (N. Virginia)", "us-east-1"), ("aws", "us east (ohio)", "us-east-2"),
     ("aws", "US-EAST-1", "us-east-1"), ("aws", "eu-west-1", "eu-west-1"), ("aws", "Atlantis", "Atlantis"),
     ("aws", "", ""), ("gcp", "us-central1", "us-central1"), ("gcp", "Iowa", "Iowa"),
     ("azure", "EastUS", "eastus"), ("azure", "US East 2", "eastus2")],
)  # fmt: skip
def test_provider_region_spellings(provider, written, region):
    """FOCUS ``RegionName`` as AWS writes it is our table's display name; Google's short names ("Iowa") are
    not in our table and stay as written (the ledger names them in a gap)."""
    assert provider_region(provider, written) == region


def test_a_focus_row_with_only_a_region_name_gets_its_region(org):
    """AWS rows whose RegionId is empty but whose RegionName is given are stored under the region's code and
    matched to its grid factor, by the column-wise reader and by the row reader alike."""
    rows = list(csv.DictReader(io.StringIO((BILLING / "focus.csv").read_text())))
    named = [row for row in rows if row["ProviderName"] == "AWS" and row["RegionId"]]
    for row in named:
        row["RegionId"] = ""
    batch = _import(org, "focus", _csv(rows))
    assert batch.status == "done", batch.error
    stored = CloudUsage.objects.for_org(org).filter(provider="aws", region="us-east-2")
    assert stored.count() == len(named) > 0 and not stored.filter(cloud_region__isnull=True).exists()
    parsed = [item.record for item in focus.parse(_csv(named)) if isinstance(item, ParsedRow)]
    assert [record.region for record in parsed] == ["us-east-2"] * len(named)


def test_small_formats_providers_write():
    assert parse_timestamp("4/1/25", "x") == datetime(2025, 4, 1, tzinfo=UTC)  # spreadsheet-saved FOCUS
    assert parse_timestamp("03/01/2025", "x") == datetime(2025, 3, 1, tzinfo=UTC)  # Azure EA
    # BigQuery exports saved through pandas: REPEATED fields as Python literals.
    content = (BILLING / "gcp_billing.csv").read_text()
    header, first = content.splitlines()[:2]
    row = dict(zip(next(csv.reader([header])), next(csv.reader([first])), strict=True))
    row["credits"] = "[{'name': 'FreeTrial', 'amount': -0.5, 'full_name': None}]"
    row["labels"] = "[{'key': 'team', 'value': 'ml-research'}]"
    parsed = list(gcp_billing.parse(_csv([row])))
    assert isinstance(parsed[0], ParsedRow), parsed[0]
    assert ("team", "ml-research") in parsed[0].record.tags
    assert parsed[0].record.cost == pytest.approx(float(row["cost"]) - 0.5)
    # Localized Azure headers that name the English column in brackets.
    german = b"Kategorie (MeterCategory),Datum (Date),Menge (Quantity),Einheit (UnitOfMeasure),Kosten (Cost)\n"
    german += b"Storage,2025-03-01,2,1 GB/Month,0.5\n"
    (item,) = list(azure_cost.parse(german))
    assert isinstance(item, ParsedRow) and item.record.service == "Storage"


def test_marketplace_software_on_the_cur_is_never_compute():
    marketplace = {"lineItem/ProductCode": "abcd1234", "lineItem/UsageType": "SoftwareUsage:t2.nano",
                   "pricing/unit": "Hrs", "bill/BillingEntity": "AWS Marketplace"}  # fmt: skip
    row = _cur_line("id-9", 1, "0.3", **marketplace)
    (item,) = list(aws_cur.parse(_csv([row])))
    assert item.record.marketplace is True
    assert focus.PROVIDERS["microsoft"] == "azure"  # FOCUS publisher names are the provider's own


def _cloud_run(org, region: str, **extra):
    cloud_region = CloudRegion.objects.filter(provider="aws", region=region).first()
    return RunFactory(
        organization=org, cloud_region=cloud_region, energy_kwh=10.0,
        started_at=datetime(2025, 3, 1, 10, tzinfo=UTC), ended_at=datetime(2025, 3, 1, 12, tzinfo=UTC), **extra,
    )  # fmt: skip


def test_a_bill_covers_only_the_runs_it_holds(org):
    """The sample CUR bills EC2 in four regions on 2025-03-01: a run there is counted by the bill; a run in
    ap-south-1 the same month, or one that names an instance the bill does not hold, counts itself."""
    assert _import(org, "aws_cur", (BILLING / "aws_cur.csv").read_bytes()).status == "done"
    billed_region = CloudUsage.objects.for_org(org).filter(classification__in=("compute", "gpu")).first().region
    covered = _cloud_run(org, billed_region)
    elsewhere = _cloud_run(org, "ap-south-1")
    unknown_instance = _cloud_run(org, billed_region, tags={"resource_id": "i-not-on-the-bill"})
    assert run_billing_cover(run=covered) == "region_time"
    assert run_billing_cover(run=elsewhere) == "" and run_billing_cover(run=unknown_instance) == ""
    # Before the recalculation the two the bill does not hold are energy no figure holds yet (budgets,
    # leaderboards, the label say so); the one it holds is counted there already.
    runs = Run.objects.for_org(org)
    assert runs_not_in_ledger(organization=org, runs=runs) == {"runs": 2, "energy_kwh": 20.0}
    calculation = inventory_calculate(organization=org, period=period_parse("2025-03"))
    assert runs_not_in_ledger(organization=org, runs=runs) == {"runs": 0, "energy_kwh": 0.0}
    counted = set(
        EmissionRecord.objects.filter(calculation=calculation, run__isnull=False).values_list("run_id", flat=True)
    )
    assert counted == {elsewhere.pk, unknown_instance.pk}
    assert any("1 cloud run(s) ran on compute that billing lines hold" in gap for gap in calculation.data_gaps)
    assert covered.started_at.date() == date(2025, 3, 1) and elsewhere.cloud_region is not None


def test_the_imports_page_shows_the_reconciliation(client, org, django_capture_on_commit_callbacks):
    from tests.factories import MembershipFactory

    user = MembershipFactory(organization=org, user__username="finops", role="org_admin").user
    _import(org, "aws_cur", _csv([_cur_line("id-1", 1, "1.5"), _cur_line("id-1", 1, "1.5")]))
    client.force_login(user)
    page = client.get("/imports/").content.decode()
    assert "file: 2 rows, cost 1.500000 USD" not in page  # the file holds 3.0: both rows count
    assert "file: 2 rows, cost 3.000000 USD" in page and "stored: 1 lines, cost 1.500000 USD" in page
    assert "reconciled: file = stored + rejected + repeats" in page


def test_an_accelerator_without_a_power_figure_is_a_gap_with_its_cost(org):
    # trn1.32xlarge: 16 Trainium chips, 128 vCPU; AWS publishes no per-chip power (cloud_gpu_power.csv row
    # empty): the line keeps its CPU and memory energy, and the missing accelerator energy is a named gap.
    trainium = {"lineItem/ProductCode": "AmazonEC2", "pricing/unit": "Hrs",
                "lineItem/UsageType": "BoxUsage:trn1.32xlarge", "lineItem/UsageAmount": "24"}  # fmt: skip
    row = _cur_line("trn-1", 1, "515.0", **trainium)
    assert _import(org, "aws_cur", _csv([row])).status == "done"
    line = CloudUsage.objects.for_org(org).get()
    assert line.instance_type == "trn1.32xlarge" and line.gpu_energy_kwh == 0 and line.compute_energy_kwh > 0
    calculation = inventory_calculate(organization=org, period=period_parse("2025-03"))
    gap = "1 billing line(s) of aws trn1.32xlarge (cost 515.00): no power figure for AWS Trainium (trn1)"
    assert any(gap in text for text in calculation.data_gaps), calculation.data_gaps
