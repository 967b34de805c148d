"""The settings hub (``/settings/``): tokens, members and roles, allocation rules, factor overrides, budgets."""

from __future__ import annotations

from django.shortcuts import render

from frontend.views import membership_required
from reporting.dashboard_fleet import settings_lists


@membership_required
def settings_hub(request):
    """Read-only lists of the organization's settings; admins get links to edit them in the Django admin."""
    organization = request.membership.organization
    context = {
        **settings_lists(organization=organization),
        "can_admin": request.user.is_staff and request.membership.is_admin,
    }
    return render(request, "frontend/settings.html", context)
