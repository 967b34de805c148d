"""``manage.py rollup_rebuild [--org SLUG]``: rebuild the dashboards' daily rollup from the ledger."""

from django.core.management.base import BaseCommand, CommandError

from emissions.models import Organization
from reporting.rollups import rollup_rebuild


class Command(BaseCommand):
    help = "Drop and rebuild the daily emission rollup of one organization (or of all) from the current ledger."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", help="organization slug (default: every organization)")

    def handle(self, *args, org: str | None, **options) -> None:
        organizations = Organization.objects.order_by("slug")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"no organization with slug {org!r}")
        for organization in organizations:
            rows = rollup_rebuild(organization=organization)
            self.stdout.write(f"{organization.slug}: {rows} rollup rows")
