"""The README's provider-reported vs estimate table is what ``manage.py cloud_reconciliation`` prints for the
sample bills and provider exports of March 2025 (tests/ingest/fixtures), so the README cannot drift."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from ingest.services import import_batch_create, import_batch_process
from tests.factories import OrganizationFactory

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
README = Path(__file__).parents[2] / "README.md"
FILES = [
    ("aws_cur", "billing/aws_cur.csv"), ("gcp_billing", "billing/gcp_billing.csv"),
    ("azure_cost", "billing/azure_cost.csv"), ("aws_carbon", "provider_carbon/aws_ccft_export.csv"),
    ("gcp_carbon", "provider_carbon/gcp_carbon_footprint.csv"),
    ("azure_carbon", "provider_carbon/azure_carbon_emissions.csv"),
]  # fmt: skip


def _table(text: str) -> str:
    match = re.search(r"<!-- cloud-reconciliation:begin -->\n(.*?)<!-- cloud-reconciliation:end -->", text, re.S)
    assert match, "README has no cloud-reconciliation block"
    return match.group(1)


@pytest.mark.django_db
def test_readme_table_is_the_commands_output(reference, media_root):
    org = OrganizationFactory(slug="samples")
    for source, path in FILES:
        content = (FIXTURES / path).read_bytes()
        batch = import_batch_create(organization=org, source=source, filename=Path(path).name, content=content)
        assert import_batch_process(batch=batch).status in {"done", "partial"}
    out = io.StringIO()
    call_command("cloud_reconciliation", org="samples", period="2025-03", stdout=out)
    print(out.getvalue())
    assert _table(README.read_text()) == out.getvalue()
