"""Migration 0024 moves the tags of the billing lines stored before it into tag sets (CloudTagSet): each line
names the set the writers would name for its tags, and migrating back gives every line its tags again."""

import datetime as dt

import pytest

from emissions.models import CloudTagSet, CloudUsage
from emissions.services.cloud_basis import tags_digest
from tests.emissions.migrate import migrate_to

BEFORE = [("emissions", "0023_cloud_usage_key_before_provider")]
# Keys of several lengths (jsonb orders them shortest first), text beyond ASCII, quotes, and no tags at all.
TAGS = [{}, {"team": "ml"}, {"cost-center": "cc-1", "team": "ml", "x": 'ü "q"'}, {"team": "data"}]


def _lines_before(apps) -> list[int]:
    """Two organizations' lines at 0023, each holding its tags (TAGS, twice each): the organizations' ids."""
    Organization, OldUsage = apps.get_model("emissions", "Organization"), apps.get_model("emissions", "CloudUsage")
    moment = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    organizations = []
    for slug in ("one", "two"):
        organization = Organization.objects.create(name=slug, slug=slug)
        organizations.append(organization.pk)
        for n, tags in enumerate(TAGS * 2):
            OldUsage.objects.create(
                organization_id=organization.pk, provider="aws", billing_period=moment.date(), line_item_key=f"k{n}",
                line_key=f"00000000-0000-0000-0000-{n:012d}", usage_start=moment, usage_end=moment, tags=tags,
            )  # fmt: skip
    return organizations


@pytest.mark.django_db(transaction=True)
def test_lines_stored_before_name_the_set_the_writers_name_and_come_back_whole():
    old = migrate_to(BEFORE)
    try:
        organizations = _lines_before(old)
    finally:
        migrate_to()
    for organization in organizations:
        lines = CloudUsage.objects.filter(organization_id=organization).order_by("line_item_key")
        expected = {f"k{n}": tags_digest(tags) for n, tags in enumerate(TAGS * 2)}
        assert dict(lines.values_list("line_item_key", "tags_digest")) == expected
        assert [line.tags for line in lines.order_by("line_item_key")] == [
            TAGS[int(key[1:]) % len(TAGS)] for key in sorted(expected)
        ]
        sets = CloudTagSet.objects.for_org(organization)
        assert dict(sets.values_list("digest", "tags")) == {tags_digest(tags): tags for tags in TAGS if tags}
    back = migrate_to(BEFORE)
    try:
        OldUsage = back.get_model("emissions", "CloudUsage")
        for organization in organizations:
            restored = dict(OldUsage.objects.filter(organization_id=organization).values_list("line_item_key", "tags"))
            assert restored == {f"k{n}": tags for n, tags in enumerate(TAGS * 2)}
    finally:
        migrate_to()
