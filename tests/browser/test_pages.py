"""The pages in a real browser: overview filters over htmx, tokens, and an upload that finishes."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

TRACKER_CSV = (
    Path(__file__).resolve().parent.parent / "ingest/fixtures/trackers/codecarbon-3.3.2/offline_3runs/emissions.csv"
)


def _chart_labels(page, chart: str) -> list[str]:
    return page.locator(f"#chart-{chart} .ytick text").all_text_contents()


def test_overview_charts_follow_the_filters_and_the_url(logged_in):
    page = logged_in
    page.wait_for_selector("#chart-by_team .main-svg")
    for name in ("emissions_over_time", "location_vs_market", "by_team", "top_projects", "quality_mix"):
        assert page.locator(f"#chart-{name} .main-svg").count() >= 1, name
    assert page.locator('[data-kpi="location"]').inner_text() == "1.045 t CO2e"
    assert sorted(_chart_labels(page, "by_team")) == ["(unallocated)", "A Team", "Data"]
    page.select_option("select[name=team]", "a-team")
    page.wait_for_url("**/?*team=a-team*")
    page.wait_for_function("document.querySelector('[data-kpi=location]').textContent === '350.0 kg CO2e'")
    page.wait_for_selector("#chart-by_team .main-svg")
    assert _chart_labels(page, "by_team") == ["A Team"]
    page.select_option("select[name=view]", "management")
    page.wait_for_url("**/?*view=management*")
    page.go_back()  # the history entry of the team filter reloads with its charts
    page.wait_for_url("**/?*team=a-team*")
    page.wait_for_selector("#chart-by_team .main-svg")
    assert page.locator("select[name=view]").input_value() == "inventory"


def test_a_script_in_a_team_name_stays_text(logged_in, demo_org):
    demo_org.teams.filter(slug="data").update(name="<script>alert(1)</script>")
    page = logged_in
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.reload()
    page.wait_for_selector("#chart-by_team .main-svg")
    assert "<script>alert(1)</script>" in _chart_labels(page, "by_team")
    assert dialogs == []


def test_create_and_revoke_a_token(logged_in):
    page = logged_in
    page.click("nav >> text=Tokens")
    page.fill("input[name=name]", "laptop")
    page.select_option("select[name=project]", label="A Project")
    page.click("text=Create token")
    token = page.input_value("#new-token")
    assert token and page.locator("text=shown only once").count() == 1
    row = page.locator("tr", has_text="laptop")
    row.locator("text=Revoke").click()
    page.wait_for_selector("tr.revoked >> text=laptop")
    assert token not in page.content()


def test_upload_a_tracker_csv_and_watch_its_batch_finish(logged_in):
    page = logged_in
    page.click("nav >> text=Imports")
    # "Detect automatically" is the default: the header says it is a CodeCarbon emissions.csv.
    assert page.locator("select[name=source]").input_value() == "auto"
    page.set_input_files("input[name=file]", str(TRACKER_CSV))
    page.select_option("select[name=project]", "a-project")
    page.click("button:has-text('Import')")
    notice = page.locator(".notice-success")
    assert "received as CodeCarbon emissions.csv" in notice.inner_text() and "detected" in notice.inner_text()
    row = page.locator("tr[data-batch]", has_text="emissions.csv")
    row.locator(".status", has_text="Done").wait_for()
    assert row.locator(".rows_loaded").inner_text() == "3"


def test_a_file_nothing_recognises_says_so_and_keeps_the_form(logged_in):
    page = logged_in
    page.goto("/imports/")
    unknown = {"name": "notes.csv", "mimeType": "text/csv", "buffer": b"colour,size\nred,3\n"}
    page.set_input_files("input[name=file]", unknown)
    page.click("button:has-text('Import')")
    assert "The file was not imported" in page.locator(".notice-error").inner_text()
    assert "choose its source in the list" in page.locator("#id_source_error").inner_text()
    assert page.locator("tr[data-batch]").count() == 0


def test_drop_a_file_on_the_upload_form_and_import_it(logged_in):
    page = logged_in
    page.click("nav >> text=Imports")
    # site.js marks the drop zone once its listeners are bound: a drop sent before that would be lost.
    page.wait_for_selector("[data-dropzone][data-dropzone-ready]", state="attached")
    page.select_option("select[name=source]", "codecarbon_csv")
    content = TRACKER_CSV.read_text()
    # A real drop event carrying the file, as the browser sends when a file is dragged from the desktop.
    page.evaluate(
        """(content) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([content], "dropped-emissions.csv", { type: "text/csv" }));
            const zone = document.querySelector("[data-dropzone]");
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        content,
    )
    page.locator("[data-dropped]", has_text="Selected: dropped-emissions.csv").wait_for(timeout=5000)
    page.fill("input[name=new_project]", "dropped-project")
    page.click("button:has-text('Import')")
    row = page.locator("tr[data-batch]", has_text="dropped-emissions.csv")
    row.locator(".status", has_text="Done").wait_for()
