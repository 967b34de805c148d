"""Real public billing exports (tests/ingest/fixtures/billing/public: provenance in PROVENANCE.csv) import
faithfully: every row stored, repeated exactly or rejected with a reason; stored cost = the file's cost as
computed by compute_expected.py without our parsers; a re-import stores nothing new; every region of a
provider we support is matched."""

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from emissions.choices import ActivityKind, QualityTier
from emissions.models import CloudUsage, EmissionRecord
from emissions.periods import period_parse
from emissions.services.ledger import inventory_calculate
from ingest.services import import_batch_create, import_batch_process
from tests.factories import OrganizationFactory

PUBLIC = Path(__file__).parent / "fixtures" / "billing" / "public"
SUPPORTED = {"aws", "gcp", "azure"}


def _expected() -> dict[str, dict]:
    files: dict[str, dict] = defaultdict(lambda: {"rows": 0, "cost": defaultdict(float), "providers": set()})
    with (PUBLIC / "EXPECTED.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            entry = files[row["path"]]
            entry["rows"] += int(row["rows"])
            entry["cost"][row["currency"] or "USD"] += float(row["cost"])
            entry["providers"].add(row["provider"])
    with (PUBLIC / "EXPECTED_LINES.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            files[row["path"]]["repeats"] = int(row["exact_duplicate_rows"])
    return dict(files)


EXPECTED = _expected()
# Files that are not whole exports: the FOCUS spec's example tables lack required columns (no
# ChargePeriodStart/BillingAccountId pair a FOCUS export always has): the batch fails with that reason.
NOT_EXPORTS = {"focus/focus-spec-cdf_100pct_2_resources.csv"}


@pytest.fixture
def org(reference, db, media_root):
    return OrganizationFactory(slug="public", name="Public")


def test_the_corpus_has_every_dialect_with_provenance():
    with (PUBLIC / "PROVENANCE.csv").open(newline="", encoding="utf-8") as handle:
        provenance = {row["path"]: row for row in csv.DictReader(handle)}
    assert set(EXPECTED) <= set(provenance)
    for row in provenance.values():
        assert len(row["commit"]) == 40 and row["repository"] and row["licence"], row
    assert {path.split("/")[0] for path in EXPECTED} == {"aws", "azure", "gcp", "focus"}


@pytest.mark.parametrize("path", sorted(set(EXPECTED) - NOT_EXPORTS))
def test_a_public_export_is_stored_in_full(org, path):
    expected = EXPECTED[path]
    content = (PUBLIC / path).read_bytes()
    batch = import_batch_process(
        batch=import_batch_create(organization=org, source="billing", filename=Path(path).name, content=content)
    )
    assert batch.status in ("done", "partial"), batch.error
    # rows = stored + duplicates + rejected, against the rows counted without our parsers
    assert batch.rows_total == expected["rows"]
    assert batch.rows_loaded + batch.rows_duplicate + batch.rows_rejected == batch.rows_total
    assert batch.rows_duplicate == expected.get("repeats", 0)
    report = batch.reconciliation
    assert report["warnings"] == [], report
    # Cost stored + cost of rejected rows = the file's cost (compute_expected.py), per currency.
    stored = defaultdict(float)
    for line in CloudUsage.objects.for_org(org):
        stored[line.currency] += float(line.cost)
    for currency, cost in report["rejected"]["cost"].items():
        stored[currency] += cost
    for currency, cost in report["repeated"]["cost"].items():
        stored[currency] += cost
    for currency, cost in expected["cost"].items():
        assert stored[currency] == pytest.approx(cost, abs=1e-9), currency
    # Every region written for a provider we support is one we know.
    unmatched = (
        CloudUsage.objects.for_org(org)
        .filter(provider__in=SUPPORTED, cloud_region__isnull=True)
        .exclude(region__in=("", "global"))
        .values_list("provider", "region")
        .distinct()
    )
    assert list(unmatched) == []
    again = import_batch_process(
        batch=import_batch_create(organization=org, source="billing", filename=Path(path).name, content=content)
    )
    assert again.rows_loaded == 0 and again.rows_duplicate == batch.rows_loaded + batch.rows_duplicate


def test_an_example_table_that_is_not_an_export_fails_with_its_reason(org):
    path = "focus/focus-spec-cdf_100pct_2_resources.csv"
    batch = import_batch_process(
        batch=import_batch_create(
            organization=org, source="billing", filename="x.csv", content=(PUBLIC / path).read_bytes()
        )
    )
    assert batch.status == "failed" and "header matches no billing export" in batch.error


@pytest.mark.parametrize("path", sorted(set(EXPECTED) - NOT_EXPORTS))
def test_every_month_of_a_public_export_accounts_each_line_once(org, path):
    """The ledger of every month the file's usage or billing periods touch computes (a line of September use
    billed in October once crashed it), and the months' billing estimates add up to their year's: a line
    counts in one month, the month its usage starts."""
    content = (PUBLIC / path).read_bytes()
    import_batch_process(
        batch=import_batch_create(organization=org, source="billing", filename=Path(path).name, content=content)
    )
    lines = CloudUsage.objects.for_org(org)
    months = {line.usage_start.date().replace(day=1) for line in lines} | {line.billing_period for line in lines}
    by_year: dict[int, float] = defaultdict(float)
    for month in sorted(months):
        by_year[month.year] += _billing_estimate_kwh(
            inventory_calculate(organization=org, period=period_parse(f"{month:%Y-%m}"))
        )
    for year, kwh in by_year.items():
        assert _billing_estimate_kwh(inventory_calculate(organization=org, period=period_parse(str(year)))) == (
            pytest.approx(kwh, rel=1e-9, abs=1e-9)
        )


def _billing_estimate_kwh(calculation) -> float:
    records = EmissionRecord.objects.filter(calculation=calculation, activity_kind=ActivityKind.CLOUD_USAGE)
    return sum(records.filter(quality=QualityTier.BILLING_ESTIMATE).values_list("energy_kwh", flat=True))
