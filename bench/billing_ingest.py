"""Benchmark of the cloud billing path on PostgreSQL: a synthetic 1,000,000-row export (AWS CUR by default,
``BENCH_DIALECT=azure_cost`` for Azure EA cost details, ``focus`` for FOCUS 1.2, ``gcp_billing`` for the
GCP BigQuery CSV), parsed,
estimated, attributed, stored and accounted (ledger for the month), beside the floor (reading the same
file with pyarrow and COPYing it raw into PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/greenguild_bench_billing .venv/bin/python bench/billing_ingest.py

The import runs as in production: the file is stored as a batch, and a real Celery worker pool (prefork,
Redis broker, BENCH_WORKERS processes: "1,2" by default, one run each) imports it in pieces. Options:
BENCH_ROWS (default 1,000,000), BENCH_BROKER_URL (default redis://127.0.0.1:6379/13, flushed). Reports
wall seconds to the finished batch and to the month's ledger, peak memory of the worker pool (all its
processes together: proportional sets, shared pages once, and resident sets; and the largest process), and
the import's multiple of the floor (measured just before and just after each import, both after an untimed
first read: their mean), and the CPU seconds PostgreSQL and the pool spent during the import beside those of
the floor (its Python process and PostgreSQL): on two CPUs the import cannot take less than half their sum;
and the pool's minor page faults during the import. The pool starts 5 s before the file is submitted (as
it runs before any upload in production): its start-up is neither timed nor counted.
BENCH_LEDGER=0: the import alone, no ledger. Not part of the test run.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "ingest" / "fixtures" / "billing" / "aws_cur.csv"
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
DIALECT = os.environ.get("BENCH_DIALECT", "aws_cur")
# BENCH_FORMAT=parquet: the same lines as a typed Parquet file (types as Arrow infers them from the CSV) in row
# groups of 100,000 lines; jsonl (gcp_billing only): the BigQuery JSON export, dotted columns as nested objects.
FORMAT = os.environ.get("BENCH_FORMAT", "csv")


START = datetime(2025, 3, 1, tzinfo=UTC)
ISO = "%Y-%m-%dT%H:%M:%SZ"


def _generate(path: Path, rows: int, sample: str, edit, extra_columns: tuple[str, ...] = ()) -> None:
    """Repeat a sample's lines ``rows`` times; ``edit(row, i, step, column)`` makes line ``i`` its own, where
    ``step`` counts the passes over the sample and ``column`` maps a column name to its index."""
    with SAMPLE.with_name(sample).open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        templates = list(reader)
    column = {name: index for index, name in enumerate([*header, *extra_columns])}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, *extra_columns])
        for i in range(rows):
            row = [*templates[i % len(templates)], *([""] * len(extra_columns))]
            edit(row, i, i // len(templates), column)
            writer.writerow(row)


def _cur_edit(row: list, i: int, step: int, column: dict) -> None:
    hour = START + timedelta(hours=step % (31 * 24))
    row[column["identity/LineItemId"]] = _line_item_id(i)
    row[column["lineItem/UsageStartDate"]] = hour.strftime(ISO)
    row[column["lineItem/UsageEndDate"]] = (hour + timedelta(hours=1)).strftime(ISO)
    if row[column["lineItem/ResourceId"]]:
        row[column["lineItem/ResourceId"]] += f"-{i % 5000}"


def _line_item_id(i: int) -> str:
    """A line item id as AWS writes them: 52 lowercase base32 characters, in no order (ids numbered in
    file order would have every import add its keys at the end of the unique key's index, which no real CUR
    does)."""
    return base64.b32encode(hashlib.sha256(f"bench{i}".encode()).digest()).decode()[:52].lower()


def _azure_edit(row: list, i: int, step: int, column: dict) -> None:
    # Azure lines have no id: a resource per line keeps their row digests apart.
    row[column["Date"]] = f"03/{step % 31 + 1:02d}/2025"
    row[column["ResourceId"]] += f"-{i}"


def _focus_edit(row: list, i: int, step: int, column: dict) -> None:
    day = START + timedelta(days=step % 31)
    row[column["ChargePeriodStart"]] = day.strftime(ISO)
    row[column["ChargePeriodEnd"]] = (day + timedelta(days=1)).strftime(ISO)
    row[column["ResourceId"]] += f"-{i}"


def _gcp_edit(row: list, i: int, step: int, column: dict) -> None:
    hour = START + timedelta(hours=step % (31 * 24))
    row[column["usage_start_time"]] = hour.strftime("%Y-%m-%d %H:%M:%S UTC")
    row[column["usage_end_time"]] = (hour + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
    row[column["resource.name"]] = f"vm-{i}"  # the sample names no resource: one per line here


def cur_generate(path: Path, rows: int) -> None:
    """The CUR sample over March 2025, hour by hour, with unique line item and resource ids."""
    _generate(path, rows, "aws_cur.csv", _cur_edit)


GENERATORS = {
    "aws_cur": cur_generate,
    "azure_cost": lambda path, rows: _generate(path, rows, "azure_cost.csv", _azure_edit),
    "focus": lambda path, rows: _generate(path, rows, "focus.csv", _focus_edit),
    "gcp_billing": lambda path, rows: _generate(path, rows, "gcp_billing.csv", _gcp_edit, ("resource.name",)),
}


def _database_fresh(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path[1:]
    if not name.startswith("greenguild_bench"):
        sys.exit("the benchmark drops its database: use a name starting with greenguild_bench")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def jsonl_write(csv_path: Path, path: Path) -> None:
    """The BigQuery JSON lines export of a GCP CSV: dotted columns nested (``service.id`` → ``service: {id}``),
    label and credit lists decoded, numbers as numbers."""
    lists = {"project.labels", "labels", "system_labels", "credits"}
    numbers = {"cost", "usage.amount", "usage.amount_in_pricing_units"}
    with csv_path.open(newline="") as source, path.open("w") as target:
        for row in csv.DictReader(source):
            record: dict = {}
            for name, cell in row.items():
                value = json.loads(cell or "[]") if name in lists else float(cell) if name in numbers else cell
                *parents, leaf = name.split(".")
                node = record
                for parent in parents:
                    node = node.setdefault(parent, {})
                node[leaf] = value
            target.write(json.dumps(record) + "\n")


def floor(path: Path, database_url: str) -> dict:
    """Read the file with pyarrow, and COPY it raw (text columns) into PostgreSQL: CSV as it is, Parquet as CSV
    text written by Arrow, JSON lines as they are, a line per row."""
    import io

    import psycopg
    import pyarrow.csv
    import pyarrow.json
    import pyarrow.parquet

    started, python_started = time.perf_counter(), time.process_time()
    postgres_start = _cpu_seconds(_processes(), set())
    text, options = None, "FORMAT csv, HEADER true"
    if path.suffix == ".parquet":
        table = pyarrow.parquet.read_table(path)
        text = io.BytesIO()
        pyarrow.csv.write_csv(table, text)
        text.seek(0)
    elif path.suffix == ".jsonl":
        table = pyarrow.json.read_json(path)
        options = "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"  # one column: the line, nothing quoted
    else:
        table = pyarrow.csv.read_csv(path)
    read_s = time.perf_counter() - started
    width = 1 if path.suffix == ".jsonl" else table.num_columns
    columns = ", ".join(f'"c{i}" text' for i in range(width))
    with psycopg.connect(database_url) as connection:
        connection.execute(f"CREATE TABLE bench_raw ({columns})")
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY bench_raw FROM STDIN WITH ({options})") as copy,
            text or path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        connection.commit()
        postgres_s = _cpu_spent(postgres_start, _cpu_seconds(_processes(), set()), "postgres")  # backend still up
    return {
        "rows": table.num_rows, "read_s": read_s, "total_s": time.perf_counter() - started,
        "cpu_postgres_s": postgres_s, "cpu_python_s": time.process_time() - python_started,
    }  # fmt: skip


def _setup() -> None:
    """Child: a fresh schema, the reference data and the bench organization."""
    import django

    django.setup()
    from django.core.management import call_command

    from emissions.models import Organization, Team

    call_command("migrate", "--no-input", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    organization, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    Team.objects.get_or_create(organization=organization, slug="ml-research", defaults={"name": "ML research"})


def _submit(path: Path) -> dict:
    """Child: store the file as a batch (the commit enqueues it for the workers), wait, then the ledger."""
    import django

    django.setup()
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from emissions.models import Organization
    from emissions.periods import period_parse
    from emissions.selectors import inventory_summary
    from emissions.services.ledger import inventory_calculate
    from ingest.models import ImportBatch, ImportChunk
    from ingest.services import import_batch_create

    organization = Organization.objects.get(slug="bench")
    # The file as a view receives an upload: Django has written it to a temporary file while the request
    # arrived (not timed, as the transfer is not); the timer starts where the view's work does.
    upload = TemporaryUploadedFile(path.name, "text/csv", path.stat().st_size, None)
    with path.open("rb") as handle:
        shutil.copyfileobj(handle, upload.file, 1 << 20)
    upload.file.flush()
    os.sync()
    started, started_at = time.perf_counter(), time.time()
    with upload:
        batch = import_batch_create(organization=organization, source=DIALECT, filename=path.name, stream=upload)
    stored_s, split_s = time.perf_counter() - started, None
    while batch.status not in ImportBatch.FINISHED:
        time.sleep(0.1)
        if split_s is None and ImportChunk.objects.filter(batch=batch).exists():
            split_s = time.perf_counter() - started
        batch.refresh_from_db()
    import_s = time.perf_counter() - started
    chunk_ends = sorted(
        end.timestamp() - started_at
        for end in ImportChunk.objects.filter(batch=batch).values_list("finished_at", flat=True)
    )
    (path.parent / "imported").touch()  # tells the parent the import is over (the ledger's CPU is not its)
    if os.environ.get("BENCH_LEDGER", "1") == "0":  # the import alone
        summary, total_s = {"scope_3_kg_by_category": {}}, None
    else:
        calculation = inventory_calculate(organization=organization, period=period_parse("2025-03"))
        total_s = time.perf_counter() - started
        summary = inventory_summary(calculation=calculation)
    return {
        "status": batch.status,
        "error": batch.error,
        "rows_total": batch.rows_total,
        "rows_loaded": batch.rows_loaded,
        "rows_rejected": batch.rows_rejected,
        "chunks": ImportChunk.objects.filter(batch=batch).count(),
        "import_s": import_s,
        # Where the wall time goes: the upload stored (hashed while copied), the file cut into pieces and
        # recorded (seen by polling every 0.1 s), the first and last piece done, the batch finalized.
        "phases_s": {
            "stored": stored_s,
            "split": split_s,
            "first_piece_done": chunk_ends[0] if chunk_ends else None,
            "last_piece_done": chunk_ends[-1] if chunk_ends else None,
            "finished": batch.finished_at.timestamp() - started_at,
            "pieces_done": [round(end, 2) for end in chunk_ends],
        },
        "import_and_ledger_s": total_s,
        "cat1_kg": summary["scope_3_kg_by_category"].get("1"),
    }


Processes = dict[int, tuple[str, int, float, int]]


def _processes() -> Processes:
    """Every process, read from /proc: ``{pid: (name, parent pid, CPU seconds so far (user + system), minor page
    faults so far (pages the kernel mapped in, most of them zeroed first))}``."""
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat.split("(", 1)[1].rsplit(")", 1)[0], stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (name, int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, int(fields[7]))
    return found


def _tree(root: int, processes: Processes) -> set[int]:
    """``root`` and its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), [root]
    while stack:
        pid = stack.pop()
        found.add(pid)
        stack += children.get(pid, [])
    return found


