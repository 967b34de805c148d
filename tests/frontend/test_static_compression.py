"""plotly.js and htmx travel gzipped and are cached, with or without collectstatic (issue 19, "Speed")."""

import gzip
from pathlib import Path

import pytest
from django.test import Client, override_settings

VENDOR = Path(__file__).resolve().parents[2] / "frontend/static/frontend/vendor"
FILES = ["plotly/plotly.min.js", "htmx/htmx.min.js"]


@pytest.mark.parametrize("name", FILES)
def test_each_gzip_copy_is_its_file(name):
    # A replaced library with a stale .gz would serve the old version to every browser that accepts gzip.
    assert gzip.decompress((VENDOR / f"{name}.gz").read_bytes()) == (VENDOR / name).read_bytes()


@pytest.mark.parametrize("debug", [True, False])
def test_plotly_is_served_gzipped_and_cached_without_collectstatic(debug):
    # make run: DEBUG on, files found by the finders and nothing collected; the same without DEBUG.
    with override_settings(DEBUG=debug, WHITENOISE_AUTOREFRESH=True, WHITENOISE_USE_FINDERS=True):
        response = Client().get("/static/frontend/vendor/plotly/plotly.min.js", HTTP_ACCEPT_ENCODING="gzip, br")
        body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip" and len(body) < 2_000_000
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "max-age=3600, public"
    assert gzip.decompress(body).startswith(b"/**\n* plotly.js v")


def test_our_own_scripts_keep_the_default_and_a_browser_without_gzip_gets_the_plain_file():
    with override_settings(DEBUG=True, WHITENOISE_AUTOREFRESH=True, WHITENOISE_USE_FINDERS=True):
        site = Client().get("/static/frontend/site.js", HTTP_ACCEPT_ENCODING="gzip")
        plain = Client().get("/static/frontend/vendor/htmx/htmx.min.js", HTTP_ACCEPT_ENCODING="identity")
        b"".join(site.streaming_content), b"".join(plain.streaming_content)
    assert site["Cache-Control"] == "max-age=0, public"  # edits show on the next reload
    assert "Content-Encoding" not in plain and int(plain["Content-Length"]) == (VENDOR / FILES[1]).stat().st_size
