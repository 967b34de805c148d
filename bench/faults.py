"""Fault runs on a private PostgreSQL cluster and a private Redis: restart the database, stop the broker.

    .venv/bin/python bench/faults.py        # as root (initdb runs as the postgres user); loopback only

Builds its own PostgreSQL 15 cluster (``initdb`` in a temporary folder, port 55432) and Redis (port
56379), so the shared services are never touched; runs gunicorn (2 workers) and a Celery worker on them.
A tracker posts samples one after another for the whole run while ``/readyz`` is polled:

1. PostgreSQL stopped for 5 s, then started: the API must answer 503 (never 500) while it is away,
   ``/readyz`` must say 503, and afterwards every sample answered 201 is stored once.
2. Redis stopped for 10 s, then started: samples keep flowing (the broker is not on their path),
   ``/readyz`` says 503 until Redis is back.
3. A billing import under faults: a synthetic 200,000-line AWS CUR (bench/billing_ingest.py) is stored
   as a batch through ``import_batch_create`` (the upload API's service), and a Celery worker (prefork,
   2 processes) imports it in pieces (``IMPORT_PIECE_BYTES`` 8 MiB: 10 pieces). Once two pieces are
   done, PostgreSQL is stopped for 5 s (``BENCH_IMPORT_DB_DOWN_S``) and started; two pieces later the
   whole worker is SIGKILLed (its process group: no clean shutdown) and a new one started. The batch
   must then finish ``done`` with every line of the file stored once (count, distinct line ids, cost
   summed from the file by pyarrow, energy estimated from the file alone) and the month's ledger
   (``inventory_calculate``) equal to that of the same file imported without faults into a reference
   organization. A killed worker's tasks come back after the broker's visibility timeout: 60 s here
   (``BENCH_VISIBILITY_TIMEOUT_S``); production's 3,900 s covers the 1 h task limit, and the beat sweep
   ``import_chunks_resume`` sends a stalled batch's pieces again after 15 min.

Prints the status counts per phase, the sum check and the import's figures. Not part of the test run.
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
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import SETUP, _open_runs  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT, REDIS_PORT, PORT = 55432, 56379, 8767
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "200000"))
PIECE_BYTES = 8 * 1024**2
VISIBILITY_TIMEOUT_S = int(os.environ.get("BENCH_VISIBILITY_TIMEOUT_S", "60"))
IMPORT_DB_DOWN_S = float(os.environ.get("BENCH_IMPORT_DB_DOWN_S", "5"))
COST_COLUMN = "lineItem/UnblendedCost"
SAMPLE = json.loads((ROOT / "tests/ingest/fixtures/codecarbon/codecarbon_api_emission.json").read_text())


def _as_postgres(*command: str) -> None:
    subprocess.run(["su", "postgres", "-c", " ".join(command)], check=True, capture_output=True)  # noqa: S603, S607


def _pg(sql: str, *params) -> list[tuple] | None:
    """Rows of one query on the private cluster, or None while it is away."""
    import psycopg

    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres", connect_timeout=3) as conn:
            return conn.execute(sql, params).fetchall()
    except psycopg.Error:
        return None


def _chunks(batch_id: int) -> tuple[int, int]:
    """(done, all) chunks of the batch; (-1, -1) while the database is away."""
    rows = _pg("SELECT count(*) FILTER (WHERE status = 'done'), count(*) FROM ingest_importchunk WHERE batch_id = %s",
               batch_id)  # fmt: skip
    return rows[0] if rows else (-1, -1)


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def _file_expected(path: Path) -> dict:
    """What the generated file holds, read with pyarrow (no product code): lines, distinct ids, cost."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv

    options = pyarrow.csv.ConvertOptions(column_types={COST_COLUMN: pa.decimal128(18, 6)})
    table = pyarrow.csv.read_csv(path, convert_options=options)
    return {
        "lines": table.num_rows,
        "distinct_line_ids": pc.count_distinct(table["identity/LineItemId"]).as_py(),
        "cost": str(pc.sum(table[COST_COLUMN]).as_py()),
    }


