"""Migration 0021 keys the billing lines stored before it as the writers key new ones: a re-import of a file
imported before the migration finds its lines instead of storing them again."""

import dataclasses
import datetime as dt
import uuid
from functools import partial

import pytest

from emissions.cloud_estimation import coefficient_tables_load, estimate
from emissions.models import CloudUsage, Organization, cloud_line_key_hex
from emissions.records import CloudUsageRecord
from emissions.services.cloud import cloud_usage_upsert_many
from tests.emissions.migrate import migrate_to

BEFORE = [("emissions", "0020_cloud_usage_owner_unindexed")]
KEYS = ["5uk6lsdnnvkdkalbzwzwjmaevxb3qqlk4qdjwmadzbjtlmqhljka@20250301T000000Z@20250301T010000Z", "é" * 128, "a#b"]


@pytest.mark.django_db(transaction=True)
def test_lines_stored_before_the_migration_get_the_key_the_writers_give():
    old = migrate_to(BEFORE)
    try:
        organization = old.get_model("emissions", "Organization").objects.create(name="Old", slug="old")
        OldUsage = old.get_model("emissions", "CloudUsage")
        moment = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
        for key in KEYS:
            OldUsage.objects.create(
                organization_id=organization.pk, provider="aws", billing_period=moment.date(), line_item_key=key,
                usage_start=moment, usage_end=moment, tags={},
            )  # fmt: skip
    finally:
        migrate_to()
    stored = dict(CloudUsage.objects.filter(organization_id=organization.pk).values_list("line_item_key", "line_key"))
    assert stored == {key: uuid.UUID(cloud_line_key_hex(key)) for key in KEYS}
    # The model's own save keys a line the same way.
    line = CloudUsage.objects.get(organization_id=organization.pk, line_item_key=KEYS[0])
    line.line_key = uuid.uuid4()
    line.save()
    assert CloudUsage.objects.get(pk=line.pk).line_key == uuid.UUID(cloud_line_key_hex(KEYS[0]))
    # The same lines written again, as a re-import writes them: no line is added, each is the one stored.
    record = CloudUsageRecord(
        provider="aws", billing_account="", account_id="", billing_period=moment.date(), line_item_key="",
        charge_category="usage", service="AmazonEC2", sku="", usage_type="", instance_type="", region="",
        usage_start=moment, usage_end=moment, usage_quantity=0.0, usage_unit="hour", cost=1.0, currency="USD",
    )  # fmt: skip
    before = set(CloudUsage.objects.values_list("pk", flat=True))
    cloud_usage_upsert_many(
        organization=Organization.objects.get(pk=organization.pk),
        records=[dataclasses.replace(record, line_item_key=key) for key in KEYS],
        estimator=partial(estimate, tables=coefficient_tables_load()),
        source_batch_id=2,
    )
    assert set(CloudUsage.objects.values_list("pk", flat=True)) == before
    assert CloudUsage.objects.filter(source_batch_id=2).count() == len(KEYS)