def _tree_memory_kib(pids: set[int]) -> tuple[int, int, int]:
    """Memory in KiB of the processes ``pids`` (the pool: ``_tree``): (sum of resident sets, sum of
    proportional sets, largest resident set). The prefork children share the pages they inherit from the
    pool's parent (Django and the libraries, about 250 MiB): the resident sets count those once per
    process, the proportional sets (PSS) once in all, which is the memory the pool takes."""
    rss, pss = [], []
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        values = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if line.endswith("kB")}
        rss.append(values.get("Rss", 0))
        pss.append(values.get("Pss", 0))
    return sum(rss), sum(pss), max(rss, default=0)


def _minor_faults(processes: Processes, pids: set[int]) -> dict[int, int]:
    """Minor page faults so far of each of ``pids`` that is still running, by pid."""
    return {pid: processes[pid][3] for pid in pids if pid in processes}


def _cpu_seconds(processes: Processes, pool: set[int]) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every PostgreSQL process (backends, WAL writer, checkpointer) and of the worker
    ``pool`` (``_tree``), by pid: ``{pid: ("postgres" | "workers", s)}``."""
    return {
        pid: ("workers" if pid in pool else "postgres", seconds)
        for pid, (name, _, seconds, _) in processes.items()
        if pid in pool or name == "postgres"
    }


def _cpu_spent(start: dict[int, tuple[str, float]], last: dict[int, tuple[str, float]], kind: str) -> float:
    """CPU seconds the processes of ``kind`` spent between their ``start`` and ``last`` readings."""
    return sum(seconds - start.get(pid, (kind, 0.0))[1] for pid, (name, seconds) in last.items() if name == kind)


def product_path(path: Path, workers: int, env: dict) -> dict:
    """The real path: a Celery worker pool of ``workers`` processes on Redis imports the batch in pieces."""
    subprocess.run([sys.executable, __file__, "--setup"], cwd=ROOT, env=env, check=True)  # noqa: S603
    command = [
        sys.executable, "-m", "celery", "-A", "frontend", "worker", "--pool=prefork", f"--concurrency={workers}",
        "-Q", "default,ingest,reporting", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel=WARNING",
    ]  # fmt: skip
    worker = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    peak_sum = peak_pss = peak_one = 0
    # CPU seconds taken during the import (not the ledger), by PostgreSQL and by the pool: the last reading of
    # each process before the import ended minus its reading at the start (a process that ends between two
    # readings loses at most 0.5 s).
    time.sleep(5)  # the pool's start-up (importing Django in each child) is not the import's work
    os.sync()  # the set-up's writes (schema, reference data) are not the import's either
    processes = _processes()
    cpu_start, cpu_last, imported = _cpu_seconds(processes, _tree(worker.pid, processes)), {}, path.parent / "imported"
    faults_start, faults_last = _minor_faults(processes, _tree(worker.pid, processes)), {}
    imported.unlink(missing_ok=True)
    try:
        submit = subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, "--submit", str(path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        while submit.poll() is None:
            processes = _processes()
            pool = _tree(worker.pid, processes)
            total, proportional, largest = _tree_memory_kib(pool)
            if not imported.exists():
                cpu_last.update(_cpu_seconds(processes, pool))
                faults_last.update(_minor_faults(processes, pool))
            peak_sum, peak_pss, peak_one = max(peak_sum, total), max(peak_pss, proportional), max(peak_one, largest)
            time.sleep(0.5)
        if submit.returncode != 0:
            sys.exit("the import failed")
        result = json.loads(submit.stdout.read().strip().splitlines()[-1])
        if result["status"] != "done" or result["rows_loaded"] != ROWS:
            print(f"THE IMPORT IS INCOMPLETE: {result}", file=sys.stderr, flush=True)  # not a figure to report
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    return {
        **result,
        "workers": workers,
        "peak_pss_workers_mib": peak_pss / 1024,
        "peak_rss_workers_mib": peak_sum / 1024,
        "peak_rss_one_mib": peak_one / 1024,
        **{f"cpu_{kind}_s": _cpu_spent(cpu_start, cpu_last, kind) for kind in ("postgres", "workers")},
        "minor_faults_workers": sum(count - faults_start.get(pid, 0) for pid, count in faults_last.items()),
    }


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/greenguild_bench_billing")
    broker_url = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        _setup()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--submit":
        print(json.dumps(_submit(Path(sys.argv[2]))))
        return
    worker_counts = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2").split(",")]
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{DIALECT}.csv"
        GENERATORS[DIALECT](path, ROWS)
        if FORMAT == "parquet":
            import pyarrow.csv
            import pyarrow.parquet

            parquet = path.with_suffix(".parquet")
            pyarrow.parquet.write_table(pyarrow.csv.read_csv(path), parquet, row_group_size=100_000)
            path = parquet
        elif FORMAT == "jsonl":
            jsonl_write(path, path.with_suffix(".jsonl"))
            path = path.with_suffix(".jsonl")
        env = {
            **os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-" * 10, "MEDIA_ROOT": folder,
            "FILE_UPLOAD_TEMP_DIR": folder,
            "DJANGO_SETTINGS_MODULE": "frontend.settings", "CELERY_BROKER_URL": broker_url, "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        # The floor's first Arrow read in this process is 2 s slower than the next ones (its memory pool faulted
        # in: 6.6 s against 4.4-4.6 s for the same Google Cloud file), and the workers that import are warm
        # processes: an untimed read first, so that both floors are warm ones.
        _database_fresh(database_url)
        floor(path, database_url)
        floor_result = None
        for workers in worker_counts:
            # The floor just before and just after the import: this machine's speed drifts between runs. Each
            # timed phase starts with nothing left to write back (os.sync, here and in product_path): the kernel
            # writes dirty pages some 30 s after they were written, so without it each phase paid for the previous
            # phase's writes (the generated file, the floor's table, the import's lines).
            _database_fresh(database_url)
            os.sync()
            before = floor(path, database_url)
            floor_result = floor_result or before
            _database_fresh(database_url)
            subprocess.run(["redis-cli", "-u", broker_url, "flushdb"], check=True, capture_output=True)  # noqa: S603, S607
            result = product_path(path, workers, env)
            _database_fresh(database_url)
            os.sync()
            after = floor(path, database_url)
            result["floor_s"] = [before["total_s"], after["total_s"]]
            result["floor_cpu_s"] = [
                {key: run[key] for key in ("cpu_postgres_s", "cpu_python_s")} for run in (before, after)
            ]
            result["floor_multiple"] = result["import_s"] / (sum(result["floor_s"]) / 2)
            runs.append(result)
            print(json.dumps(result, indent=2), flush=True)
    report = {"dialect": DIALECT, "format": FORMAT, "rows": ROWS, "floor": floor_result, "runs": runs}
    print(json.dumps(report, indent=2))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    name = (
        "billing_ingest.json" if (DIALECT, FORMAT) == ("aws_cur", "csv") else f"billing_ingest_{DIALECT}_{FORMAT}.json"
    )
    (ROOT / "bench" / "results" / name).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