class Worker:
    """A Celery worker (prefork, 2 processes) in its own process group, logging to a file."""

    def __init__(self, env: dict, log_path: Path):
        command = [
            sys.executable, "-m", "celery", "-A", "frontend", "worker", "--pool=prefork", "--concurrency=2",
            "-Q", "default,ingest,reporting", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=INFO", f"--logfile={log_path}",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
        )

    def kill(self) -> None:
        """SIGKILL to the whole group, as when the machine or the OOM killer takes it: no clean shutdown."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: the main process lets its children finish
            self.process.wait(timeout=120)


SUBMIT = """
from emissions.models import Organization
from ingest.services import import_batch_create
with open(path, 'rb') as handle:
    batch = import_batch_create(organization=Organization.objects.get(slug='bench'), source='aws_cur',
                                filename='cur-faults.csv', stream=handle)
print(batch.pk)
"""
REFERENCE = """
from django.conf import settings
from emissions.models import Organization, Team
from frontend.celery import app
from ingest.models import ImportBatch
from ingest.services import import_batch_create
bench = Organization.objects.get(slug='bench')
org = Organization.objects.create(slug='reference', name='Reference')
for team in Team.objects.filter(organization=bench).order_by('pk'):
    Team.objects.create(organization=org, slug=team.slug, name=team.name)
settings.IMPORT_PIECE_BYTES = 1 << 40  # one task, in this process: the fault-free path
app.conf.task_always_eager = True
with open(path, 'rb') as handle:  # the commit runs the task here, eagerly
    batch = import_batch_create(organization=org, source='aws_cur', filename='cur-reference.csv', stream=handle)
print(ImportBatch.objects.get(pk=batch.pk).status)
"""
CHECK = """
import json
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce
from emissions.models import CloudUsage, EmissionRecord, Organization
from emissions.periods import period_parse
from emissions.services.ledger import inventory_calculate
from ingest.loaders import cloud_estimator
from ingest.models import ImportBatch, ImportChunk
from ingest.parsers import aws_cur
ENERGY = ('compute_energy_kwh', 'gpu_energy_kwh', 'memory_energy_kwh', 'storage_energy_kwh', 'network_energy_kwh')
def stored(batch_id):
    lines = CloudUsage.objects.filter(source_batch_id=batch_id)
    totals = lines.aggregate(lines=Count('id'), keys=Count('line_item_key', distinct=True), cost=Sum('cost'),
                             it_kwh=Sum(sum(Coalesce(F(name), 0.0) for name in ENERGY)))
    return {**totals, 'cost': str(totals['cost'])}
def ledger(slug):
    org = Organization.objects.get(slug=slug)
    calculation = inventory_calculate(organization=org, period=period_parse('2025-03'))
    records = EmissionRecord.objects.filter(calculation=calculation, activity_kind='cloud_usage')
    totals = records.aggregate(energy_kwh=Sum('energy_kwh'), kg_co2e=Sum('emissions_kg_co2e_location'))
    return {**totals, 'lines': sum(r.factors.get('lines', 0) for r in records)}
# Energy estimated from the file alone: the parser and the estimator, no database, no pieces.
estimator = cloud_estimator()
it_kwh = usage_lines = 0
with open(path, 'rb') as handle:
    for rows in aws_cur.read_chunks(handle, chunk_rows=10000):
        for row in rows:
            if not hasattr(row, 'record'):  # a row error: the generated file has none
                continue
            it_kwh += estimator(row.record).it_energy_kwh
            usage_lines += row.record.charge_category == 'usage'
