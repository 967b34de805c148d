"""Who may see and do what on the pages: the membership decorator and the role checks the views call."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from emissions.api import RAW_READ_ROLES, role_refusal
from emissions.choices import Role

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


def require_raw_read(request, action: str) -> None:
    """Raise PermissionDenied (403) unless the member's role reads raw data: viewers read figures only, not
    import batches, row errors, report files or tokens. ``action`` completes the refusal's sentence."""
    if request.membership.role not in RAW_READ_ROLES:
        raise PermissionDenied(role_refusal(request.membership, RAW_READ_ROLES, action=action))


def require_write(request) -> None:
    """Raise PermissionDenied (403) unless the member's role writes (``WRITE_ROLES``: tokens, imports, reports)."""
    if request.membership.role not in WRITE_ROLES:
        raise PermissionDenied(role_refusal(request.membership, WRITE_ROLES))
