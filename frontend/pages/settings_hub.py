"""The settings hub (``/settings/``): tokens, members and roles, allocation rules, factor overrides, budgets."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from emissions.services.offsite import organization_offsite_update
from frontend.access import membership_required
from frontend.forms import OffsiteSettingsForm
from frontend.signin import member_lockouts
from reporting.selectors.settings import settings_lists


@membership_required
def settings_hub(request):
    """Read-only lists of the organization's settings; admins get links to edit them in the Django admin
    and edit the off-site run settings here."""
    organization = request.membership.organization
    initial = {
        "default_grid_zone": organization.default_grid_zone,
        "offsite_runs_scope": organization.offsite_runs_scope,
    }
    form = OffsiteSettingsForm(request.POST or None, organization=organization, initial=initial)
    if request.method == "POST":
        if not request.membership.is_admin:
            raise PermissionDenied("Only organization admins may change the organization's settings.")
        if form.is_valid():
            moved = organization_offsite_update(organization=organization, **form.cleaned_data)
            messages.success(request, f"Off-site run settings saved; {moved} run(s) moved to the new default location.")
            return redirect("settings")
    context = {
        **settings_lists(organization=organization),
        "can_admin": request.user.is_staff and request.membership.is_admin,
        "offsite_form": form,
        "can_edit_offsite": request.membership.is_admin,
        "signin_lockouts": member_lockouts(organization=organization) if request.membership.is_admin else [],
    }
    return render(request, "frontend/settings.html", context)
