"""A billing line's estimate coefficients stored once per organization and set (CloudEstimateBasis), the line
keeping the set's digest: moved from each line's ``coefficients`` column, then the column dropped."""

import hashlib
import json
import uuid

import django.db.models.deletion
from django.db import migrations, models

import emissions.models.fields


def _digest(values: dict) -> uuid.UUID:
    # emissions.services.cloud_basis.coefficients_digest, as of this migration
    return uuid.UUID(bytes=hashlib.sha256(json.dumps(values).encode()).digest()[:16])


def coefficients_move(apps, schema_editor):
    """Each distinct set once per organization; each line its set's digest (no set for an empty one)."""
    usage = apps.get_model("emissions", "CloudUsage")
    basis = apps.get_model("emissions", "CloudEstimateBasis")
    if schema_editor.connection.vendor == "postgresql":
        # Millions of lines: in the database. Digests of moved sets are the md5 of their stored text; a line
        # written later names its set by the digest above, so the two never need to agree.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {basis._meta.db_table} (organization_id, digest, coefficients) "  # noqa: S608
                f"SELECT organization_id, md5(coefficients::text)::uuid, min(coefficients::text)::json "
                f"FROM {usage._meta.db_table} WHERE coefficients::text <> '{{}}' "
                f"GROUP BY organization_id, md5(coefficients::text)"
            )
            cursor.execute(
                f"UPDATE {usage._meta.db_table} SET coefficients_digest = md5(coefficients::text)::uuid "  # noqa: S608
                f"WHERE coefficients::text <> '{{}}'"
            )
        return
    seen = set()
    for pk, organization_id, values in usage.objects.values_list("pk", "organization_id", "coefficients").iterator():
        if not values:
            continue
        digest = _digest(values)
        if (organization_id, digest) not in seen:
            seen.add((organization_id, digest))
            basis.objects.create(organization_id=organization_id, digest=digest, coefficients=values)
        usage.objects.filter(pk=pk).update(coefficients_digest=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("emissions", "0018_hourly_scope2_inputs"),
    ]

    operations = [
        migrations.CreateModel(
            name="CloudEstimateBasis",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.UUIDField()),
                ("coefficients", emissions.models.fields.JSONRecordField(blank=True, default=dict)),
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
                "indexes": [models.Index(fields=["organization", "digest"], name="emissions_c_organiz_c7fb93_idx")],
            },
        ),
        migrations.AddField(
            model_name="cloudusage",
            name="coefficients_digest",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.RunPython(coefficients_move, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="cloudusage",
            name="coefficients",
        ),
    ]
