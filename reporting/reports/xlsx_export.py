"""XLSX (openpyxl): one sheet per section, units in the headers, the header row frozen; the supplementary
hourly Scope 2 (not ESRS) on its own sheet."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font

from emissions.tables import cell_safe
from reporting.reports.datapoints import Datapoint, ReportContent
from reporting.reports.hourly_scope2 import HOURLY_COLUMN, INVENTORY_COLUMN, UNKNOWN, HourlyScope2Section
from reporting.reports.tabular import VALUE_COLUMNS

# Excel number formats by the unit of a row (tonnes and MWh to the kilogram and kWh).
UNIT_FORMATS = {
    "tCO2e": "#,##0.000",
    "MWh": "#,##0.000",
    "%": "0.00",
    "EUR": "#,##0.00",
    "tCO2e/EUR m": "#,##0.000000",
    "h": "#,##0",
}
SHEET_TITLES = {
    "E1-5": "E1-5 Energy",
    "E1-6": "E1-6 GHG emissions",
    "E1-7": "E1-7 Carbon credits",
    "management": "Management (not ESRS)",
}


def _datapoint_sheet(workbook: Workbook, title: str, rows: list[Datapoint], content: ReportContent) -> None:
    sheet = workbook.create_sheet(title)
    units = sorted({row.unit for row in rows})
    unit_note = units[0] if len(units) == 1 else "unit in column C"
    titles = content.column_titles
    header = ["Ref", "Label", "Unit"]
    header += [f"{titles[column]} ({unit_note})" for column in VALUE_COLUMNS]
    header += ["Change (%)", "Method note", "Quality", "XBRL concept", "XBRL member"]
    _header(sheet, header)
    for row in rows:
        cells = [row.ref, row.label, row.unit, *(getattr(row, c) for c in VALUE_COLUMNS), row.change_pct]
        cells += [row.method_note, row.quality, row.xbrl_concept, row.xbrl_member]
        sheet.append([cell_safe(cell) for cell in cells])
        # Values keep full precision; the display follows the row's unit, the change is a percentage.
        for cell in sheet[sheet.max_row][3 : 3 + len(VALUE_COLUMNS)]:
            cell.number_format = UNIT_FORMATS.get(row.unit, "#,##0.00")
        sheet.cell(row=sheet.max_row, column=4 + len(VALUE_COLUMNS)).number_format = UNIT_FORMATS["%"]
    _widths(sheet, [18, 60, 14, 18, 18, 18, 18, 12, 60, 40, 50, 50])


def _hourly_scope2_sheet(workbook: Workbook, section: HourlyScope2Section) -> None:
    """The supplementary section: the header frozen like every sheet, the section's title and what it is on
    the first row, then the hourly figure beside the inventory's; an unknown 24/7 score is ``unknown``."""
    sheet = workbook.create_sheet("Scope 2 hourly (revision)")
    _header(sheet, ["Ref", "Item", "Unit", HOURLY_COLUMN, INVENTORY_COLUMN, "Note"])
    sheet.append(["title", section.title, None, None, None, cell_safe(section.intro)])
    sheet["B2"].font = Font(bold=True)
    for row in section.rows:
        hourly = UNKNOWN if row.hourly is None else row.hourly
        sheet.append([cell_safe(cell) for cell in [row.ref, row.label, row.unit, hourly, row.inventory, row.note]])
        for cell in sheet[sheet.max_row][3:5]:
            cell.number_format = UNIT_FORMATS.get(row.unit, "#,##0.00")
    for note in section.notes:
        sheet.append(["note", None, None, None, None, cell_safe(note)])
    _widths(sheet, [36, 70, 8, 24, 24, 90])


def _header(sheet, header: list[str]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _widths(sheet, widths: list[int]) -> None:
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width


def report_xlsx(content: ReportContent) -> bytes:
    workbook = Workbook()
    cover = workbook.active
    cover.title = "Report"
    _header(cover, ["Item", "Value"])
    meta = content.meta
    for item, value in [
        ("Title", meta["title"]),
        ("Organization", f"{meta['organization']} ({meta['organization_slug']})"),
        ("Period", f"{meta['period']}: {meta['period_start']} to {meta['period_end']}"),
        ("Interim", "yes" if meta["interim"] else "no"),
        ("Ledger as of", meta["as_of"]),
        ("Methodology version", meta["methodology_version"]),
        ("XBRL taxonomy", meta["taxonomy"]),
        ("Concept map version", meta["concept_map_version"]),
    ]:
        cover.append([item, cell_safe(value)])
    _widths(cover, [24, 90])
    for section, rows in content.sections().items():
        _datapoint_sheet(workbook, SHEET_TITLES.get(section, section), rows, content)
    if content.hourly_scope2 is not None:
        _hourly_scope2_sheet(workbook, content.hourly_scope2)
    appendix = workbook.create_sheet("Methodology")
    _header(appendix, ["Topic", "Item", "Detail"])
    for row in content.methodology:
        appendix.append([cell_safe(row[key]) for key in ("topic", "item", "detail")])
    _widths(appendix, [20, 40, 120])
    restated = workbook.create_sheet("Restatements")
    columns = [
        "period",
        "reported_in",
        "previous_calculation",
        "current_calculation",
        "scope",
        "scope3_category",
        "scope3_subcategory",
        "basis",
        "previous_location_t",
        "current_location_t",
        "change_location_t",
        "previous_market_t",
        "current_market_t",
        "change_market_t",
    ]
    _header(restated, [name.replace("_t", " (tCO2e)") if name.endswith("_t") else name for name in columns])
    for line in content.restatements:
        restated.append([cell_safe(line[name]) for name in columns])
        for index, name in enumerate(columns):
            if name.endswith("_t"):
                restated.cell(row=restated.max_row, column=index + 1).number_format = UNIT_FORMATS["tCO2e"]
    if meta["as_of"]:
        as_of = datetime.fromisoformat(meta["as_of"]).replace(tzinfo=None)
        workbook.properties.created = workbook.properties.modified = as_of
    workbook.properties.creator = "GreenGuild"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
