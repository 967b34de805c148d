"""The real ``codecarbon`` clients, 2.8.4 and 3.3.2, each run in its own subprocess around a CPU loop.

3.3.2 is the one in the virtualenv (requirements-dev.txt). 2.8.4 sits beside it, installed without its
dependencies into ``.venv/codecarbon-2.8.4`` (``pip install --no-deps --target``), and is imported by
putting that folder first on ``PYTHONPATH``: it reuses the virtualenv's other packages (its ``pynvml``
import is served by ``nvidia-ml-py``; ``fief-client`` is only needed by its CLI, never imported here).

No network at test time: the child gets ``HTTP(S)_PROXY`` set to a dead local port with ``NO_PROXY`` for
127.0.0.1/localhost, so a request that is not for a local server (geo lookup, cloud metadata) fails at
once instead of waiting for a timeout; it uses ``OfflineEmissionsTracker`` with a country code, so no
geo lookup is even tried; ``HOME`` is the work dir and inherited ``CODECARBON_*`` variables are dropped,
so no user or repository ``.codecarbon.config`` leaks in.

Usage::

    proc = run_tracker("3.3.2", workdir=tmp_path, api_endpoint=f"{live_server.url}/api/codecarbon",
                       api_key=token, experiment_id=EXP, project_name="llm", seconds=3)
    result = tracker_result(proc)      # {"version": "3.3.2", "run_id": ..., "api_run_id": ..., ...}
    rows = read_csv_rows(tmp_path / "emissions.csv")
"""

from __future__ import annotations

import csv
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = Path(sys.executable)
VERSIONS = ("2.8.4", "3.3.2")
# A version installed beside the virtualenv's own codecarbon: its --target folder, first on PYTHONPATH.
SIDE_INSTALLS = {"2.8.4": REPO_ROOT / ".venv" / "codecarbon-2.8.4"}
INSTALL_HINT = {
    "2.8.4": ".venv/bin/pip install --upgrade --no-deps --target .venv/codecarbon-2.8.4 codecarbon==2.8.4",
    "3.3.2": ".venv/bin/pip install -r requirements-dev.txt",
}
RESULT_MARKER = "CODECARBON_CLIENT_RESULT "
DEAD_PROXY = "http://127.0.0.1:9"

# The child: build the tracker from a JSON spec (argv[1]), burn CPU for `seconds`, stop, print a result line.
CHILD = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
import codecarbon
from codecarbon import EmissionsTracker, OfflineEmissionsTracker

major = int(codecarbon.__version__.split(".")[0])
kwargs = {
    "project_name": spec["project_name"],
    "experiment_id": spec["experiment_id"],
    "output_dir": spec["workdir"],
    "output_file": spec["output_file"],
    "tracking_mode": spec["tracking_mode"],
    "measure_power_secs": 1,
    "api_call_interval": 2,
    "log_level": "warning",
    "allow_multiple_runs": True,
}
outputs = ["csv"] + (["api"] if spec["api_endpoint"] else [])
if major >= 3:
    kwargs["output_methods"] = outputs
else:
    kwargs["save_to_file"] = True
    kwargs["save_to_api"] = "api" in outputs
if spec["api_endpoint"]:
    kwargs["api_endpoint"] = spec["api_endpoint"]
    kwargs["api_key"] = spec["api_key"]
kwargs.update(spec["extra"])
if spec["tracker_class"] == "OfflineEmissionsTracker":
    kwargs.setdefault("country_iso_code", spec["country_iso_code"])
    tracker = OfflineEmissionsTracker(**kwargs)
else:
    tracker = EmissionsTracker(**kwargs)
run_id_at_init = str(tracker.run_id)
api_runs_at_init = [str(getattr(h, "run_id", None)) for h in tracker._output_handlers if hasattr(h, "api")]
started = time.time()
tracker.start()
deadline = time.monotonic() + spec["seconds"]
total = 0
while time.monotonic() < deadline:
    total += sum(i * i for i in range(10_000))
emissions = tracker.stop()
api_handlers = [h for h in tracker._output_handlers if hasattr(h, "api")]
print("__MARKER__" + json.dumps({
    "version": codecarbon.__version__,
    "module": codecarbon.__file__,
    "tracker_class": type(tracker).__name__,
    "run_id": str(tracker.run_id),
    "run_id_at_init": run_id_at_init,
    "api_run_id_at_init": api_runs_at_init[0] if api_runs_at_init else None,
    "api_run_id": str(api_handlers[0].api.run_id) if api_handlers else None,
    "emissions_kg": emissions,
    "started_epoch": started,
    "stopped_epoch": time.time(),
}), flush=True)
""".replace("__MARKER__", RESULT_MARKER)


def child_env(version: str, workdir: Path, env: dict | None = None) -> dict[str, str]:
    """The child's environment: offline proxies, HOME=workdir, no CODECARBON_*, PYTHONPATH for ``version``."""
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("CODECARBON_")}
    base.pop("PYTHONPATH", None)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        base[name] = DEAD_PROXY
    base["NO_PROXY"] = base["no_proxy"] = "127.0.0.1,localhost"
    base["HOME"] = str(workdir)
    base["PYTHONUNBUFFERED"] = "1"
    # Only the side install goes on PYTHONPATH (first): the venv's site-packages 3.3.2 is then shadowed by it.
    side = SIDE_INSTALLS.get(version)
    if side is not None:
        base["PYTHONPATH"] = str(side)
    base.update(env or {})
    return base


