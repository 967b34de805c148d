"""Budget alerts at 80 % and 100 %: email through Django's mail backend and a JSON webhook, once each.

``budget_alerts_check`` is the service the beat task calls. For every budget whose period has
started, each threshold the budget's use has reached gets one ``BudgetAlert`` row. The row is
claimed (inserted under its unique constraint) before anything is sent, so two concurrent checks
cannot both send; delivery failures are recorded on the row and not retried (an alert that
arrives twice is worse than one recorded as undelivered and visible on the budgets page).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from emissions.choices import Role
from emissions.models import Membership, Organization
from reporting.guild.budgets import ALERT_THRESHOLDS_PCT, BudgetStatus, budget_status, period_label
from reporting.models import BudgetAlert, CarbonBudget

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 5.0
# Budgets stay checked this long after their period ends: late imports can still cross a threshold.
LATE_DATA_DAYS = 31


def alert_payload(*, alert: BudgetAlert, status: BudgetStatus) -> dict:
    """The webhook's JSON body (documented in docs/guild.md)."""
    budget = status.budget
    owner = budget.team if budget.team_id else budget.project
    return {
        "event": "carbon_budget.threshold_reached",
        "alert_id": alert.pk,
        "organization": budget.organization.slug,
        "owner_type": "team" if budget.team_id else "project",
        "owner_slug": owner.slug,
        "owner_name": owner.name,
        "threshold_pct": alert.threshold_pct,
        "used_kg_co2e": round(alert.used_kg_co2e, 3),
        "budget_kg_co2e": round(alert.budget_kg_co2e, 3),
        "forecast_kg_co2e": round(alert.forecast_kg_co2e, 3),
        "used_pct": round(status.used_pct, 1),
        "basis": budget.basis,
        "period": period_label(budget.period_start, budget.period_end),
        "period_start": budget.period_start.isoformat(),
        "period_end": budget.period_end.isoformat(),
    }


def webhook_post(*, url: str, payload: dict) -> int:
    """POST the payload as JSON; the HTTP status (urllib raises HTTPError from 400 on)."""
    if not url.startswith(("http://", "https://")):
        raise urllib.error.URLError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(  # noqa: S310 - the operator's configured URL, checked above
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "GreenGuild budget alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:  # noqa: S310 - checked above
        return response.status


def alert_recipients(*, budget: CarbonBudget) -> list[str]:
    """Email addresses of the organization's admins and guild members, and of the owning team's members."""
    team_id = budget.team_id or budget.project.team_id
    memberships = Membership.objects.for_org(budget.organization_id).select_related("user")
    emails = {
        m.user.email
        for m in memberships
        if m.user.email and (m.role in (Role.ORG_ADMIN, Role.GUILD_MEMBER) or m.team_id == team_id)
    }
    return sorted(emails)


def _claim(status: BudgetStatus, threshold_pct: int) -> BudgetAlert | None:
    """Insert the alert row, or None when this threshold was already alerted for this budget."""
    try:
        with transaction.atomic():
            return BudgetAlert.objects.create(
                organization_id=status.budget.organization_id,
                budget=status.budget,
                threshold_pct=threshold_pct,
                used_kg_co2e=status.used_kg_co2e,
                budget_kg_co2e=status.budget_kg_co2e,
                forecast_kg_co2e=status.forecast_kg_co2e,
            )
    except IntegrityError:
        return None


def _deliver(alert: BudgetAlert, status: BudgetStatus) -> None:
    payload = alert_payload(alert=alert, status=status)
    errors: list[str] = []
    recipients = alert_recipients(budget=status.budget)
    subject = (
        f"[GreenGuild] {status.owner_label} reached {alert.threshold_pct}% of its carbon budget ({payload['period']})"
    )
    body = (
        f"{status.owner_label} has used {payload['used_kg_co2e']} kgCO2e ({payload['basis']}-based) of its "
        f"{payload['budget_kg_co2e']} kgCO2e budget for {payload['period']} ({payload['used_pct']} %).\n"
        f"Forecast at the current run rate: {payload['forecast_kg_co2e']} kgCO2e by {payload['period_end']}.\n"
    )
    if recipients:
        try:
            send_mail(subject, body, settings.GREENGUILD_ALERT_EMAIL_FROM, recipients)
            alert.email_recipients = recipients
        except OSError as exc:  # SMTP connection errors (smtplib.SMTPException is an OSError)
            errors.append(f"email: {exc}")
    url = settings.GREENGUILD_ALERT_WEBHOOK_URL
    if url:
        alert.webhook_url = url
        try:
            alert.webhook_status_code = webhook_post(url=url, payload=payload)
        except urllib.error.HTTPError as exc:  # 4xx/5xx: the receiver answered, with a refusal
            alert.webhook_status_code = exc.code
            errors.append(f"webhook: HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:  # DNS, refused connection, timeout
            errors.append(f"webhook: {getattr(exc, 'reason', exc)}")
    alert.delivery_error = "; ".join(errors)
    alert.save(update_fields=["email_recipients", "webhook_url", "webhook_status_code", "delivery_error"])
    if errors:
        logger.warning("budget alert %s delivered with errors: %s", alert.pk, alert.delivery_error)


def budget_alerts_check(*, organization: Organization, today: date, since: date | None = None) -> list[BudgetAlert]:
    """Send the 80 % / 100 % alerts newly reached by the organization's started budgets; return them.

    Budgets that ended more than ``LATE_DATA_DAYS`` ago are left alone, unless new figures for their
    period just arrived (``since``: the first day the refresh touched): late data that pushes a closed
    quarter over its budget is worth an alert too. Each threshold is still sent once.
    """
    oldest_end = today - timedelta(days=LATE_DATA_DAYS)
    if since is not None:
        oldest_end = min(oldest_end, since)
    budgets = (
        CarbonBudget.objects.for_org(organization)
        .filter(period_start__lte=today, period_end__gte=oldest_end)
        .exclude(alerts__threshold_pct=max(ALERT_THRESHOLDS_PCT))
        .select_related("organization", "team", "project")
    )
    sent = []
    for budget in budgets:
        status = budget_status(budget=budget, today=today)
        for threshold_pct in ALERT_THRESHOLDS_PCT:
            if status.used_pct < threshold_pct:
                break
            alert = _claim(status, threshold_pct)
            if alert is not None:
                _deliver(alert, status)
                sent.append(alert)
    return sent


def budget_alerts_check_all(*, today: date) -> int:
    """``budget_alerts_check`` for every organization with a started budget; how many alerts were sent."""
    organizations = Organization.objects.filter(budgets__period_start__lte=today).distinct()
    return sum(len(budget_alerts_check(organization=org, today=today)) for org in organizations)
