"""Figures follow new data within a minute, with or without Celery beat.

Every write of activity data (a tracker's run or sample, an import batch) calls
``figures_refresh_request`` with the days its data falls on. Once the transaction commits, the request
is *debounced*: the first one opens a window of ``GREENGUILD_FIGURES_REFRESH_DELAY_S`` seconds, later
ones inside the window join it, and at its end one ``figures_refresh`` recomputes the periods those days
touch. So a tracker posting every few seconds costs one recalculation per window, not one per sample.

* **Embedded default** (no broker, Celery tasks run in-process): the window is a timer thread of this
  process. ``make run`` needs no beat and no manual command.
* **With a broker**: the first request of a window in a process sends ``figures_refresh_task`` with the
  window as its countdown; a request inside the window needs no task of its own, because the task sent
  starts after it and reads everything committed by then. Beat's ``ledger_refresh`` stays the safety net.

``GREENGUILD_FIGURES_REFRESH_DELAY_S`` unset to ``None`` (the test suite's default) turns requests off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import date

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, connections, transaction

from emissions.models import Calculation, Organization
from emissions.periods import Period, period_parse, period_years
from emissions.services.ledger import inventory_ensure
from emissions.signals import figures_refreshed

logger = logging.getLogger(__name__)
# The Celery task that recomputes figures with a broker (emissions/tasks/refresh.py), by its registered name.
FIGURES_REFRESH_TASK = "emissions.tasks.figures_refresh_task"

# A request for "every period the organization has figures for": used by imports whose dates are many.
ALL_PERIODS = None

_lock = threading.Lock()
_waiting: dict[int, set[date] | None] = {}  # embedded: organization → months waiting for its timer
_running: set[int] = set()  # embedded: organizations whose refresh is computing now
_sent_at: dict[tuple[int, date | None], float] = {}  # broker: (organization, month) → when its task was sent


def figures_refresh_periods(*, organization: Organization, months: Iterable[date] | None, today: date) -> list[Period]:
    """The periods whose figures data in ``months`` (first days) can move, oldest first.

    Each month's quarter and year, the later quarters of that year (a market instrument is used
    chronologically, so an earlier month's consumption changes what later quarters have left), any other
    current calculation overlapping them (a month or half-year someone computed), and always the current
    quarter and year. ``months=None``: every period with a current calculation, and the current ones.
    """
    labels = {f"{today.year}-Q{(today.month - 1) // 3 + 1}", str(today.year)}
    current = Calculation.objects.for_org(organization).in_period_range(today).filter(superseded_by__isnull=True)
    first_year, last_year = period_years(today)
    periods: dict[tuple[date, date], Period] = {}
    if months is None:
        for start, end in current.values_list("period_start", "period_end"):
            periods[(start, end)] = Period(label=f"{start}..{end}", start=start, end=end)
    else:
        for month in months:
            if not first_year <= month.year <= last_year:
                continue  # e.g. a run stamped 1970 by a tracker's unset clock: no period can hold it
            labels.add(str(month.year))
            for quarter in range((month.month - 1) // 3 + 1, 5):
                labels.add(f"{month.year}-Q{quarter}")
            overlapping = current.filter(period_start__lte=date(month.year, 12, 31), period_end__gte=month)
            for start, end in overlapping.values_list("period_start", "period_end"):
                periods[(start, end)] = Period(label=f"{start}..{end}", start=start, end=end)
    for label in labels:
        period = period_parse(label, today=today)
        periods[(period.start, period.end)] = period
    return [periods[key] for key in sorted(periods)]


def figures_refresh(*, organization_id: int, months: Iterable[date] | None, today: date | None = None) -> list:
    """Bring the organization's figures for ``months`` up to date (unchanged periods are not recomputed),
    then tell the read side (``figures_refreshed``: the dashboards' rollup, budget alerts)."""
    organization = Organization.objects.get(pk=organization_id)
    today = today or date.today()
    months = None if months is None else sorted(months)
    periods = figures_refresh_periods(organization=organization, months=months, today=today)
    calculations = [inventory_ensure(organization=organization, period=period) for period in periods]
    # The first day whose figures may have moved: budgets of closed periods from there are checked too.
    since = months[0] if months else (periods[0].start if periods else None)
    transaction.on_commit(lambda: figures_refreshed.send(sender=None, organization_id=organization_id, since=since))
    return calculations


def figures_refresh_request(*, organization_id: int, days: Iterable[date] | None) -> None:
    """Ask for the figures covering ``days`` (``ALL_PERIODS``: every period) to follow, once this commits."""
    delay_s = getattr(settings, "GREENGUILD_FIGURES_REFRESH_DELAY_S", None)
    if delay_s is None:
        return
    months = None if days is None else {day.replace(day=1) for day in days}
    if months is not None and not months:
        return
    transaction.on_commit(lambda: _schedule(organization_id, months, float(delay_s)))


def _schedule(organization_id: int, months: set[date] | None, delay_s: float) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        with _lock:
            opened = organization_id not in _waiting
            if opened:
                _waiting[organization_id] = months
            elif _waiting[organization_id] is not None:
                _waiting[organization_id] = None if months is None else _waiting[organization_id] | months
        if opened:
            timer = threading.Timer(delay_s, _embedded_refresh, args=(organization_id,))
            timer.daemon = True  # never keeps the server from stopping
            timer.start()
        return
    now = time.monotonic()
    with _lock:
        due = [month for month in (months or [None]) if now - _sent_at.get((organization_id, month), -1e18) >= delay_s]
        for month in due:
            _sent_at[(organization_id, month)] = now
    if due:
        from kombu.exceptions import OperationalError as BrokerError

        # None in the list means every period; the task takes ISO dates or nothing.
        arguments = None if None in due else sorted(month.isoformat() for month in due)
        try:
            # No publishing retries: this runs after the write committed, on the request path.
            # Sent by name: the task module imports this one, so importing it here would close a cycle.
            current_app.send_task(
                FIGURES_REFRESH_TASK, args=(organization_id, arguments), countdown=delay_s, retry=False
            )
        except BrokerError as exc:
            # The data is stored; the next write schedules again, and the beat's sweep catches up meanwhile.
            logger.warning(
                "figures refresh of organization %s not scheduled, the broker is away: %s", organization_id, exc
            )
            with _lock:
                for month in due:
                    _sent_at.pop((organization_id, month), None)


def _embedded_refresh(organization_id: int) -> None:
    """The end of an embedded window: take what accumulated and recompute it, in this timer thread."""
    with _lock:
        months = _waiting.pop(organization_id, set())
        _running.add(organization_id)
    close_old_connections()
    try:
        figures_refresh(organization_id=organization_id, months=months)
    except Exception:  # a background thread has no caller to raise to: log it, the beat-less app goes on
        logger.exception("figures refresh of organization %s failed", organization_id)
    finally:
        connections.close_all()
        with _lock:
            _running.discard(organization_id)


def figures_refresh_wait(timeout_s: float = 30.0) -> bool:
    """Block until no embedded window is open or computing (tests); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with _lock:
            if not _waiting and not _running:
                return True
        time.sleep(0.05)
    return False