@functools.cache
def installed_version(version: str) -> str | None:
    """The ``codecarbon.__version__`` that the child for ``version`` imports, or None if it cannot import one."""
    side = SIDE_INSTALLS.get(version)
    if side is not None and not (side / "codecarbon").is_dir():
        return None
    env = child_env(version, REPO_ROOT)
    probe = subprocess.run(
        [str(VENV_PYTHON), "-c", "import codecarbon; print(codecarbon.__version__)"],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return (probe.stdout.strip() or None) if probe.returncode == 0 else None


def available_versions() -> dict[str, bool]:
    """Each supported version mapped to whether its real client is installed here and imports as that version."""
    return {version: installed_version(version) == version for version in VERSIONS}


def require_version(version: str) -> None:
    """Skip the test with the install command when ``version`` is missing; under CI=true, fail instead."""
    if available_versions().get(version):
        return
    reason = f"codecarbon {version} is not installed (found {installed_version(version)!r}): {INSTALL_HINT[version]}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def default_tracker_class(version: str, *, api: bool) -> str:
    """``OfflineEmissionsTracker``, except for 2.x posting to an API: ``EmissionsTracker`` there.

    2.8.4's ``OfflineEmissionsTracker`` never creates its API run: ``ApiClient._create_run`` calls
    ``round(conf["longitude"], 1)`` and an offline tracker has no longitude (``TypeError`` logged, no
    ``POST /runs``, no ``/emissions``). Its ``EmissionsTracker`` works offline: the geo lookup fails at once
    through the dead proxy and falls back to Canada (CAN, quebec, lat 46.8, lon -71.2). 3.x rounds
    ``None`` safely, so its ``OfflineEmissionsTracker`` posts with ``longitude``/``latitude`` null.
    """
    if api and version.split(".")[0] == "2":
        return "EmissionsTracker"
    return "OfflineEmissionsTracker"


def start_tracker(
    version: str,
    *,
    workdir: Path,
    api_endpoint: str | None,
    api_key: str | None,
    experiment_id: str,
    project_name: str,
    seconds: float,
    output_file: str = "emissions.csv",
    tracking_mode: str = "machine",
    country_iso_code: str | None = "FRA",
    extra: dict | None = None,
    env: dict | None = None,
    tracker_class: str | None = None,
) -> subprocess.Popen:
    """Start the real ``version`` client in a subprocess (cwd ``workdir``) and return it without waiting.

    The tracker is ``tracker_class``, by default :func:`default_tracker_class`: ``OfflineEmissionsTracker``
    with ``country_iso_code``, except 2.x with an API, which needs ``EmissionsTracker``; with
    ``measure_power_secs=1``, ``api_call_interval=2``, ``allow_multiple_runs=True``, CSV output to
    ``workdir/output_file`` and, when ``api_endpoint`` is given, API output to it with ``api_key``
    (``output_methods=["csv", "api"]`` on 3.x, ``save_to_file``/``save_to_api`` on 2.x). ``extra`` is
    passed on as tracker keyword arguments, overriding these; ``env`` overrides child environment
    variables (e.g. ``{"TZ": "Europe/Paris"}``). Several may run at once, e.g. one per rank.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "workdir": str(workdir),
        "api_endpoint": api_endpoint,
        "api_key": api_key,
        "experiment_id": experiment_id,
        "project_name": project_name,
        "seconds": seconds,
        "output_file": output_file,
        "tracking_mode": tracking_mode,
        "country_iso_code": country_iso_code,
        "extra": dict(extra or {}),
        "tracker_class": tracker_class or default_tracker_class(version, api=bool(api_endpoint)),
    }
    if spec["tracker_class"] == "OfflineEmissionsTracker" and not country_iso_code:
        raise ValueError("OfflineEmissionsTracker needs a country_iso_code")
    return subprocess.Popen(
        [str(VENV_PYTHON), "-c", CHILD, json.dumps(spec)],
        cwd=workdir,
        env=child_env(version, workdir, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> subprocess.CompletedProcess:
    """Wait for a started tracker and return it as a CompletedProcess (stdout has the result line)."""
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_tracker(version: str, *, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run the real ``version`` client to its end (see :func:`start_tracker` for the keyword arguments)."""
    return finish(start_tracker(version, **kwargs), timeout=timeout)


def run_ranks(version: str, ranks: int, *, workdir: Path, timeout: float = 180, **kwargs) -> list:
    """Run ``ranks`` trackers at once on this host, rank i writing ``emissions_rank{i}.csv`` in ``workdir``."""
    processes = [
        start_tracker(version, workdir=workdir, output_file=f"emissions_rank{rank}.csv", **kwargs)
        for rank in range(ranks)
    ]
    return [finish(process, timeout=timeout) for process in processes]


def tracker_result(completed: subprocess.CompletedProcess) -> dict:
    """The child's result line as a dict; raises AssertionError with its stderr when it failed."""
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    raise AssertionError(f"tracker exited {completed.returncode} without a result:\n{completed.stderr[-4000:]}")


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a codecarbon CSV file, as written (every value a string)."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))
