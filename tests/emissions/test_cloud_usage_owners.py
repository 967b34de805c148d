"""Billing lines keep their owner (team, project) without an index of their own (migration emissions 0020):
deleting a team or a project still clears it from the lines and keeps the lines."""

from __future__ import annotations

import io

import pytest
from django.db import connection

from bench.billing_ingest import cur_generate
from emissions.models import CloudUsage, Project
from ingest.loaders import cloud_usage_load
from ingest.parsers import aws_cur
from tests.factories import OrganizationFactory, ProjectFactory, TeamFactory


@pytest.mark.django_db
def test_deleting_a_team_or_project_clears_it_from_billing_lines(reference, tmp_path):
    organization = OrganizationFactory(slug="owners", name="Owners")
    team = TeamFactory(organization=organization, slug="ml-research", name="ML research")
    ProjectFactory(organization=organization, team=team, slug="llm-pretrain", name="LLM pretraining")
    path = tmp_path / "cur.csv"
    cur_generate(path, 90)
    records = [item.record for chunk in aws_cur.read_chunks(io.BytesIO(path.read_bytes())) for item in chunk]
    assert cloud_usage_load(organization=organization, records=records).loaded == 90
    lines = CloudUsage.objects.for_org(organization)
    owned = lines.filter(team=team).count()
    projects = set(lines.exclude(project=None).values_list("project_id", flat=True))
    assert owned and projects  # the bench tags lines with the team and a project

    Project.objects.filter(pk__in=projects).delete()  # a team's projects go first (Project.team protects it)
    assert lines.count() == 90 and not lines.exclude(project=None).exists()
    assert lines.filter(team=team).count() == owned
    team.delete()
    assert lines.count() == 90 and not lines.exclude(team=None).exists()


@pytest.mark.django_db
def test_the_billing_line_table_has_no_index_on_team_or_project():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, CloudUsage._meta.db_table)
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"] or c["unique"]}
    assert ("team_id",) not in indexed and ("project_id",) not in indexed
    # Two indexes: the primary key, and the unique key whose (organization, month) prefix serves a month's reads.
    assert indexed - {("id",)} == {("organization_id", "billing_period", "line_key", "provider")}
