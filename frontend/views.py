"""Page views: thin adapters from request to selector to template."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from reporting.selectors import organization_overview, team_activity_summary


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


@membership_required
def home(request):
    """The organization's landing page: headline activity and energy per team."""
    organization = request.membership.organization
    context = {
        "overview": organization_overview(organization=organization),
        "teams": team_activity_summary(organization=organization).to_dict("records"),
    }
    return render(request, "frontend/home.html", context)
