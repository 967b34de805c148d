"""Attach the signed-in user's membership to every request."""

from emissions.selectors import membership_get


class MembershipMiddleware:
    """Sets ``request.membership``: the user's Membership, or None (anonymous or not a member)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = membership_get(user=request.user)
        return self.get_response(request)
