"""Fault runs on a private PostgreSQL cluster and a private Redis: restart the database, stop the broker.

    .venv/bin/python bench/faults.py        # as root (initdb runs as the postgres user); loopback only

Builds its own PostgreSQL 15 cluster (``initdb`` in a temporary folder, port 55432) and Redis (port
56379), so the shared services are never touched; runs gunicorn (2 workers) and a Celery worker on them.
A tracker posts samples one after another for the whole run while ``/readyz`` is polled:

1. PostgreSQL stopped for 5 s, then started: the API must answer 503 (never 500) while it is away,
   ``/readyz`` must say 503, and afterwards every sample answered 201 is stored once.
2. Redis stopped for 10 s, then started: samples keep flowing (the broker is not on their path),
   ``/readyz`` says 503 until Redis is back.

Prints the status counts per phase and the sum check. Not part of the test run.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import SETUP, _open_runs  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT, REDIS_PORT, PORT = 55432, 56379, 8767
SAMPLE = json.loads((ROOT / "tests/ingest/fixtures/codecarbon/codecarbon_api_emission.json").read_text())


def _as_postgres(*command: str) -> None:
    subprocess.run(["su", "postgres", "-c", " ".join(command)], check=True, capture_output=True)  # noqa: S603, S607


class Poller(threading.Thread):
    """Posts samples one after another and polls /readyz; records (phase, status) for each."""

    def __init__(self, token: str, run_id: str):
        super().__init__(daemon=True)
        self.token, self.run_id = token, run_id
        self.phase = "before"
        self.samples: list[tuple[str, int]] = []
        self.ready: list[tuple[str, int]] = []
        self.stop = threading.Event()

    def _call(self, request) -> int:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def run(self) -> None:
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            body = {**SAMPLE, "run_id": self.run_id, "timestamp": f"2026-11-23T12:{sequence // 60 % 60:02d}:"
                    f"{sequence % 60:02d}.{sequence:06d}+00:00", "energy_consumed": 0.001}  # fmt: skip
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/api/codecarbon/emissions",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "x-api-token": self.token},
            )
            self.samples.append((self.phase, self._call(request)))
            self.ready.append((self.phase, self._call(f"http://127.0.0.1:{PORT}/readyz")))
            time.sleep(0.05)


def main() -> None:
    if os.geteuid() != 0 or not PG_BIN.exists() or shutil.which("redis-server") is None:
        sys.exit("needs root, PostgreSQL 15 binaries in /usr/lib/postgresql/15/bin and redis-server")
    folder = Path(tempfile.mkdtemp(prefix="gg-faults-"))
    folder.chmod(0o755)  # the postgres user must reach its data folder inside
    data = folder / "pg"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    start = (str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", f"'-p {PG_PORT} -k /tmp'", "-l", str(data / "log"), "-w")
    _as_postgres(*start, "start")
    subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--daemonize", "yes",  # noqa: S603, S607
                    "--save", "", "--appendonly", "no"], check=True)  # fmt: skip
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "frontend.settings", "DEBUG": "0", "SECURE_COOKIES": "0",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres", "ALLOWED_HOSTS": "127.0.0.1",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0", "LOG_LEVEL": "ERROR", "MEDIA_ROOT": str(folder),
        "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key-0123456789",
    }  # fmt: skip

    def manage(*args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,  # noqa: S603
                              capture_output=True, text=True, check=True).stdout  # fmt: skip

    manage("migrate", "--no-input", "-v", "0")
    manage("load_reference_data", "-v", "0")
    manage("shell", "-v", "0", "-c", SETUP)
    token = manage("create_token", "--org", "bench", "--project", "faults", "--site", "fra").strip()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "frontend.wsgi:application", "--workers", "2",  # noqa: S603
                               "--bind", f"127.0.0.1:{PORT}", "--log-level", "error"], cwd=ROOT, env=env)  # fmt: skip
    try:
        time.sleep(4)
        import bench.load as load

        load.PORT = PORT
        [run_id] = _open_runs(token, 1)
        poller = Poller(token, run_id)
        poller.start()
        time.sleep(5)
        poller.phase = "database stopped"
        _as_postgres(*start, "stop", "-m", "fast")
        time.sleep(5)
        _as_postgres(*start, "start")
        poller.phase = "database back"
        time.sleep(5)
        poller.phase = "broker stopped"
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True)  # noqa: S603, S607
        time.sleep(10)
        subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--daemonize", "yes",  # noqa: S603, S607
                        "--save", "", "--appendonly", "no"], check=True)  # fmt: skip
        poller.phase = "broker back"
        time.sleep(5)
        poller.stop.set()
        poller.join(timeout=30)
        stored = json.loads(manage("shell", "-v", "0", "-c", (
            "import json; from django.db.models import Sum; from emissions.models import Run;"
            f"run = Run.objects.get(external_id='{run_id}');"
            "print(json.dumps({'samples': run.samples.count(), 'energy_kwh': run.energy_kwh}))"
        )).strip().splitlines()[-1])  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True)  # noqa: S603, S607
        subprocess.run(["su", "postgres", "-c", " ".join((*start, "stop", "-m", "immediate"))], capture_output=True)  # noqa: S603, S607
        shutil.rmtree(folder, ignore_errors=True)
    phases = list(dict.fromkeys(phase for phase, _ in poller.samples))
    answered = sum(1 for _, status in poller.samples if status == 201)
    result = {
        "samples_by_phase": {p: dict(collections.Counter(s for q, s in poller.samples if q == p)) for p in phases},
        "readyz_by_phase": {p: dict(collections.Counter(s for q, s in poller.ready if q == p)) for p in phases},
        "answered_201": answered,
        "stored": stored,
        "no_500": all(status != 500 for _, status in poller.samples),
        "every_answered_sample_stored_once": stored["samples"] == answered,
        "energy_exact": abs(stored["energy_kwh"] - answered * 0.001) < 1e-9,
    }
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "faults.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
