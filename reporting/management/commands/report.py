"""``manage.py report --org SLUG --period 2025-Q1 --format csv|xlsx|json|pdf|xhtml|vsme|vsme-xhtml -o FILE``.

``--format hf_yaml --project SLUG`` writes the project's carbon label as Hugging Face model-card
``co2_eq_emissions`` metadata instead.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from emissions.models import Organization, Project
from emissions.periods import period_parse
from emissions.services.ledger import inventory_ensure
from reporting.models import Report, ReportFile
from reporting.reports.hf_card import carbon_label_yaml
from reporting.services import report_create, report_generate

HF_YAML = "hf_yaml"


class Command(BaseCommand):
    help = "Generate an organization's ESRS E1 climate report for a period and write one format to a file."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--period", required=True, help="2025, 2025-H1, 2025-Q1, 2025-03, FY2025 or FY2025-Q1")
        parser.add_argument("--format", required=True, choices=[*ReportFile.Format.values, HF_YAML], dest="file_format")
        parser.add_argument("--project", help="project slug (only for --format hf_yaml)")
        parser.add_argument("-o", "--output", required=True, help="file to write ('-' for standard output)")

    def handle(self, *args, org: str, period: str, file_format: str, output: str, project: str | None, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization with slug {org!r}")
        if file_format == HF_YAML:
            data = self._carbon_label(organization, period, project)
        else:
            data = self._report_file(organization, period, file_format)
        if output == "-":
            self.stdout.write(data.decode("utf-8", errors="replace"))
            return
        Path(output).write_bytes(data)
        self.stderr.write(f"{period} {file_format} written to {output} ({len(data)} bytes)")

    def _report_file(self, organization, period: str, file_format: str) -> bytes:
        try:
            report = report_create(organization=organization, period_label=period, enqueue=False)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # Generated here rather than by a worker: the command waits for its file anyway.
        report = report_generate(report=report)
        if report.status != Report.Status.DONE:
            raise CommandError(f"report {report.pk} failed: {report.error}")
        return bytes(report.files.get(file_format=file_format).content)

    def _carbon_label(self, organization, period: str, project_slug: str | None) -> bytes:
        project = Project.objects.for_org(organization).filter(slug=project_slug or "").first()
        if project is None:
            raise CommandError("--format hf_yaml needs --project with a project slug of the organization")
        try:
            parsed = period_parse(period, fiscal_year_start_month=organization.fiscal_year_start_month)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        calculation = inventory_ensure(organization=organization, period=parsed)
        return carbon_label_yaml(calculation=calculation, project=project).encode("utf-8")
