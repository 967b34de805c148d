"""A billing line's estimate coefficients are stored once per organization and set (CloudEstimateBasis), both
write paths name the same set, and the set reads back as the estimate wrote it."""

from __future__ import annotations

import io

import pytest

from bench.billing_ingest import cur_generate
from emissions.models import CloudEstimateBasis, CloudUsage
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
    ours = CloudEstimateBasis.objects.for_org(first)
    theirs = CloudEstimateBasis.objects.for_org(second)
    assert ours.count() == theirs.count() > 0
    assert not set(ours.values_list("pk", flat=True)) & set(theirs.values_list("pk", flat=True))
    second_id = second.pk
    second.delete()
    assert not CloudEstimateBasis.objects.filter(organization_id=second_id).exists() and ours.count() > 0
