"""After a large billing import, the planner's statistics are refreshed for the columns reads plan on only."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
    for index in range(50):
        CloudUsage.objects.create(
            organization=organization, provider="gcp", billing_period=date(2025, 3, 1), line_item_key=f"line-{index}",
            usage_start=datetime(2025, 3, 1, tzinfo=UTC), usage_end=datetime(2025, 3, 1, 1, tzinfo=UTC),
            service="Compute Engine", source_batch_id=7,
        )  # fmt: skip
    cloud_usage_statistics_refresh()
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = %s", [CloudUsage._meta.db_table])
        analyzed = {name for (name,) in cursor.fetchall()}
    planned = {CloudUsage._meta.get_field(name).column for name in _PLANNED_FIELDS}
    assert planned <= analyzed
    assert not analyzed & {"line_item_key", "line_key", "row_digest", "tags", "cost"}
