"""Load test: 50 CodeCarbon clients post samples for 60 s while a user browses the dashboards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/greenguild_bench_load .venv/bin/python bench/load.py

Runs the product as in production on loopback only: gunicorn (4 sync workers) on PostgreSQL, Redis as
the broker and cache, and a real Celery worker. 50 runs are opened through ``POST /api/codecarbon/runs``
on 50 hosts with an ingest token located at a site (PUE 1.0, zone DE); wrk (2 threads × 50 connections, 60 s)
posts samples of 3.05e-05 kWh each; meanwhile one signed-in user reloads seven pages in a loop, and a
stray job on the same address posts samples with invalid tokens (10 per second): it is throttled (429)
while the valid trackers behind the same address are never refused.
Afterwards: no sample answered 201 is missing, none is stored twice (wrk stops counting with one request
per connection in flight, which the server still stores), the runs' energy is exactly the stored samples
× 3.05e-05 kWh, and so is the ledger's for the quarter (``inventory_calculate``). Reports requests/s,
median and p99 latency and errors for both. Needs wrk (Debian package ``wrk``). Not part of the tests.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.codecarbon_api import LUA, _database_create, _environment, _manage  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8766"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "50"))
DURATION_S = int(os.environ.get("BENCH_DURATION_S", "60"))
SAMPLE_KWH = 3.05e-05  # energy_consumed of every sample in the wrk script
PAGES = ["/", "/leaderboard/", "/budgets/", "/imports/", "/hardware/", "/cloud/", "/settings/"]
SETUP = """
from django.contrib.auth import get_user_model
from emissions.models import GridZone, Membership, Organization, Site, Team
org, _ = Organization.objects.get_or_create(slug='bench', defaults={'name': 'Bench'})
Team.objects.get_or_create(organization=org, slug='bench', defaults={'name': 'Bench'})
Site.objects.get_or_create(organization=org, slug='fra', defaults={'name': 'Frankfurt', 'ownership': 'owned',
                           'zone': GridZone.objects.get(code='DE'), 'pue': 1.0})
user = get_user_model().objects.create_user('browser', password='browser-bench')
Membership.objects.create(user=user, organization=org, role='guild_member')
"""
CHECK = """
import json
from django.db.models import Sum
from emissions.models import EmissionRecord, Organization, Run, RunSample
from emissions.periods import period_parse
from emissions.services.ledger import inventory_calculate
from django.utils import timezone
org = Organization.objects.get(slug='bench')
today = timezone.now().date()
calculation = inventory_calculate(organization=org, period=period_parse(f'{today.year}-Q{(today.month - 1) // 3 + 1}'))
runs = Run.objects.for_org(org)
ledger = EmissionRecord.objects.filter(calculation=calculation, run__isnull=False, scope=2)
print(json.dumps({'samples': RunSample.objects.filter(run__in=runs).count(),
                  'runs_energy_kwh': runs.aggregate(e=Sum('energy_kwh'))['e'] or 0.0,
                  'ledger_energy_kwh': ledger.aggregate(e=Sum('energy_kwh'))['e'] or 0.0}))
"""


def _open_runs(token: str, count: int) -> list[str]:
    body = json.loads((ROOT / "tests/ingest/fixtures/codecarbon/codecarbon_api_run.json").read_text())
    ids = []
    for client in range(count):
        # 50 trackers on 50 hosts: identical bodies at the same second would be ranks of one job on one
        # machine, counted once (emissions/services/run_ranks.py).
        host = {**body, "cpu_model": f"{body.get('cpu_model') or 'CPU'} (bench host {client})"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORT}/api/codecarbon/runs",
            data=json.dumps(host).encode(),
            headers={"Content-Type": "application/json", "x-api-token": token},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            ids.append(json.load(response)["id"])
    return ids


class Browser(threading.Thread):
    """One signed-in user reloading the dashboards until stopped; records status and latency per page."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.results: list[tuple[str, int, float]] = []
        self.stop = threading.Event()

    def login(self) -> None:
        page = self.opener.open(f"{self.base}/login/", timeout=30).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": "browser", "password": "browser-bench", "csrfmiddlewaretoken": csrf})
        request = urllib.request.Request(f"{self.base}/login/", data=form.encode(), headers={"Referer": self.base})  # noqa: S310
        self.opener.open(request, timeout=30).read()

    def run(self) -> None:
        while not self.stop.is_set():
            for path in PAGES:
                started = time.perf_counter()
                try:
                    status = self.opener.open(f"{self.base}{path}", timeout=30).status
                except urllib.error.HTTPError as error:
                    status = error.code
                except OSError:
                    status = 0
                self.results.append((path, status, (time.perf_counter() - started) * 1000))


