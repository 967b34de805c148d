"""Content-Security-Policy and the other response headers Django 5.2 does not set itself.

The policy names no origin but our own: plotly.js and htmx are served from our static files, and chart
data travels as ``<script type="application/json">`` (data, never executed). ``style-src`` allows
inline styles because plotly.js and htmx insert ``<style>`` elements for their own widgets; scripts
get no such exception.
"""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Adds ``Content-Security-Policy``, ``Permissions-Policy`` and ``Cross-Origin-Opener-Policy``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
