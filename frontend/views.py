"""Page views: thin adapters from request to selector to template."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from emissions.api import RAW_READ_ROLES, role_refusal
from emissions.choices import Role
from emissions.models import ApiToken
from emissions.services.tokens import api_token_create, api_token_revoke
from frontend.forms import ImportUploadForm, TokenCreateForm
from ingest.models import ImportBatch
from ingest.services import import_batch_create, import_options_for

# Roles that may create tokens and upload imports.
WRITE_ROLES = (Role.ORG_ADMIN, Role.GUILD_MEMBER)


def membership_required(view):
    """Signed in and a member of an organization; otherwise login (anonymous) or 403."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if request.membership is None:
            raise PermissionDenied("You are not a member of an organization.")
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


@membership_required
def tokens(request):
    """API tokens of the organization: create (the token is shown once), list, revoke."""
    _require_raw_read(request, "see API tokens")
    organization = request.membership.organization
    form = TokenCreateForm(request.POST or None, organization=organization)
    created = None
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            created = api_token_create(organization=organization, created_by=request.user, **form.cleaned_data)
            form = TokenCreateForm(organization=organization)
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
    """Import batches with live progress, and the upload form."""
    _require_raw_read(request, "see imports")
    organization = request.membership.organization
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            import_batch_create(
                organization=organization,
                source=form.cleaned_data["source"],
                filename=upload.name,
                stream=upload,
                created_by=request.user,
                options=form.options() | import_options_for(request.membership),
            )
            return redirect("imports")
    batches = ImportBatch.objects.for_org(organization).select_related("created_by")[:50]
    context = {"form": form, "batches": batches, "can_write": request.membership.role in WRITE_ROLES}
    return render(request, "frontend/imports.html", context)
