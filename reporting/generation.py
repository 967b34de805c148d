"""Generating a report: pin the calculations it reads (and snapshot the hourly-matched Scope 2 beside them),
build its content, render and store every format.

``report_generate_task`` (reporting/tasks/reports.py) runs ``report_generate``; ``report_create``
(reporting/services.py) enqueues that task. This module is below both and imports no task, so the
reporting package has no import cycle.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from emissions.models import Calculation, EmissionRecord
from emissions.periods import Period, month_end, year_earlier_label
from emissions.services.ledger import inventory_ensure
from emissions.task_policy import DATABASE_AWAY
from reporting.models import Report, ReportFile
from reporting.reports import EXPORTERS
from reporting.reports.datapoints import issued_figures, report_content_build
from reporting.reports.hourly_scope2 import hourly_scope2_snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportPeriods:
    """The periods a report reads: its own, its year to date (interim only) and both one year earlier."""

    period: Period
    year_to_date: Period | None
    comparison: Period
    comparison_year_to_date: Period | None


def report_periods(*, period: Period, fiscal_year_start_month: int = 1) -> ReportPeriods:
    """Year to date starts at the fiscal year's first month; the comparison is the same period a year earlier."""
    interim = (period.end - period.start).days < 364
    comparison = _year_earlier(period)
    if not interim:
        return ReportPeriods(period, None, comparison, None)
    year = period.start.year if period.start.month >= fiscal_year_start_month else period.start.year - 1
    ytd = Period(label=f"{period.label} YTD", start=date(year, fiscal_year_start_month, 1), end=period.end)
    return ReportPeriods(period, ytd, comparison, _year_earlier(ytd))


def _year_earlier(period: Period) -> Period:
    if period.label.removeprefix("FY")[:4].isdigit() and not period.label.endswith("YTD"):
        # Built rather than parsed: the comparison of a 1990 report is 1989, before the range users may ask for.
        return Period(
            label=year_earlier_label(period.label),
            start=period.start.replace(year=period.start.year - 1),
            end=month_end(period.end.replace(year=period.end.year - 1, day=1)),  # a label ends with its month
        )
    end = period.end.replace(year=period.end.year - 1)
    if period.end.month == 2 and period.end.day == 29:
        end = end.replace(day=28)
    return Period(
        label=f"{period.label} (previous year)", start=period.start.replace(year=period.start.year - 1), end=end
    )


def _progress(report: Report, pct: int, **fields) -> None:
    # The row itself carries progress: generation is not one transaction, so other requests see it.
    Report.objects.filter(pk=report.pk).update(progress_pct=pct, **fields)
    report.progress_pct = pct
    for name, value in fields.items():
        setattr(report, name, value)


def _has_records(calculation: Calculation) -> bool:
    return EmissionRecord.objects.filter(calculation=calculation).exists()


def report_calculations_pin(*, report: Report) -> Report:
    """Compute (where inputs changed) and pin the calculations the report reads, fix ``as_of`` and take the
    hourly-matched Scope 2 snapshot at that moment (meter data is not in the ledger: it is kept on the row).

    The comparison periods are pinned only when the ledger has records there ("when data exists").
    """
    organization = report.organization
    periods = report_periods(
        period=Period(label=report.period_label, start=report.period_start, end=report.period_end),
        fiscal_year_start_month=organization.fiscal_year_start_month,
    )
    report.calculation = inventory_ensure(organization=organization, period=periods.period)
    if periods.year_to_date is not None:
        report.ytd_calculation = inventory_ensure(organization=organization, period=periods.year_to_date)
    comparison = inventory_ensure(organization=organization, period=periods.comparison)
    report.comparison_calculation = comparison if _has_records(comparison) else None
    if periods.comparison_year_to_date is not None and report.comparison_calculation is not None:
        comparison_ytd = inventory_ensure(organization=organization, period=periods.comparison_year_to_date)
        report.comparison_ytd_calculation = comparison_ytd if _has_records(comparison_ytd) else None
    # What issued reports showed (every pinned span) is brought up to date, so restatements see the change.
    for start, end in issued_figures(report):
        inventory_ensure(organization=organization, period=Period(label=f"{start}..{end}", start=start, end=end))
    report.as_of = timezone.now()
    report.hourly_scope2 = hourly_scope2_snapshot(report=report)
    report.save(
        update_fields=[
            "calculation",
            "ytd_calculation",
            "comparison_calculation",
            "comparison_ytd_calculation",
            "as_of",
            "hourly_scope2",
        ]
    )
    return report


def report_hourly_scope2_pin(*, report: Report) -> Report:
    """Snapshot the hourly-matched Scope 2 of a report pinned before the snapshot existed (once: later
    generations reuse it, like the pinned calculations)."""
    report.hourly_scope2 = hourly_scope2_snapshot(report=report)
    report.save(update_fields=["hourly_scope2"])
    return report


def report_generate(*, report: Report) -> Report:
    """Pin the calculations and the hourly Scope 2 snapshot (first time only), build the content and store
    every format.

    Regenerating a report reads the same pinned calculations, so its files come out the same even
    after new activity has been calculated; an issued report is never generated again (a retried task
    leaves its files as issued). Failures are recorded on the row, not raised.
    """
    if Report.objects.filter(pk=report.pk, issued_at__isnull=False).exists():
        logger.info("report %s is issued: its files stay as they are", report.pk)
        report.refresh_from_db()
        return report
    _progress(report, 5, status=Report.Status.RUNNING, error="")
    try:
        if report.calculation_id is None:
            report_calculations_pin(report=report)
        elif report.hourly_scope2 is None:
            report_hourly_scope2_pin(report=report)
        _progress(report, 50)
        content = report_content_build(report=report)
        _progress(report, 70)
        for index, (file_format, render) in enumerate(EXPORTERS.items(), start=1):
            data = render(content)
            ReportFile.objects.update_or_create(
                report=report,
                file_format=file_format,
                defaults={"content": data, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)},
            )
            _progress(report, 70 + 30 * index // len(EXPORTERS) - 1)
    except DATABASE_AWAY:
        raise  # the database is away: the task retries (emissions/task_policy.py)
    except Exception as exc:
        logger.exception("report %s failed", report.pk)
        _progress(report, 100, status=Report.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        report.finished_at = timezone.now()
        report.save(update_fields=["finished_at"])
        return report
    _progress(report, 100, status=Report.Status.DONE, finished_at=timezone.now())
    logger.info("report %s generated", report.pk)
    return report
