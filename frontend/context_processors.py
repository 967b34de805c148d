"""Template context shared by every page."""


def membership(request) -> dict:
    """Expose the signed-in user's membership (organization and role) to templates."""
    return {"membership": getattr(request, "membership", None)}
