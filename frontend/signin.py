"""Sign-in lockouts (django-axes): the page a locked client sees, and the lockouts an org admin sees."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.shortcuts import render
from django.utils import timezone

from emissions.models import Membership, Organization


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the sign-in page's lockout message, 429."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(request, "registration/locked_out.html", {"lockout_minutes": minutes}, status=429)


def member_lockouts(*, organization: Organization) -> list[dict]:
    """The organization's members locked out now: ``username``, ``failures``, ``locked_until``; by username.

    Only the account lockouts (by username): an address lockout is not tied to one organization.
    """
    now = timezone.now()
    usernames = Membership.objects.for_org(organization).values("user__username")
    rows = (
        AccessAttempt.objects.filter(username__in=usernames, attempt_time__gte=now - settings.AXES_COOLOFF_TIME)
        .values("username")
        .annotate(failures=Sum("failures_since_start"), last_failure=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("username")
    )
    return [
        {
            "username": row["username"],
            "failures": row["failures"],
            "locked_until": row["last_failure"] + settings.AXES_COOLOFF_TIME,
        }
        for row in rows
    ]
