"""Benchmark of the CodeCarbon endpoints on gunicorn + PostgreSQL, beside Django's floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/greenguild_bench .venv/bin/python bench/codecarbon_api.py

Creates a fresh bench database (dropping any earlier one), migrates it, opens 64 runs through
``POST /api/codecarbon/runs``,
then drives ``POST /api/codecarbon/emissions`` with wrk (unique samples spread over the runs) and the
same load against ``/bench/floor`` (a view that only answers 201) under the same gunicorn settings.
Reports requests/s, median and p99 latency, errors, and checks that every answered sample was stored.
Needs wrk (Debian package ``wrk``). Not part of the test run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION_S = int(os.environ.get("BENCH_DURATION_S", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
RUNS = 64

LUA = """
-- setup() runs in the main Lua state and hands each thread its number as the global thread_id.
local threads = 0
local counter = 0
local runs = {%(runs)s}
function setup(thread) thread:set("thread_id", threads); threads = threads + 1 end
function request()
  counter = counter + 1
  local run = runs[(counter %% #runs) + 1]
  local body = string.format('{"timestamp":"%%s","run_id":"%%s","duration":1,' ..
    '"emissions_sum":1.2e-07,"emissions_rate":3.1e-08,"cpu_power":6.0,"gpu_power":0.0,"ram_power":20.0,' ..
    '"cpu_energy":8.5e-06,"gpu_energy":0.0,"ram_energy":2.2e-05,"energy_consumed":3.05e-05,' ..
    '"cpu_utilization_percent":39.7,"gpu_utilization_percent":0,"ram_utilization_percent":2.2,"wue":0.0,' ..
    '"bench_seq":"%%d-%%d"}', os.date("!%%Y-%%m-%%dT%%H:%%M:%%S+00:00"), run, thread_id, counter)
  return wrk.format("POST", nil, {["Content-Type"]="application/json", ["x-api-token"]="%(token)s"}, body)
end
"""


def _environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
    }


def _database_create(database_url: str) -> None:
    """A fresh database for every run, so earlier runs' rows do not slow this one down."""
    import psycopg

    parts = urlsplit(database_url)
    admin = parts._replace(path="/postgres").geturl()
    name = parts.path[1:]
    if not name.startswith("greenguild_bench"):
        sys.exit("the benchmark drops its database: use a name starting with greenguild_bench")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def _setup(env: dict) -> str:
    _manage(env, "migrate", "--no-input", "-v", "0")
    script = (
        "from emissions.models import Organization, Team;"
        "org, _ = Organization.objects.get_or_create(slug='bench', defaults={'name': 'Bench'});"
        "Team.objects.get_or_create(organization=org, slug='bench', defaults={'name': 'Bench'})"
    )
    _manage(env, "shell", "-v", "0", "-c", script)
    return _manage(env, "create_token", "--org", "bench", "--project", "bench-model", "--name", "bench").strip()


def _open_runs(token: str) -> list[str]:
    body = json.loads((ROOT / "tests/ingest/fixtures/codecarbon/codecarbon_api_run.json").read_text())
    ids = []
    for _ in range(RUNS):
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/api/codecarbon/runs",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "x-api-token": token},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            ids.append(json.load(response)["id"])
    return ids


def _wrk(path: str, script: Path) -> dict:
    output = subprocess.run(  # noqa: S603
        [shutil.which("wrk"), "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{PORT}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def latency_ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)", output, re.MULTILINE).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "median_ms": latency_ms("50%"),
        "p99_ms": latency_ms("99%"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
        "raw": output,
    }


def _samples_stored(env: dict) -> int:
    script = (
        "from emissions.models import RunSample;"
        "print(RunSample.objects.filter(run__project__slug='bench-model').count())"
    )
    return int(_manage(env, "shell", "-v", "0", "-c", script).strip())


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/greenguild_bench")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("the benchmark measures PostgreSQL: set DATABASE_URL=postgres://…")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    _database_create(database_url)
    env = _environment(database_url)
    token = _setup(env)
    before = _samples_stored(env)
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "bench.wsgi:application", "--workers", str(WORKERS),
         "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        time.sleep(3)
        runs = _open_runs(token)
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "emission.lua"
            script.write_text(LUA % {"runs": ",".join(f'"{run}"' for run in runs), "token": token})
            emissions = _wrk("/api/codecarbon/emissions", script)
            floor = _wrk("/bench/floor", script)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    stored = _samples_stored(env) - before
    result = {
        "setup": f"gunicorn {WORKERS} sync workers, wrk 2 threads × {CONNECTIONS} connections, {DURATION_S} s, "
        f"PostgreSQL, {os.cpu_count()} CPUs",
        "emissions": {k: v for k, v in emissions.items() if k != "raw"},
        "floor": {k: v for k, v in floor.items() if k != "raw"},
        "floor_ratio": emissions["requests_per_s"] / floor["requests_per_s"],
        "samples_stored": stored,
    }
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "codecarbon_api.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
