"""Load the URLconf, and with it every view module, before the first request arrives.

Django resolves its URLconf lazily, so a fresh worker's first request pays for importing every view
and what they import (pandas, pyarrow, the report writers): about 0.8 s on an idle machine, several
seconds on a busy one. The CodeCarbon client opens its live run with a 2-second timeout and, when that
call times out, opens a second run at ``stop()`` and sends no final sample (``codecarbon/core/api_client.py``);
so a tracker started just after a deploy or a worker recycle would be split in two. Workers load the
URLconf at start instead (``frontend/wsgi.py``), and the test live server does the same (tests/conftest.py).
"""

from django.urls import get_resolver


def urlconf_load() -> int:
    """Import the root URLconf and its views now; the number of top-level URL patterns."""
    return len(get_resolver().url_patterns)
