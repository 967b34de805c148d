"""Billing lines' tags stored once per organization and distinct set (CloudTagSet), each line naming its set by
``tags_digest`` instead of holding its own ``jsonb`` copy.

The lines stored before get the digest the writers give (``emissions.services.cloud_basis.tags_digest``, frozen
here): PostgreSQL maps each distinct (organization, tags) to its digest in one UPDATE joined on the tags; other
databases (small: the embedded demo) in Python, a query per set and 500 lines. Migrating back copies each set
into its lines again.
"""

import hashlib
import json
import uuid

import django.db.models.deletion
from django.db import migrations, models

_CHUNK = 500


def _digest(tags: dict) -> uuid.UUID:
    """``tags_digest`` as of this migration (frozen here: stored digests must not follow later edits)."""
    return uuid.UUID(bytes=hashlib.sha256(json.dumps(tags, sort_keys=True).encode()).digest()[:16])


def _tag_lines(apps, schema_editor) -> None:
    CloudTagSet = apps.get_model("emissions", "CloudTagSet")
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT organization_id, tags::text FROM emissions_cloudusage WHERE tags <> '{}'::jsonb"
            )
            found = [(organization, text, _digest(json.loads(text))) for organization, text in cursor.fetchall()]
            cursor.execute("CREATE TEMP TABLE tag_map (organization_id bigint, tags jsonb, digest uuid)")
            with cursor.copy("COPY tag_map FROM STDIN") as copy:
                for row in found:
                    copy.write_row(row)
            cursor.execute(
                "UPDATE emissions_cloudusage AS line SET tags_digest = tag_map.digest FROM tag_map "
                "WHERE line.organization_id = tag_map.organization_id AND line.tags = tag_map.tags"
            )
            cursor.execute("DROP TABLE tag_map")
        sets = {(organization, digest): json.loads(text) for organization, text, digest in found}
    else:
        CloudUsage = apps.get_model("emissions", "CloudUsage")
        sets, lines = {}, {}
        for pk, organization, tags in CloudUsage.objects.values_list("pk", "organization_id", "tags").iterator():
            if tags:
                key = (organization, _digest(tags))
                sets[key] = tags
                lines.setdefault(key, []).append(pk)
        for (_, digest), pks in lines.items():
            for start in range(0, len(pks), _CHUNK):
                CloudUsage.objects.filter(pk__in=pks[start : start + _CHUNK]).update(tags_digest=digest)
    CloudTagSet.objects.bulk_create(
        [CloudTagSet(organization_id=organization, digest=digest, tags=tags) for (organization, digest), tags in sets.items()],
        batch_size=_CHUNK,
    )


def _untag_lines(apps, schema_editor) -> None:
    """Back to a copy of its tags on every line (set by set: a rare step back)."""
    CloudTagSet, CloudUsage = apps.get_model("emissions", "CloudTagSet"), apps.get_model("emissions", "CloudUsage")
    for tag_set in CloudTagSet.objects.iterator():
        lines = CloudUsage.objects.filter(organization_id=tag_set.organization_id, tags_digest=tag_set.digest)
        lines.update(tags=tag_set.tags)


class Migration(migrations.Migration):
    dependencies = [
        ("emissions", "0023_cloud_usage_key_before_provider"),
    ]

    operations = [
        migrations.CreateModel(
            name="CloudTagSet",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.UUIDField()),
                ("tags", models.JSONField(blank=True, default=dict)),
                (
                    "organization",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="emissions.organization",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["organization", "digest"], name="emissions_c_organiz_e83c62_idx")],
            },
        ),
        migrations.AddField(
            model_name="cloudusage",
            name="tags_digest",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.RunPython(_tag_lines, _untag_lines, elidable=False),
        migrations.RemoveField(
            model_name="cloudusage",
            name="tags",
        ),
    ]
