"""``manage.py refresh_figures [--org SLUG]``: every period with data brought up to date, now.

What the debounced refresh does after new data (emissions/services/refresh.py), for every month from the
organization's first run to today: each year and quarter (the current ones included) is recomputed where
its inputs changed, then the read side follows (daily rollup, carbon-budget alerts). ``make run`` calls it
after seeding the demo, so the demo's budgets already show their alerts.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from emissions.models import Organization, Run
from emissions.services.refresh import figures_refresh


class Command(BaseCommand):
    help = "Recompute every period of an organization that has data (all organizations by default)."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organization slug (default: every organization)")

    def handle(self, *args, org: str | None, **options):
        organizations = Organization.objects.order_by("pk")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"no organization with slug {org!r}")
        today = date.today()
        for organization in organizations:
            first = (
                Run.objects.for_org(organization).order_by("started_at").values_list("started_at", flat=True).first()
            )
            months, month = [], (first.date().replace(day=1) if first else today.replace(day=1))
            while month <= today:
                months.append(month)
                month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            calculations = figures_refresh(organization_id=organization.pk, months=months, today=today)
            self.stdout.write(f"{organization.slug}: {len(calculations)} period(s) up to date")
