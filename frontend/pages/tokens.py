"""API tokens (``/settings/tokens/``): create one (its project created with it if new), list, revoke."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from emissions.choices import Role
from emissions.models import ApiToken, Project, Team
from emissions.services.organizations import project_create
from emissions.services.tokens import api_token_create, api_token_revoke
from frontend.access import WRITE_ROLES, membership_required, require_raw_read, require_write
from frontend.forms import TokenCreateForm


def new_project_teams(membership):
    """Teams a new project may go under when a member creates it with a token: any team for an org admin; for a
    guild member its own team, else the organization's first, as for its imports (docs/configuration.md,
    "Roles"). None for the other roles, who create no tokens."""
    teams = Team.objects.for_org(membership.organization).order_by("name")
    if membership.role == Role.ORG_ADMIN:
        return teams
    if membership.role == Role.GUILD_MEMBER:
        first = membership.team_id or teams.values_list("pk", flat=True).first()
        return teams.filter(pk=first)
    return None


def _token_project(form, organization) -> Project | None:
    """The form's project, or its new project created now; None (with the reason on the form) if refused."""
    data = form.cleaned_data
    if data["project"] is not None:
        return data["project"]
    try:
        return project_create(organization=organization, team=data["new_project_team"], name=data["new_project_name"])
    except ValidationError as exc:
        form.add_error("new_project_name", exc.messages)
        return None


@membership_required
def tokens(request):
    """API tokens of the organization: create (the token is shown once, its project created with it if new),
    list, revoke."""
    require_raw_read(request, "see API tokens")
    organization = request.membership.organization
    teams = new_project_teams(request.membership)
    form = TokenCreateForm(request.POST or None, organization=organization, new_project_teams=teams)
    created = None
    if request.method == "POST":
        require_write(request)
        project = _token_project(form, organization) if form.is_valid() else None
        if project is not None:
            data = form.cleaned_data
            created = api_token_create(
                organization=organization,
                project=project,
                name=data["name"],
                scope=data["scope"],
                site=data["site"],
                created_by=request.user,
            )
            form = TokenCreateForm(organization=organization, new_project_teams=teams)
    context = {
        "form": form,
        "created": created,
        "tokens": ApiToken.objects.for_org(organization).select_related("project", "site"),
        "can_write": request.membership.role in WRITE_ROLES,
    }
    return render(request, "frontend/tokens.html", context)


@require_POST
@membership_required
def token_revoke(request, token_id: int):
    """Revoke one token of the organization."""
    require_write(request)
    try:
        api_token_revoke(organization=request.membership.organization, token_id=token_id)
    except ApiToken.DoesNotExist as exc:
        raise Http404("No such token in your organization.") from exc
    return redirect("tokens")
