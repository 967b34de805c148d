"""``manage.py rollup_rebuild [--org SLUG]``: rebuild the dashboards' rollups (daily and per run) from the ledger.

It first deletes calculations outside the period range (stored before periods were bounded, e.g. by
``GET /api/v1/inventory/?period=9999-Q4``): they are what made the rollup, and every page, fail.
"""

from django.core.management.base import BaseCommand, CommandError

from emissions.models import Organization
from emissions.periods import period_years
from reporting.ledger_repair import calculations_out_of_range_delete
from reporting.rollups import rollup_rebuild


class Command(BaseCommand):
    help = (
        "Drop and rebuild the emission rollups (daily and per run) of one organization (or of all) from the "
        "current ledger, after deleting calculations outside the period range (1990 to next year)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", help="organization slug (default: every organization)")

    def handle(self, *args, org: str | None, **options) -> None:
        organizations = Organization.objects.order_by("slug")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"no organization with slug {org!r}")
        first_year, last_year = period_years()
        for organization in organizations:
            repair = calculations_out_of_range_delete(organization=organization)
            for pk, start, end in repair.deleted:
                self.stdout.write(
                    f"{organization.slug}: deleted calculation {pk} ({start}..{end}): "
                    f"outside the period range {first_year}–{last_year}"
                )
            for pk, start, end in repair.kept_for_reports:
                self.stdout.write(
                    f"{organization.slug}: kept calculation {pk} ({start}..{end}), outside the period range but "
                    "pinned by a report; the rollup skips it"
                )
            rows = rollup_rebuild(organization=organization)
            self.stdout.write(f"{organization.slug}: {rows} rollup rows")
