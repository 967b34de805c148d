"""Rows shared by the CSV and XLSX exports: one uniform table (header = ``COLUMNS``)."""

from __future__ import annotations

from reporting.reports.datapoints import COLUMNS, DECIMALS, Datapoint, ReportContent
from reporting.reports.hourly_scope2 import SECTION, value_text

VALUE_COLUMNS = ("value", "year_to_date", "previous_period", "previous_year_to_date")


def number_text(value: float | None, kind: str) -> str:
    """A value with the fixed decimals of its kind (tonnes and MWh to the gram and Wh); empty for None."""
    if value is None:
        return ""
    return f"{value:.{DECIMALS.get(kind, 6)}f}"


def datapoint_cells(row: Datapoint, *, as_text: bool) -> list:
    """The row in ``COLUMNS`` order; numbers as fixed-decimal text (CSV) or floats (XLSX)."""
    cells = []
    for column in COLUMNS:
        value = getattr(row, column)
        if column in VALUE_COLUMNS:
            cells.append(number_text(value, row.kind) if as_text else value)
        elif column == "change_pct":
            cells.append(number_text(value, "percent_change") if as_text and value is not None else value)
        else:
            cells.append(value if value is not None else "")
    return cells


def _text_row(section: str, ref: str, label: str, note: str, **more: str) -> list:
    cells = {"section": section, "ref": ref, "label": label, "method_note": note, **more}
    return [cells.get(column, "") for column in COLUMNS]


def hourly_scope2_rows(content: ReportContent) -> list[list]:
    """The supplementary hourly Scope 2 section (no XBRL concept): its title, one row per figure, and the
    inventory's 2015-method figure on the next row (``<ref>.inventory``) where it has one; notes last."""
    section = content.hourly_scope2
    if section is None:
        return []
    rows = [_text_row(SECTION, "title", section.title, section.intro)]
    for row in section.rows:
        label = f"{row.label} \u2014 hourly matching (revision)" if row.compared else row.label
        rows.append(_text_row(SECTION, row.ref, label, row.note, unit=row.unit, value=value_text(row.hourly, row.kind)))
        if row.compared:
            rows.append(
                _text_row(
                    SECTION,
                    f"{row.ref}.inventory",
                    f"{row.label} \u2014 inventory (2015 method)",
                    "",
                    unit=row.unit,
                    value=value_text(row.inventory, row.kind),
                )
            )
    rows += [_text_row(SECTION, "note", "Note", note) for note in section.notes]
    return rows


def meta_rows(content: ReportContent) -> list[list]:
    meta, titles = content.meta, content.column_titles
    rows = [
        _text_row("report", "title", "Report", meta["title"]),
        _text_row("report", "organization", "Organization", f"{meta['organization']} ({meta['organization_slug']})"),
        _text_row("report", "period", "Period", f"{meta['period']}: {meta['period_start']} to {meta['period_end']}"),
        _text_row("report", "as_of", "Ledger as of", meta["as_of"]),
        _text_row(
            "report", "taxonomy", "XBRL taxonomy", f"{meta['taxonomy']}; concept map {meta['concept_map_version']}"
        ),
    ]
    for column in VALUE_COLUMNS:
        rows.append(_text_row("report", f"column.{column}", f"Column {column}", titles.get(column, "")))
    return rows


def appendix_rows(content: ReportContent) -> list[list]:
    rows = [_text_row("methodology", row["topic"], row["item"], row["detail"]) for row in content.methodology]
    for line in content.restatements:
        what = f"scope {line['scope']}" + (f" cat {line['scope3_category']}" if line["scope3_category"] else "")
        if line["scope3_subcategory"]:
            what += f" ({line['scope3_subcategory']})"
        detail = (
            f"{line['basis']}: location {line['previous_location_t']:.6f} -> {line['current_location_t']:.6f} tCO2e; "
            f"market {line['previous_market_t']:.6f} -> {line['current_market_t']:.6f} tCO2e "
            f"(calculation {line['previous_calculation']} -> {line['current_calculation']}, {line['reported_in']})"
        )
        rows.append(_text_row("restatement", line["period"], what, detail))
    return rows
