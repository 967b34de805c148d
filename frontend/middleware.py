"""Attach the signed-in user's membership to every request; mark the requests that only read."""

from emissions.selectors import membership_get
from frontend.sqlite.base import reading_request

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadRequestMiddleware:
    """Marks a request with a safe method for the embedded SQLite backend (frontend/sqlite/base.py): its
    transaction reads without waiting for a writer. No effect on PostgreSQL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = reading_request.set(request.method in READ_METHODS)
        try:
            return self.get_response(request)
        finally:
            reading_request.reset(token)


class MembershipMiddleware:
    """Sets ``request.membership``: the user's Membership, or None (anonymous or not a member)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = membership_get(user=request.user)
        return self.get_response(request)
