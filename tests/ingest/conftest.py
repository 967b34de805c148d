"""Fixtures shared by the billing import tests."""

import pytest

from tests.factories import OrganizationFactory, TeamFactory


@pytest.fixture
def org(reference, db, media_root):
    """An organization with the team the billing samples tag (``ml-research``). Test modules with an
    organization of their own define their own ``org``."""
    organization = OrganizationFactory(slug="billing", name="Billing")
    TeamFactory(organization=organization, slug="ml-research", name="ML research")
    return organization
