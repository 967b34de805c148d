"""Cache headers for the vendored browser libraries (WhiteNoise's ``WHITENOISE_ADD_HEADERS_FUNCTION``).

plotly.js is 4.8 MB (1.5 MB as the ``.gz`` copy next to it, which WhiteNoise serves to any browser that
accepts gzip, in every mode). In production its name carries a content hash and is cached for good
(``STATIC_MANIFEST=1``); without the manifest, as under ``make run``, WhiteNoise's default is to make the
browser ask again on every page (DEBUG) or after a minute. Vendored files change only when their version
is replaced (static/frontend/vendor/README.md), so they are kept for an hour instead; our own scripts and
styles keep the default, so edits show on the next reload.
"""

VENDOR_PREFIX = "/static/frontend/vendor/"
VENDOR_MAX_AGE_S = 3600


def vendor_cache_headers(headers, path: str, url: str) -> None:
    """An hour's caching for unhashed vendored files; hashed (immutable) names keep their far-future header."""
    if url.startswith(VENDOR_PREFIX) and "immutable" not in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = f"max-age={VENDOR_MAX_AGE_S}, public"
