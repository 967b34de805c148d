"""``manage.py seed_demo``: create the deterministic demo organization ``acme``; running it again changes nothing."""

from django.core.management.base import BaseCommand

from frontend.demo import demo_organization_delete, demo_organization_seed, demo_organization_summary


class Command(BaseCommand):
    help = "Create the demo organization 'acme' (Acme AI) with 21 months of AI-compute activity and a demo login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete the demo organization first, then re-seed.")

    def handle(self, *args, **options) -> None:
        if options["reset"] and demo_organization_delete():
            self.stdout.write("Deleted the existing demo organization.")
        organization = demo_organization_seed(stdout=self.stdout)
        for label, count in demo_organization_summary(organization).items():
            self.stdout.write(f"{label}: {count}")
        self.stdout.write('Demo login: user "demo", password "demo" (organization "acme")')