batch = ImportBatch.objects.get(pk=batch_id)
chunks = ImportChunk.objects.filter(batch=batch)
print(json.dumps({
    'batch': {'status': batch.status, 'error': batch.error, 'rows_total': batch.rows_total,
               'rows_loaded': batch.rows_loaded, 'rows_duplicate': batch.rows_duplicate,
               'rows_rejected': batch.rows_rejected, 'chunks': chunks.count(),
               'chunks_done': chunks.filter(status='done').count(),
               'chunk_rows_total': chunks.aggregate(n=Sum('rows_total'))['n']},
    'stored': stored(batch_id), 'file_estimate': {'it_kwh': it_kwh, 'usage_lines': usage_lines},
    'ledger': ledger('bench'), 'reference_ledger': ledger('reference'),
}))
"""


def billing_import_phase(poller: Poller, manage, env: dict, folder: Path, pg_ctl: tuple[str, ...]) -> dict:
    """Phase 3: PostgreSQL restarted during a split billing import, then the worker SIGKILLed during it."""
    from bench.billing_ingest import cur_generate

    path = folder / "cur-faults.csv"
    cur_generate(path, IMPORT_ROWS)
    path.chmod(0o644)
    expected = _file_expected(path)
    worker_env = {
        **env,
        "IMPORT_PIECE_BYTES": str(PIECE_BYTES),
        "CELERY_VISIBILITY_TIMEOUT_S": str(VISIBILITY_TIMEOUT_S),
    }
    logs = [folder / "worker-1.log", folder / "worker-2.log"]
    worker = Worker(worker_env, logs[0])
    events: dict[str, object] = {}
    started = time.monotonic()
    try:
        poller.phase = "import running"
        batch_id = int(manage("shell", "-v", "0", "-c", f"path = {str(path)!r}\n" + SUBMIT).split()[-1])
        _wait(lambda: _chunks(batch_id)[0] >= 2, 600, "two chunks done")
        events["chunks_at_database_stop"] = _chunks(batch_id)
        poller.phase = "import: database stopped"
        _as_postgres(*pg_ctl, "stop", "-m", "fast")
        time.sleep(IMPORT_DB_DOWN_S)
        _as_postgres(*pg_ctl, "start")
        poller.phase = "import: database back"
        after_restart = _chunks(batch_id)[0]
        _wait(lambda: _chunks(batch_id)[0] >= after_restart + 2, 600, "two more chunks after the restart")
        done, total = _chunks(batch_id)
        events["chunks_at_worker_kill"] = (done, total)
        if done >= total:
            raise RuntimeError("the import finished before the kill: raise BENCH_IMPORT_ROWS")
        worker.kill()
        poller.phase = "import: worker killed, new one"
        worker = Worker(worker_env, logs[1])
        batch_finished = (
            "SELECT status FROM ingest_importbatch WHERE id = %s AND status IN ('done', 'partial', 'failed')"
        )
        _wait(lambda: _pg(batch_finished, batch_id), 1800, "the batch to finish")
        events["import_wall_s"] = round(time.monotonic() - started, 1)
        poller.phase = "import finished"
    finally:
        worker.stop()
    log = "".join(p.read_text(errors="replace") for p in logs if p.exists())
    events["task_retries_logged"] = log.count("retry: Retry in")
    events["tasks_given_up_logged"] = log.count("raised unexpected")
    events["chunk_tasks_succeeded_logged"] = sum(
        1 for line in log.splitlines() if "import_chunk_process_task" in line and "succeeded" in line
    )
    manage("shell", "-v", "0", "-c", f"path = {str(path)!r}\n" + REFERENCE)
    found = json.loads(
        manage("shell", "-v", "0", "-c", f"path, batch_id = {str(path)!r}, {batch_id}\n" + CHECK).splitlines()[-1]
    )
    stored, ledger, reference = found["stored"], found["ledger"], found["reference_ledger"]

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)

    return {
        "file": expected,
        "events": events,
        **found,
        "checks": {
            "batch_done": found["batch"]["status"] == "done",
            "every_line_stored": stored["lines"] == expected["lines"] == found["batch"]["rows_loaded"],
            "no_line_doubled": stored["keys"] == stored["lines"] and found["batch"]["rows_duplicate"] == 0,
            "pieces_count_the_file_once": found["batch"]["chunk_rows_total"] == expected["lines"],
            "cost_equals_file_sum": Decimal(stored["cost"]) == Decimal(expected["cost"]),
            "energy_equals_file_estimate": close(stored["it_kwh"], found["file_estimate"]["it_kwh"]),
            "ledger_lines_equal_file_usage_lines": ledger["lines"] == found["file_estimate"]["usage_lines"],
            "ledger_equals_fault_free_import": close(ledger["energy_kwh"], reference["energy_kwh"])
            and close(ledger["kg_co2e"], reference["kg_co2e"]),
        },
    }


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
        billing = billing_import_phase(poller, manage, env, folder, start)
        time.sleep(3)
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
        "billing_import_under_faults": billing,
    }
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "faults.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
