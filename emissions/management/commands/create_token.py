"""``manage.py create_token --org SLUG --project SLUG [--scope ingest|read] [--name NAME] [--site SLUG]``."""

from django.core.management.base import BaseCommand, CommandError

from emissions.models import ApiToken, Organization, Site
from emissions.services.runs import project_resolve
from emissions.services.tokens import api_token_create


class Command(BaseCommand):
    help = "Create a project-scoped API token and print it once (only its SHA-256 is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--project", required=True, help="project slug (created under the first team if missing)")
        parser.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.INGEST)
        parser.add_argument("--name", default="command-line token")
        parser.add_argument("--site", help="site slug: runs posted with the token are located there")

    def handle(self, *args, org: str, project: str, scope: str, name: str, site: str | None, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug {org!r}")
        located = None
        if site:
            located = Site.objects.for_org(organization).filter(slug=site).first()
            if located is None:
                raise CommandError(f"no site {site!r} in {org}")
        token, plaintext = api_token_create(
            organization=organization,
            project=project_resolve(organization=organization, name=project),
            name=name,
            scope=scope,
            site=located,
        )
        self.stderr.write(f"{scope} token {token.prefix}… for {org}/{token.project.slug}; it is shown only once:")
        self.stdout.write(plaintext)
