"""Helpers of the guild tests: rollup rows written directly, and a real local webhook receiver."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emissions.choices import ActivityKind, Basis, QualityTier
from emissions.models import DailyEmissionRollup, Organization


def rollup_add(
    organization: Organization,
    day: date,
    kg: float,
    *,
    market: float | None = None,
    team=None,
    project=None,
    quality: str = QualityTier.METERED,
    basis: str = Basis.OPERATIONAL,
    gpu_hours: float = 0.0,
    scope: int = 2,
) -> DailyEmissionRollup:
    """One rollup row (the read side's input) of ``kg`` location-based kgCO2e on ``day``."""
    if project is not None and team is None:
        team = project.team
    return DailyEmissionRollup.objects.create(
        organization=organization,
        day=day,
        team=team,
        project=project,
        scope=scope,
        scope3_category=None if scope != 3 else 2,
        basis=basis,
        quality=quality,
        activity_kind=ActivityKind.RUN,
        emissions_kg_co2e_location=kg,
        emissions_kg_co2e_market=kg if market is None else market,
        energy_kwh=0.0,
        gpu_hours=gpu_hours,
    )


@contextmanager
def webhook_receiver(status: int = 200):
    """A real HTTP server on 127.0.0.1 recording each POSTed JSON body; yields (url, bodies)."""
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            bodies.append({"json": json.loads(self.rfile.read(length)), "content_type": self.headers["Content-Type"]})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            """Silent: the test output stays readable."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/carbon", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
