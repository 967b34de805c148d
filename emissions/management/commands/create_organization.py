"""``manage.py create_organization --name NAME [--slug SLUG] --admin USERNAME [--email EMAIL]
[--password-from-env VAR]``: a new organization and its first org admin.

The admin is a new user (password from the environment variable ``VAR``, else typed twice at a prompt)
or an existing one, whose password is left alone. Everything else (teams, projects, members, tokens) is
then done in the browser by that admin, on ``/organization/`` and ``/settings/tokens/``.
"""

import getpass
import os

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from emissions.services.organizations import organization_create, organization_slug_check


class Command(BaseCommand):
    help = "Create an organization and make a new or existing user its first org admin."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help='the organization\'s name, e.g. "Acme AI"')
        parser.add_argument("--slug", default="", help="its short name in URLs (default: made from the name)")
        parser.add_argument("--admin", required=True, help="username of the first org admin (new or existing)")
        parser.add_argument("--email", default="", help="the new admin's email address")
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="read the new admin's password from this environment variable (default: prompt)",
        )
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive")

    def handle(self, *args, name, slug, admin, email, password_from_env, interactive, **options) -> None:
        try:
            # Name and slug first: nobody should type a password only to learn the slug is taken.
            organization_slug_check(name=name, slug=slug)
            password = self._password(admin, password_from_env, interactive)
            setup = organization_create(
                name=name, slug=slug, admin_username=admin, admin_email=email, admin_password=password
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages) + ". Nothing was created.") from exc
        organization = setup.organization
        who = "a new user" if setup.user_created else "an existing user"
        self.stdout.write(
            f"Created organization {organization.name!r} (slug {organization.slug}) "
            f"with {admin} ({who}) as its org admin."
        )
        if setup.other_organizations:
            # membership_get: a user in several organizations acts in the first by slug.
            self.stdout.write(
                f"{admin} also belongs to {', '.join(setup.other_organizations)}: the dashboard shows the "
                "organization whose slug comes first."
            )
        self.stdout.write(
            f"Next: sign in as {admin}, create teams and projects on /organization/, then an ingest token on "
            "/settings/tokens/."
        )

    def _password(self, username: str, variable: str | None, interactive: bool) -> str | None:
        """The new admin's password, or None for an existing user (whose password is not changed)."""
        exists = get_user_model().objects.filter(username=username).exists()
        if variable:
            value = os.environ.get(variable)
            if not value:
                raise CommandError(f"the environment variable {variable} is not set or empty")
            return value
        if exists:
            return None
        if not interactive:
            raise CommandError(f"{username!r} is a new user: give --password-from-env VAR, or run without --no-input")
        first = getpass.getpass(f"Password for {username}: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the two passwords differ. Nothing was created.")
        return first
