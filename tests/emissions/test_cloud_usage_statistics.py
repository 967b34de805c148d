"""After a large billing import, the planner's statistics are refreshed for the columns reads plan on only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from emissions.models import CloudUsage
from emissions.services.cloud import _PLANNED_FIELDS, cloud_usage_statistics_refresh
from tests.factories import OrganizationFactory


@pytest.mark.django_db
def test_statistics_are_refreshed_for_the_planned_columns_and_not_the_line_keys():
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's")
    organization = OrganizationFactory()
    CloudUsage.objects.bulk_create(
        CloudUsage(
            organization=organization, provider="gcp", billing_period=date(2025, 3, 1), line_item_key=f"line-{index}",
            line_key=uuid.uuid4(), usage_start=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=index),
            usage_end=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=index + 1), service="Compute Engine",
            source_batch_id=7,
        )
        for index in range(400)
    )  # fmt: skip
    cloud_usage_statistics_refresh()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, array_length(histogram_bounds::text::text[], 1) FROM pg_stats WHERE tablename = %s",
            [CloudUsage._meta.db_table],
        )
        analyzed = dict(cursor.fetchall())
        cursor.execute("SHOW default_statistics_target")
        assert cursor.fetchone()[0] == "100"  # the session's default is back
    planned = {CloudUsage._meta.get_field(name).column for name in _PLANNED_FIELDS}
    assert planned <= set(analyzed)
    assert not set(analyzed) & {"line_item_key", "line_key", "row_digest", "tags_digest", "cost"}
    # 400 distinct starts: a histogram of 31 bounds at the quick target of 30 (101 at the default 100).
    assert analyzed["usage_start"] == 31
