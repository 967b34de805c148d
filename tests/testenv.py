"""Loaded as a pytest plugin (``-p tests.testenv``) before Django starts: the test environment.

Tests run with DEBUG off, like production, so they need a secret key; never a real one.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789abcdef")