class StrayJob(threading.Thread):
    """A misconfigured client on the trackers' own address: samples with invalid tokens, 10 per second."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.url = f"{base}/api/codecarbon/emissions"
        self.statuses: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        attempt = 0
        while not self.stop.wait(0.1):
            attempt += 1
            headers = {"Content-Type": "application/json", "x-api-token": f"gg_stray{attempt}"}
            request = urllib.request.Request(self.url, data=b"{}", headers=headers)  # noqa: S310
            try:
                status = urllib.request.urlopen(request, timeout=10).status  # noqa: S310
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0
            self.statuses[status] = self.statuses.get(status, 0) + 1


def _wrk(script: Path) -> dict:
    output = subprocess.run(  # noqa: S603
        [shutil.which("wrk"), "-t2", f"-c{CLIENTS}", f"-d{DURATION_S}s", "--timeout", "10s", "--latency",
         "-s", str(script), f"http://127.0.0.1:{PORT}/api/codecarbon/emissions"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def latency_ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)", output, re.MULTILINE).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "requests": requests,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "median_ms": latency_ms("50%"),
        "p99_ms": latency_ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
        "answered_201": requests - (int(errors.group(1)) if errors else 0),
    }


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/greenguild_bench_load")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    broker = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/9")
    _database_create(database_url)
    env = {**_environment(database_url), "DJANGO_SETTINGS_MODULE": "frontend.settings", "CELERY_BROKER_URL": broker}
    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "load_reference_data", "-v", "0")
    _manage(env, "shell", "-v", "0", "-c", SETUP)
    token = _manage(env, "create_token", "--org", "bench", "--project", "bench-model", "--site", "fra").strip()
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "frontend.wsgi:application", "--workers", "4",
             "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"], cwd=ROOT, env=env),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "frontend", "worker", "--concurrency", "1",
             "-Q", "default,ingest,reporting", "--loglevel", "WARNING"], cwd=ROOT, env=env),
    ]  # fmt: skip
    try:
        time.sleep(4)
        runs = _open_runs(token, CLIENTS)
        browser = Browser(f"http://127.0.0.1:{PORT}")
        browser.login()
        browser.start()
        stray = StrayJob(f"http://127.0.0.1:{PORT}")
        stray.start()
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "emission.lua"
            script.write_text(LUA % {"runs": ",".join(f'"{run}"' for run in runs), "token": token})
            samples = _wrk(script)
        browser.stop.set()
        stray.stop.set()
        browser.join(timeout=60)
        stray.join(timeout=60)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    stored = json.loads(_manage(env, "shell", "-v", "0", "-c", CHECK).strip().splitlines()[-1])
    latencies = sorted(ms for _, status, ms in browser.results if status == 200)
    pages = {
        "page_views": len(browser.results),
        "errors": sum(1 for _, status, _ in browser.results if status != 200),
        "median_ms": statistics.median(latencies) if latencies else None,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
    }
    # wrk stops counting at the deadline with one request per connection still in flight; the server
    # answers those too. So: no answered sample lost (stored >= answered), none doubled (stored <= answered
    # + connections), and every stored sample's energy in the runs and in the ledger, exactly.
    stored_kwh = stored["samples"] * SAMPLE_KWH
    result = {
        "setup": f"gunicorn 4 workers + Celery worker, PostgreSQL, Redis, wrk 2 threads × {CLIENTS} connections, "
        f"{DURATION_S} s, {os.cpu_count()} CPUs",
        "samples": samples,
        "browsing": pages,
        "stray_invalid_tokens": {str(status): count for status, count in sorted(stray.statuses.items())},
        "stored": stored,
        "sum_check": {
            "in_flight_at_deadline": stored["samples"] - samples["answered_201"],
            "none_lost": stored["samples"] >= samples["answered_201"],
            "none_doubled": stored["samples"] <= samples["answered_201"] + CLIENTS,
            "runs_energy_exact": abs(stored["runs_energy_kwh"] - stored_kwh) <= 1e-9 * max(stored_kwh, 1),
            "ledger_energy_exact": abs(stored["ledger_energy_kwh"] - stored_kwh) <= 1e-9 * max(stored_kwh, 1),
        },
    }
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "load.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
