"""The finalization of a billing batch in one pass over its months' lines: the restated (provider, billing
account, month)s replaced, the batch's own lines added up for the reconciliation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from emissions.models import CloudUsage
from emissions.services.cloud import cloud_usage_restated_months_replace

MARCH, APRIL = date(2025, 3, 1), date(2025, 4, 1)


def _line(org, key, batch, *, account="A", month=MARCH, cost="1.5", quantity=2.0, unit="Hrs", currency="USD"):
    return CloudUsage.objects.create(
        organization=org, provider="aws", billing_account=account, billing_period=month, line_item_key=key,
        usage_start=datetime(month.year, month.month, 1, tzinfo=UTC),
        usage_end=datetime(month.year, month.month, 1, 1, tzinfo=UTC), usage_quantity=quantity, usage_unit=unit,
        cost=Decimal(cost), currency=currency, source_batch_id=batch,
    )  # fmt: skip


@pytest.fixture
def lines(org_a):
    # Batch 1 billed accounts A and B in March and account A in April; batch 2 restates account A's March.
    for key in ("a1", "a2", "a3"):
        _line(org_a, f"old-{key}", 1)
    _line(org_a, "old-b", 1, account="B")
    _line(org_a, "old-april", 1, month=APRIL)
    _line(org_a, "new-1", 2, cost="0.1")
    _line(org_a, "new-2", 2, cost="0.2", quantity=0.5)
    _line(org_a, "new-gb", 2, cost="3", quantity=7.25, unit="GB-Mo")
    return org_a


def _keys(org) -> set[str]:
    return set(CloudUsage.objects.for_org(org).values_list("line_item_key", flat=True))


@pytest.mark.parametrize("periods", [[MARCH], [MARCH, APRIL], None], ids=["tallied", "more", "unknown"])
def test_the_restated_month_is_replaced_and_nothing_else(lines, periods):
    settled = cloud_usage_restated_months_replace(organization=lines, source_batch_id=2, periods=periods)
    assert settled.removed == 3
    # Account B in March and April of account A are not the batch's: kept, even when their month was scanned.
    assert _keys(lines) == {"old-b", "old-april", "new-1", "new-2", "new-gb"}
    # The batch's lines added up per (currency, unit), by hand: 0.1 + 0.2 USD over 2 + 0.5 h, 3 USD over 7.25 GB-Mo.
    assert settled.groups == [
        {"currency": "USD", "usage_unit": "GB-Mo", "lines": 1, "cost": Decimal("3"), "quantity": 7.25},
        {"currency": "USD", "usage_unit": "Hrs", "lines": 2, "cost": Decimal("0.3"), "quantity": 2.5},
    ]


def test_a_batch_with_its_months_tallied_reads_them_once_and_deletes_nothing_when_nothing_is_stale(org_a):
    _line(org_a, "only", 7)
    with CaptureQueriesContext(connection) as queries:
        settled = cloud_usage_restated_months_replace(organization=org_a, source_batch_id=7, periods=[MARCH])
    statements = [query["sql"] for query in queries.captured_queries if "cloudusage" in query["sql"].lower()]
    assert len(statements) == 1 and statements[0].startswith("SELECT")
    assert (settled.removed, [group["lines"] for group in settled.groups]) == (0, [1])
