"""Billing lines keyed by a 16-byte digest of their line item key (CloudUsage.line_key) instead of the key.

The lines stored before get ``md5(line_item_key)``, what ``cloud_line_key_hex`` computes, so that a re-import
of a file imported before this migration still finds its lines (PostgreSQL computes it in one UPDATE; other
databases, small, row by row in Python).
"""

import hashlib
import uuid

from django.db import migrations, models


def _key_lines(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("UPDATE emissions_cloudusage SET line_key = md5(line_item_key)::uuid")
        return
    CloudUsage = apps.get_model("emissions", "CloudUsage")
    for line in CloudUsage.objects.only("pk", "line_item_key").iterator(chunk_size=2000):
        CloudUsage.objects.filter(pk=line.pk).update(line_key=uuid.UUID(_md5_hex(line.line_item_key)))


def _md5_hex(text: str) -> str:
    """``cloud_line_key_hex`` as of this migration (frozen here: the stored keys must not follow later edits)."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class Migration(migrations.Migration):
    dependencies = [
        ("emissions", "0020_cloud_usage_owner_unindexed"),
    ]

    operations = [
        migrations.AddField(
            model_name="cloudusage",
            name="line_key",
            field=models.UUIDField(editable=False, null=True, help_text="cloud_line_key_hex(line_item_key)"),
        ),
        migrations.RunPython(_key_lines, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="cloudusage",
            name="line_key",
            field=models.UUIDField(editable=False, help_text="cloud_line_key_hex(line_item_key)"),
        ),
        migrations.RemoveConstraint(model_name="cloudusage", name="cloud_usage_line_unique"),
        migrations.AddConstraint(
            model_name="cloudusage",
            constraint=models.UniqueConstraint(
                fields=("organization", "provider", "billing_period", "line_key"), name="cloud_usage_line_key_unique"
            ),
        ),
    ]
