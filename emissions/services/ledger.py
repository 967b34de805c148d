"""The accounting engine: compute and store the EmissionRecord ledger of an organization and period.

``inventory_calculate`` writes a new Calculation with its records and supersedes the previous one
for the same period (records are never edited). ``inventory_ensure`` reuses the current Calculation
while its inputs are unchanged. The arithmetic lives in ``emissions.calculations``; the rules and
their sources in docs/methodology.md.

``_ledger_build`` writes the records: one collaborator per group of inventory lines (ledger_electricity.py,
ledger_cloud.py with ledger_provider.py, ledger_offsite.py, ledger_scope1.py, ledger_embodied.py), each given
in its constructor the calculation's draft (ledger_draft.py) and what it reads.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from emissions.factor_book import FactorBook
from emissions.models import Calculation, Organization
from emissions.periods import Period, period_parse
from emissions.selectors import inventory_inputs_digest
from emissions.services.ledger_cloud import CloudLines
from emissions.services.ledger_draft import LedgerDraft, LocationFactors
from emissions.services.ledger_electricity import ElectricityLines, UpstreamLines
from emissions.services.ledger_embodied import EmbodiedLines
from emissions.services.ledger_offsite import OffsiteLines
from emissions.services.ledger_provider import ProviderLines
from emissions.services.ledger_scope1 import Scope1Lines
from emissions.signals import figures_changed_on_commit

METHODOLOGY_VERSION = "gg-2026.11"


def inventory_ensure(*, organization: Organization, period: Period) -> Calculation:
    """The current calculation of the period if its inputs are unchanged, else a new one."""
    current = (
        Calculation.objects.for_org(organization)
        .filter(period_start=period.start, period_end=period.end, superseded_by__isnull=True)
        .first()
    )
    if current is not None and current.inputs_digest == inventory_inputs_digest(
        organization=organization, methodology_version=METHODOLOGY_VERSION
    ):
        return current
    reason = "inputs or factors changed" if current else "first calculation"
    return inventory_calculate(organization=organization, period=period, reason=reason)


@transaction.atomic
def inventory_calculate(*, organization: Organization, period: Period, reason: str = "") -> Calculation:
    """Compute every EmissionRecord of the period and supersede the previous calculation."""
    # One calculation per organization at a time: two concurrent ones would both supersede the same row.
    Organization.objects.select_for_update().get(pk=organization.pk)
    calculation = Calculation.objects.create(
        organization=organization,
        period_start=period.start,
        period_end=period.end,
        methodology_version=METHODOLOGY_VERSION,
        reason=reason[:300],
        inputs_digest=inventory_inputs_digest(organization=organization, methodology_version=METHODOLOGY_VERSION),
    )
    draft = LedgerDraft(
        organization=organization, calculation=calculation, period=period, methodology_version=METHODOLOGY_VERSION
    )
    _ledger_build(draft)
    draft.flush()
    calculation.data_gaps = sorted({*draft.gaps, *draft.sized_gaps()})
    calculation.roll_forward = draft.roll_forward
    calculation.save(update_fields=["data_gaps", "roll_forward"])
    Calculation.objects.for_org(organization).filter(
        period_start=period.start, period_end=period.end, superseded_by__isnull=True
    ).exclude(pk=calculation.pk).update(superseded_by=calculation)
    figures_changed_on_commit(organization.pk)  # the dashboards' daily rollup follows
    return calculation


def _ledger_build(draft: LedgerDraft) -> None:
    """Write every record of the calculation to ``draft``, one group of inventory lines after the other (the
    records keep this order). The factor book is loaded once and shared, as are the location factors resolved
    from it; Cat 3 (b)(c) of purchased electricity is written the same way for sites and off-site runs."""
    book = FactorBook(draft.organization)
    factors = LocationFactors(book)
    upstream = UpstreamLines(draft, book)
    ElectricityLines(draft, book, factors, upstream).electricity()
    cloud = CloudLines(draft, book, factors, ProviderLines(draft, book))
    cloud.cloud_billing()
    cloud.cloud_runs()  # after cloud_billing: runs its billing lines hold are not counted twice
    OffsiteLines(draft, book, factors, upstream).offsite_runs()
    Scope1Lines(draft, book).scope_1()
    EmbodiedLines(draft, book).embodied()


def ledger_refresh(*, today: date | None = None) -> list[Calculation]:
    """Bring the current quarter's and year's calculations of every organization up to date.

    Runs from Celery beat, so live tracker samples reach the ledger within minutes without any
    work on the request path; ``inventory_ensure`` makes it a no-op where nothing changed.
    """
    today = today or date.today()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    periods = [period_parse(quarter), period_parse(str(today.year))]
    return [
        inventory_ensure(organization=organization, period=period)
        for organization in Organization.objects.order_by("pk")
        for period in periods
    ]
