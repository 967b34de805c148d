"""The stored billing lines of an organization, compared between import paths."""

from emissions.models import CloudUsage


def stored_lines(organization) -> dict:
    """Every stored column of each line (but its id and batch), by line key."""
    fields = [f.attname for f in CloudUsage._meta.fields if f.attname not in ("id", "source_batch_id")]
    return {row["line_item_key"]: row for row in CloudUsage.objects.for_org(organization).values(*fields)}
