"""Fixtures of the dashboard page tests: the small hand-computed ledger (tests/frontend/dashboard_data.py)."""

import pytest

from reporting.rollups import rollup_refresh
from tests.frontend.dashboard_data import small_ledger_create


@pytest.fixture
def ledger(org_a):
    """Org A with the small hand-computed ledger and its rollup refreshed. A module whose ledger holds more
    (a budget, extra runs) defines its own ``ledger``, which overrides this one."""
    small_ledger_create(org_a)
    rollup_refresh(organization=org_a)
    return org_a
