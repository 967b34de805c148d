"""A billing line's estimate coefficients and its tags are stored once per organization and set
(CloudEstimateBasis, CloudTagSet), both write paths name the same set, and the set reads back as written."""

from __future__ import annotations

import io

import pytest

from bench.billing_ingest import cur_generate
from emissions.models import CloudEstimateBasis, CloudTagSet, CloudUsage
from emissions.services.cloud_basis import tags_digest
from ingest.loaders import cloud_usage_load, cloud_usage_load_lines
from ingest.parsers import aws_cur
from tests.factories import OrganizationFactory


def _records(content: bytes) -> list:
    return [item.record for chunk in aws_cur.read_chunks(io.BytesIO(content)) for item in chunk]


@pytest.mark.django_db
def test_lines_share_their_coefficient_set_and_a_reimport_writes_none(reference, tmp_path):
    organization = OrganizationFactory(slug="basis", name="Basis")
    path = tmp_path / "cur.csv"
    cur_generate(path, 600)
    content = path.read_bytes()
    assert cloud_usage_load(organization=organization, records=_records(content)).loaded == 600
    lines = CloudUsage.objects.for_org(organization)
    digests = set(lines.exclude(coefficients_digest=None).values_list("coefficients_digest", flat=True))
    sets = CloudEstimateBasis.objects.for_org(organization)
    assert set(sets.values_list("digest", flat=True)) == digests
    assert sets.count() == len(digests) < 60  # a set per kind and quantity, not per line

    # A p4d.24xlarge hour: 8 A100 40GB GPUs, so 8 GPU-hours an instance-hour (bench sample: 24 instance-hours).
    gpu_line = lines.filter(usage_type="BoxUsage:p4d.24xlarge").first()
    assert gpu_line.coefficients["gpu_model"] == "NVIDIA A100 SXM4 40GB"
    assert gpu_line.coefficients["gpu_hours"] == pytest.approx(8 * gpu_line.usage_quantity)
    credit = lines.filter(coefficients_digest=None).first()
    assert credit is None or credit.coefficients == {}

    # The columnar path names the same sets and writes none again.
    before = dict(lines.values_list("line_item_key", "coefficients_digest"))
    outcomes = [
        cloud_usage_load_lines(organization=organization, lines=block)
        for block in aws_cur.read_lines(io.BytesIO(content))
    ]
    assert sum(outcome.duplicate for outcome in outcomes) == 600
    assert dict(lines.values_list("line_item_key", "coefficients_digest")) == before
    assert sets.count() == len(digests)


@pytest.mark.django_db
def test_each_organization_has_its_own_sets_and_they_go_with_it(reference, tmp_path):
    path = tmp_path / "cur.csv"
    cur_generate(path, 50)
    records = _records(path.read_bytes())
    first, second = OrganizationFactory(slug="one", name="One"), OrganizationFactory(slug="two", name="Two")
    for organization in (first, second):
        cloud_usage_load(organization=organization, records=records)
    second_id = second.pk
    for model in (CloudEstimateBasis, CloudTagSet):
        ours, theirs = model.objects.for_org(first), model.objects.for_org(second)
        assert ours.count() == theirs.count() > 0
        assert not set(ours.values_list("pk", flat=True)) & set(theirs.values_list("pk", flat=True))
    second.delete()
    for model in (CloudEstimateBasis, CloudTagSet):
        assert not model.objects.filter(organization_id=second_id).exists()
        assert model.objects.for_org(first).exists()


@pytest.mark.django_db
def test_lines_share_their_tag_set_both_paths_name_it_alike_and_a_reimport_writes_none(reference, tmp_path):
    organization = OrganizationFactory(slug="tags", name="Tags")
    path = tmp_path / "cur.csv"
    cur_generate(path, 600)
    content = path.read_bytes()
    records = _records(content)
    cloud_usage_load(organization=organization, records=records)
    lines = CloudUsage.objects.for_org(organization)
    sets = dict(CloudTagSet.objects.for_org(organization).values_list("digest", "tags"))
    # Each line's set is its record's tags, by the digest of the tags alone (keys sorted).
    by_key = {record.line_item_key: dict(record.tags) for record in records}
    stored = dict(lines.values_list("line_item_key", "tags_digest"))
    assert stored == {key: tags_digest(tags) for key, tags in by_key.items()}
    assert sets == {tags_digest(tags): tags for tags in by_key.values() if tags}
    assert 0 < len(sets) < 10  # the sample's few tag sets, not one per line
    assert lines.filter(tags_digest=None).count() == sum(1 for tags in by_key.values() if not tags) > 0
    tagged = lines.exclude(tags_digest=None).first()
    assert tagged.tags == by_key[tagged.line_item_key] and lines.filter(tags_digest=None).first().tags == {}

    # The columnar path names the same sets and writes none again.
    outcomes = [
        cloud_usage_load_lines(organization=organization, lines=block)
        for block in aws_cur.read_lines(io.BytesIO(content))
    ]
    assert sum(outcome.duplicate for outcome in outcomes) == 600
    assert dict(lines.values_list("line_item_key", "tags_digest")) == stored
    assert CloudTagSet.objects.for_org(organization).count() == len(sets)


def test_a_tag_set_digest_does_not_depend_on_key_order():
    # PostgreSQL's jsonb gives keys back shortest first: the digest of what it reads back is the one written.
    written, read_back = {"team": "a", "cost-center": "b", "x": "ü"}, {"x": "ü", "team": "a", "cost-center": "b"}
    assert tags_digest(written) == tags_digest(read_back)
    assert tags_digest({}) is None and tags_digest({"team": "a"}) != tags_digest({"team": "b"})
