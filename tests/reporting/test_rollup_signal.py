"""The dashboards' daily rollup follows the ledger through ``emissions.signals.figures_changed``: the core
sends it on commit and never imports the reporting app."""

import ast
from pathlib import Path

import pytest

from emissions.models import DailyEmissionRollup
from emissions.signals import figures_changed_on_commit
from tests.frontend.dashboard_data import small_ledger_create

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_committed_change_refreshes_the_rollup(org_a, django_capture_on_commit_callbacks):
    small_ledger_create(org_a)
    assert not DailyEmissionRollup.objects.filter(organization=org_a).exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        figures_changed_on_commit(org_a.pk)
    assert len(callbacks) == 1
    assert DailyEmissionRollup.objects.filter(organization=org_a).exists()  # the eager task ran


@pytest.mark.parametrize("app", ["emissions", "ingest"])
def test_the_core_does_not_import_the_reporting_app(app):
    found = []
    for path in (ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] == "reporting"]
    assert not found
