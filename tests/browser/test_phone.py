"""Every page of the demo organization on a 390 px wide screen (a phone; 360 and 414 px too): nothing
wider than the screen, the menu folded behind its button with every link and Log out in reach, charts
drawn to the card's width with their titles whole and their legends clear of the axis titles (issue 19,
"Responsive layout")."""

import pytest
from django.urls import NoReverseMatch, reverse

from emissions.choices import FactorKind
from emissions.models import FactorDataset, GridFactor, GridZone
from ingest.models import ImportBatch
from reporting.services import report_create, report_generate
from tests.browser.test_more_pages import more_demo_data

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
MENU = [
    "Overview",
    "Leaderboard",
    "Budgets",
    "What-if",
    "Hardware",
    "Cloud",
    "Imports",
    "Reports",
    "Tokens",
    "Settings",
]
MENU += ["Change password"]


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def demo_pages(organization, media_root) -> list[str]:
    """Every page of the demo organization with data to show (charts, tables, a report, a failed import)."""
    run = more_demo_data(organization)["run"]
    dataset = FactorDataset.objects.create(name="t", version="1", title="t", source="t", licence="t")
    # A zone with a long name: a select's longest option must not widen the page.
    long_name = "Western Australia - SWIS (South West Interconnected System), the grid of Perth and its region"
    for code, value, name in (("DE", 300.0, "Germany"), ("FR", 30.0, "France"), ("AU-WA-SWIS", 500.0, long_name)):
        zone, _ = GridZone.objects.get_or_create(code=code, defaults={"name": name})
        factor = {"kind": FactorKind.LOCATION, "year": 2026, "source": "t", "licence": "t"}
        GridFactor.objects.create(dataset=dataset, zone=zone, intensity_g_per_kwh=value, **factor)
    # A report of Q2: generating recomputes that quarter's ledger, Q3's hand-made figures stay for the pages.
    report = report_generate(report=report_create(organization=organization, period_label="2026-Q2", enqueue=False))
    ImportBatch.objects.create(
        organization=organization,
        source="codecarbon_csv",
        checksum="0" * 64,
        status=ImportBatch.Status.FAILED,
        filename="a-rather-long-file-name-from-a-training-cluster-rank-0-of-64-emissions.csv",
        rows_rejected=2,
        error="the file lacks column(s) timestamp, duration, energy_consumed; this file's 42 column(s) start "
        "lineItem/UsageStartDate, lineItem/UsageAmount, …: is it another kind of file?",
    )
    pages = [
        "/?period=2026-Q3",
        "/teams/a-team/?period=2026-Q3",
        "/projects/a-project/?label_period=2026-Q3",
        f"/runs/{run.pk}/",
        "/hardware/?period=2026-Q3",
        "/cloud/?period=2026-Q3",
        "/leaderboard/?period=2026-Q3",
        "/budgets/?period=2026-Q3",
        "/what-if/?project=a-project&period=2026-Q3&scenario=region&zone=FR",
        "/imports/",
        "/reports/",
        f"/reports/?report={report.pk}",
        "/settings/",
        "/settings/tokens/",
        "/account/password/",
    ]
    # The list and organization pages, where this checkout has them (issue 19's drill-down work).
    return pages + [url for url in map(_url, ("teams", "projects", "organization")) if url]


@pytest.fixture
def phone(browser, live_server, demo_org):
    """Signed in as demo/demo in a 390 × 844 window; fails the test on any console or page error."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.goto("/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    yield page
    context.close()
    assert errors == [], "the browser reported errors"


# Boxes of every chart's SVG, title, legend and x-axis title, in page pixels.
CHART_BOXES = """() => Array.from(document.querySelectorAll("[data-chart]")).map((chart) => {
  const box = (selector) => { const node = chart.querySelector(selector); if (!node) return null;
    const r = node.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {id: chart.id, card: chart.getBoundingClientRect().width, svg: box(".main-svg"), title: box(".gtitle"),
          legend: box(".legend"), xtitle: box(".xtitle")};
})"""


def _wait_until(page, expression: str, timeout_s: float = 10.0) -> None:
    """Poll ``expression`` from here: the pages' Content-Security-Policy forbids the eval that a polling
    ``wait_for_function`` needs in the page."""
    for _ in range(int(timeout_s * 10)):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still false after {timeout_s} s: {expression}")


def _overlap(a, b) -> bool:
    return (
        bool(a and b)
        and a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and (b["top"] < a["bottom"])
    )


@pytest.mark.parametrize("width", [390, 360, 414])
def test_every_page_fits_a_phone_and_its_menu_reaches_log_out(phone, demo_org, media_root, width):
    page = phone
    page.set_viewport_size({"width": width, "height": PHONE["height"]})
    for url in demo_pages(demo_org, media_root):
        page.goto(url)
        page.wait_for_load_state("load")
        _wait_until(page, "document.querySelectorAll('[data-chart]:not([data-rendered])').length === 0")
        widths = page.evaluate(
            "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
            " client: document.documentElement.clientWidth})"
        )
        assert widths["scroll"] <= widths["inner"], f"{url} is {widths['scroll']} px wide on a {width} px screen"
        assert widths["scroll"] <= widths["client"], f"{url} scrolls sideways"
        for chart in page.evaluate(CHART_BOXES):
            assert chart["svg"] and chart["svg"]["right"] - chart["svg"]["left"] <= chart["card"] + 1, (url, chart)
            if chart["title"]:  # the title wraps rather than run off the chart
                assert chart["svg"]["left"] - 1 <= chart["title"]["left"], (url, chart)
                assert chart["title"]["right"] <= chart["svg"]["right"] + 1, (url, chart)
                assert chart["title"]["top"] >= chart["svg"]["top"] - 1, (url, chart)
            assert not _overlap(chart["legend"], chart["xtitle"]), (url, chart)
        # The menu is folded: one button, Log out hidden until it is opened, then every link and Log out.
        menu = page.locator("[data-menu-toggle]")
        assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false", url
        assert not page.locator("button:has-text('Log out')").is_visible(), url
        menu.click()
        assert menu.get_attribute("aria-expanded") == "true"
        assert page.locator("button:has-text('Log out')").is_visible(), url
        for name in MENU:
            assert page.locator(f".menu >> text={name}").first.is_visible(), (url, name)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{url} with the menu open"
        page.keyboard.press("Escape")
        assert menu.get_attribute("aria-expanded") == "false"


def test_log_out_from_the_phone_menu(phone):
    page = phone
    page.click("[data-menu-toggle]")
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login/")


def test_the_desktop_menu_is_not_folded(logged_in):
    page = logged_in  # 1280 px
    assert not page.locator("[data-menu-toggle]").is_visible()
    assert page.locator("button:has-text('Log out')").is_visible()
    assert page.locator("nav a[aria-current=page]").inner_text() == "Overview"


def test_charts_follow_the_window_when_it_narrows(logged_in):
    page = logged_in  # 1280 px
    page.goto("/leaderboard/?period=2026-Q3")
    page.wait_for_selector("#chart-leaderboard .main-svg")
    assert page.evaluate(CHART_BOXES)[0]["svg"]["right"] > 900
    page.set_viewport_size(PHONE)
    # Plotly redraws to the card's width (responsive) and charts.js wraps the title to it.
    _wait_until(page, "document.querySelector('#chart-leaderboard .main-svg').getBoundingClientRect().right < 390")
    chart = page.evaluate(CHART_BOXES)[0]
    assert chart["title"]["right"] <= chart["svg"]["right"] + 1
