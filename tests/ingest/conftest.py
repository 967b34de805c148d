"""Fixtures shared by the billing and tracker import tests."""

import pytest

from ingest.parsers import tracker_rows
from tests.factories import OrganizationFactory, TeamFactory
from tests.ingest.tracker_files import NOW


@pytest.fixture
def org(reference, db, media_root):
    """An organization with the team the billing samples tag (``ml-research``). Test modules with an
    organization of their own define their own ``org``."""
    organization = OrganizationFactory(slug="billing", name="Billing")
    TeamFactory(organization=organization, slug="ml-research", name="ML research")
    return organization


@pytest.fixture
def tracker_clock(monkeypatch):
    """The tracker parsers' clock stopped at ``tracker_files.NOW`` (their rules about dates in the future)."""
    monkeypatch.setattr(tracker_rows, "utc_now", lambda: NOW)
