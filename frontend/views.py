"""Page views: thin adapters from request to selector to template."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from emissions.api import RAW_READ_ROLES, role_refusal
from emissions.choices import Role
from emissions.models import ApiToken, Project, Team
from emissions.services.organizations import project_create
from emissions.services.tokens import api_token_create, api_token_revoke
from frontend.forms import ImportUploadForm, TokenCreateForm
from ingest.models import ImportBatch
from ingest.parsers import PARSERS
from ingest.services import import_batch_create, import_options_for

# Roles that may create tokens and upload imports.
WRITE_ROLES = (Role.ORG_ADMIN, Role.GUILD_MEMBER)


def membership_required(view):
    """Signed in and a member of an organization; otherwise login (anonymous) or 403 with a page that says
    what to do (ask an org admin to add you, or run ``create_organization`` on the server)."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if request.membership is None:
            return render(request, "frontend/no_membership.html", status=403)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _require_raw_read(request, action: str) -> None:
    """Viewers read figures only: not import batches, row errors, report files or tokens."""
    if request.membership.role not in RAW_READ_ROLES:
        raise PermissionDenied(role_refusal(request.membership, RAW_READ_ROLES, action=action))


def _require_write(request) -> None:
    if request.membership.role not in WRITE_ROLES:
        raise PermissionDenied(role_refusal(request.membership, WRITE_ROLES))


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
    _require_raw_read(request, "see API tokens")
    organization = request.membership.organization
    teams = new_project_teams(request.membership)
    form = TokenCreateForm(request.POST or None, organization=organization, new_project_teams=teams)
    created = None
    if request.method == "POST":
        _require_write(request)
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
    _require_write(request)
    try:
        api_token_revoke(organization=request.membership.organization, token_id=token_id)
    except ApiToken.DoesNotExist as exc:
        raise Http404("No such token in your organization.") from exc
    return redirect("tokens")


@membership_required
def imports(request):
    """Import batches with live progress, and the upload form (the source detected unless chosen)."""
    _require_raw_read(request, "see imports")
    organization = request.membership.organization
    form = ImportUploadForm(request.POST or None, request.FILES or None, organization=organization)
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            upload, source = form.cleaned_data["file"], form.cleaned_data["source"]
            batch = import_batch_create(
                organization=organization,
                source=source,
                filename=upload.name,
                stream=upload,
                created_by=request.user,
                options=form.options() | import_options_for(request.membership),
            )
            how = "detected from the file" if form.detected else "as chosen"
            messages.success(
                request,
                f"{upload.name} received as {PARSERS[source].label} ({how}): batch {batch.pk} is being imported, "
                "its progress is in the table below.",
            )
            return redirect("imports")
        messages.error(request, "The file was not imported: " + " ".join(form.error_lines()))
    batches = ImportBatch.objects.for_org(organization).select_related("created_by")[:50]
    context = {"form": form, "batches": batches, "can_write": request.membership.role in WRITE_ROLES}
    # A refused upload is the form again with its errors and a message, answered 200 as Django forms are (a 400
    # page load is also a console error in the browser).
    return render(request, "frontend/imports.html", context)
