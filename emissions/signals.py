"""Signals the emissions core sends to the outer apps, so that it never imports them (imports point inward)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# An organization's figures may have moved: a Calculation was written, or an import batch finished.
# Sent once the transaction commits, with ``organization_id``. The dashboards' daily rollup listens
# (reporting/apps.py); a receiver must be cheap when nothing changed.
figures_changed = Signal()


def figures_changed_on_commit(organization_id: int) -> None:
    """Send ``figures_changed`` for the organization when the current transaction commits."""
    transaction.on_commit(lambda: figures_changed.send(sender=None, organization_id=organization_id))


# A debounced refresh (emissions/services/refresh.py) brought an organization's figures up to date after
# new data: the read side follows (daily rollup, then carbon-budget alerts). Sent on commit, with
# ``organization_id`` and ``since`` (the first day of the periods it recomputed).
figures_refreshed = Signal()
