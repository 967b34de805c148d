"""Screenshots of every page, taken with Playwright driving Debian's Chromium, into ``docs/screenshots/``.

    .venv/bin/python bench/screenshots.py                       # seeds its own demo database and server
    .venv/bin/python bench/screenshots.py --base-url http://127.0.0.1:8000 --run 1234   # a running server

Without ``--base-url`` it builds a fresh SQLite database (``var/screenshots.sqlite3``): migrate,
``seed_demo``, the repository's sample AWS bill and carbon export (March 2025, shown on the cloud
page), the ledger for 2025, 2026 and their quarters (``inventory``), ``rollup_rebuild``; then
serves it with ``runserver`` on a free local port (``--reuse`` keeps an existing database). Either way
it signs in as ``demo``/``demo`` (``--username``/``--password``), picks the first team and project from
Settings and the run with most samples in that project (or ``--team``/``--project``/``--run``), and
writes one full-page PNG per page and width: ``<page>.png`` at 1280 px and ``<page>-390.png`` at 390 px (a
phone; ``--widths`` changes the list). Never downloads a browser: ``CHROMIUM_PATH`` (default
``/usr/bin/chromium``) must exist. The page fails the script on any browser console error.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
DATABASE = ROOT / "var" / "screenshots.sqlite3"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip
BILLS = [("aws_cur", "tests/ingest/fixtures/billing/aws_cur.csv"),
         ("aws_carbon", "tests/ingest/fixtures/provider_carbon/aws_ccft_export.csv")]  # fmt: skip
CLOUD_PERIOD = "2025-Q1"  # the sample bills' quarter
PERIODS = ["2025", "2026", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]


def _manage(env: dict, *args: str) -> None:
    print("manage.py", *args, flush=True)
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict:
    settings = {"DATABASE_URL": f"sqlite:///{DATABASE}", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "frontend.settings"}
    return {**os.environ, **settings}


def demo_database(*, reuse: bool) -> None:
    """The demo organization with its ledger and rollup in ``var/screenshots.sqlite3``."""
    env = _env()
    if reuse and DATABASE.exists():
        return
    DATABASE.parent.mkdir(exist_ok=True)
    DATABASE.unlink(missing_ok=True)
    _manage(env, "migrate", "--no-input")
    _manage(env, "seed_demo")
    # The demo seed has no cloud bills: import the repository's sample AWS bill and carbon export (March 2025).
    for source, sample in BILLS:
        _manage(env, "ingest", str(ROOT / sample), "--source", source, "--org", "acme")
    _manage(env, "inventory", "--org", "acme", "--period", *PERIODS)
    _manage(env, "rollup_rebuild", "--org", "acme")


def busiest_run_id(project_slug: str) -> int | None:
    """The run of the project with most samples (a power timeline worth showing), from the demo database."""
    os.environ.update(_env())
    # Called while Playwright's sync API runs an asyncio loop in this thread; the ORM call is still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db.models import Count

    from emissions.models import Run

    run = (
        Run.objects.filter(project__slug=project_slug, project__organization__slug="acme")
        .annotate(sample_count=Count("samples"))
        .order_by("-sample_count", "-energy_kwh")
        .first()
    )
    return run.pk if run else None


def serve() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1)  # noqa: S310 - our own local server
            return server, base_url
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("the server did not start")


def _settle(page) -> None:
    """Wait until every chart on the page is drawn."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-chart]')]"
        ".every((element) => element.dataset.rendered && element.querySelector('.main-svg'))"
    )
    page.wait_for_timeout(300)  # plotly's transitions


def take(base_url: str, args, run_id: int | None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        page.goto("/login/")
        page.fill("input[name=username]", args.username)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        page.goto("/settings/")
        team = args.team or page.locator("#teams a[href^='/teams/']").first.get_attribute("href").split("/")[2]
        project = args.project or page.locator("#teams a[href^='/projects/']").first.get_attribute("href").split("/")[2]
        run_id = args.run or run_id or (busiest_run_id(project) if not args.base_url else None)
        pages = {
            "overview": "/", "team": f"/teams/{team}/", "project": f"/projects/{project}/?sort=-energy",
            "hardware": "/hardware/", "cloud": f"/cloud/?period={args.cloud_period}", "imports": "/imports/",
            "reports": "/reports/", "settings": "/settings/", "tokens": "/settings/tokens/",
            "leaderboard": "/leaderboard/", "budgets": "/budgets/",
            "what_if": f"/what-if/?project={project}&period=2026-Q3&scenario=hour&shift_h=6",
            "teams": "/teams/", "projects": "/projects/", "organization": "/organization/",
            "scope2_hourly": "/scope2-hourly/?period=2026-Q3", "site": "/sites/frankfurt-dc/?period=2026-Q3",
        }  # fmt: skip
        if run_id:
            pages["run"] = f"/runs/{run_id}/"
        for width in args.widths:
            page.set_viewport_size({"width": width, "height": 900 if width >= 768 else 844})
            for name, url in pages.items():
                page.goto(url)
                _settle(page)
                path = OUT / (f"{name}.png" if width == 1280 else f"{name}-{width}.png")
                page.screenshot(path=str(path), full_page=True)
                written.append(path)
                print(f"{path.relative_to(ROOT)}  ←  {url} at {width} px", flush=True)
        browser.close()
    if errors:
        sys.exit("browser console errors:\n" + "\n".join(errors))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="a running server; default: seed and serve var/screenshots.sqlite3")
    parser.add_argument("--reuse", action="store_true", help="keep an existing var/screenshots.sqlite3")
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--team", help="team slug (default: the first on Settings)")
    parser.add_argument("--project", help="project slug (default: the first on Settings)")
    parser.add_argument("--cloud-period", help=f"period of the cloud page (default: {CLOUD_PERIOD} when seeding here)")
    parser.add_argument("--run", type=int, help="run id (default: the project's run with most samples)")
    parser.add_argument(
        "--widths",
        type=lambda text: [int(w) for w in text.split(",")],
        default=[1280, 390],
        help="viewport widths in px, comma-separated (default: 1280,390)",
    )
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"needs Chromium at {CHROMIUM} (apt-get install chromium); no browser is downloaded")
    if args.base_url:
        args.cloud_period = args.cloud_period or ""
        take(args.base_url, args, None)
        return
    args.cloud_period = args.cloud_period or CLOUD_PERIOD
    demo_database(reuse=args.reuse)
    server, base_url = serve()
    try:
        take(base_url, args, None)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
