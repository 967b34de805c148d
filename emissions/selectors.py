"""Lookups of the domain, always scoped to one organization."""

from __future__ import annotations

from emissions.models import Membership


def membership_get(*, user) -> Membership | None:
    """The user's membership (organization and role), or None for anonymous users and non-members.

    A user in several organizations acts in the first by slug; switching organizations is a
    later feature, and no query ever mixes two.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(user=user)
        .select_related("organization", "team")
        .order_by("organization__slug")
        .first()
    )
