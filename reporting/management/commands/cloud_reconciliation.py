"""``manage.py cloud_reconciliation --org SLUG --period 2025-03``: provider-reported vs estimated cloud emissions
per provider and service, as a Markdown table (the README's table is this command's output)."""

from django.core.management.base import BaseCommand, CommandError

from emissions.models import Organization
from emissions.periods import period_parse
from reporting.selectors.cloud import cloud_reconciliation, cloud_reconciliation_by_service, reconciliation_markdown


class Command(BaseCommand):
    help = "Print provider-reported vs estimated cloud emissions per provider and service (kgCO2e, location-based)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--period", required=True, help="period: 2025, 2025-Q1 or 2025-03")

    def handle(self, *args, org: str, period: str, **options) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug {org!r}")
        try:
            span = period_parse(period)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        frame = cloud_reconciliation(organization=organization, start=span.start, end=span.end)
        self.stdout.write(reconciliation_markdown(cloud_reconciliation_by_service(frame)))
