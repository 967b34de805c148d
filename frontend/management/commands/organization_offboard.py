"""``manage.py organization_offboard SLUG --export FILE.zip [--delete [--confirm SLUG]]``.

Exports everything the organization owns to a new ZIP (frontend/offboarding.py says what it holds); with
``--delete``, reads the archive back, checks it, asks for the organization's slug to be typed (or takes
``--confirm SLUG``), and deletes the organization. ``--delete --archive FILE.zip`` deletes after an earlier
export instead of writing a new one.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from emissions.models import Organization
from frontend.offboarding import OffboardingError, archive_verify, organization_delete, organization_export


class Command(BaseCommand):
    help = "Export an organization's data to a ZIP archive, then (with --delete and a confirmation) delete it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="the organization's slug")
        parser.add_argument("--export", type=Path, help="write the export to this new .zip file")
        parser.add_argument("--archive", type=Path, help="with --delete: an export written earlier")
        parser.add_argument("--delete", action="store_true", help="delete the organization after the export")
        parser.add_argument("--confirm", help="the organization's slug again, instead of typing it")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive")

    def handle(self, *args, slug, export, archive, delete, confirm, interactive, **options) -> None:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"no organization with slug {slug!r}")
        if (export is None) == (archive is None):
            raise CommandError("give --export FILE.zip (a new export), or --delete with --archive FILE.zip")
        if archive is not None and not delete:
            raise CommandError("--archive is only for --delete; to export, give --export FILE.zip")
        try:
            if export is not None:
                summary = organization_export(organization=organization, path=export)
                archive_verify(export)
                rows = sum(summary.counts.values())
                self.stdout.write(f"exported {rows:,} rows and {summary.files} files of {slug!r} to {export}")
                archive = export
            if not delete:
                return
            if confirm is None and interactive:
                confirm = input(f"Delete organization {slug!r} and all its data? Type its slug to confirm: ")
            if confirm != slug:
                raise CommandError("not confirmed: nothing deleted (the export, if any, is kept)")
            deleted = organization_delete(organization=organization, archive=archive)
        except OffboardingError as exc:
            raise CommandError(f"{exc}; nothing deleted") from exc
        total = sum(deleted.values())
        accounts = deleted.get("auth.user", 0)
        self.stdout.write(
            f"deleted {slug!r}: {total:,} rows, of which {accounts} user accounts left without an organization"
        )
