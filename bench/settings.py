"""Benchmark settings: the product's settings plus a floor view (a bare 201) to compare against."""

from frontend.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
