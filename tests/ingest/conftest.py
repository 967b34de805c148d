"""Fixtures shared by the billing import tests."""

import pytest
from django.core.management import call_command
from django.db import transaction


@pytest.fixture(scope="module")
def reference(django_db_setup, django_db_blocker):
    """The shipped reference data, loaded once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_reference_data", verbosity=0)
        yield
        transaction.set_rollback(True)
