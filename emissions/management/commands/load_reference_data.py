"""``manage.py load_reference_data``: load the shipped reference data; safe to run again, needs no network."""

from django.core.management.base import BaseCommand, CommandError

from emissions.reference import ReferenceDataError, reference_data_load


class Command(BaseCommand):
    help = "Load the shipped reference data (emissions/reference_data/*.csv). Running it again changes nothing."

    def handle(self, *args, **options) -> None:
        try:
            counts = reference_data_load(stdout=self.stdout)
        except ReferenceDataError as exc:
            raise CommandError(str(exc)) from exc
        for key, count in counts.items():
            self.stdout.write(f"{key}: {count}")
        if counts["created"] == counts["updated"] == 0:
            self.stdout.write(self.style.SUCCESS("Nothing changed: the reference data was already loaded."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Created {counts['created']}, updated {counts['updated']} rows."))
