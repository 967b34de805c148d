"""PDF (reportlab, pure Python): the printable report with a bar chart of emissions by scope.

Text is set in DejaVu Sans Condensed, embedded (``reporting/fonts``, Bitstream Vera licence with DejaVu's
public-domain changes: ``LICENSE-DejaVu.txt``), so Greek, Cyrillic and accented Latin names print as
written; reportlab's built-in Helvetica only has WinAnsi glyphs. Every page carries a running header (the
organization, the report and its period) and its page number. Numbers are right-aligned, tonnes and MWh to
three decimals (the full precision is in the CSV, XLSX, JSON and XHTML); an annual report has no
year-to-date columns; the hourly-matched Scope 2 (the GHG Protocol revision's method, supplementary, not ESRS)
follows the ESRS tables, its figure beside the inventory's; the management view (not ESRS) comes last, as an
appendix.
``invariant=1`` fixes the creation date and document id, so the same content gives the same bytes.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reporting.reports.datapoints import Datapoint, ReportContent
from reporting.reports.hourly_scope2 import HOURLY_COLUMN, INVENTORY_COLUMN, HourlyScope2Section, value_text
from reporting.reports.tabular import VALUE_COLUMNS

FONTS = Path(__file__).resolve().parent.parent / "fonts"
FONT, FONT_BOLD = "GreenGuildSans", "GreenGuildSans-Bold"
pdfmetrics.registerFont(TTFont(FONT, str(FONTS / "DejaVuSansCondensed.ttf")))
pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONTS / "DejaVuSansCondensed-Bold.ttf")))
pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)

_STYLES = getSampleStyleSheet()
for _style in _STYLES.byName.values():
    _style.fontName = (
        FONT_BOLD if "Bold" in getattr(_style, "fontName", "") or _style.name.startswith(("Title", "Heading")) else FONT
    )
_CELL = _STYLES["BodyText"].clone("cell", fontSize=7, leading=8.5)
_NUMBER = _CELL.clone("number", alignment=TA_RIGHT)
_HEAD = _CELL.clone("head", fontName=FONT_BOLD)
_REF = _CELL.clone("ref", splitLongWords=0)  # a part longer than the column overflows rather than splits
_HEADINGS = {
    "E1-5": "E1-5 Energy consumption and mix",
    "E1-6": "E1-6 Gross Scopes 1, 2, 3 and total GHG emissions",
    "E1-7": "E1-7 Carbon credits (shown separately, never netted)",
    "management": "Appendix: management view (not ESRS)",
}
# Decimals shown in print: tCO2e and MWh to the kilogram and kWh, shares and money to the hundredth.
PRINT_DECIMALS = {
    "energy": 3,
    "ghg": 3,
    "percent": 2,
    "ghg_intensity": 3,
    "monetary": 2,
    "intensity": 2,
    "hours": 0,
}
NOT_REPORTED = "\u2014"


def _p(text: str, style=_CELL) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _table(header: list[str], rows: list[list], widths: list[float]) -> Table:
    def cell(value):
        return value if isinstance(value, Paragraph) else _p(value)

    data = [[_p(text, _HEAD) for text in header]] + [[cell(value) for value in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),  # the table's own default is Helvetica
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _number(value: float | None, kind: str) -> Paragraph:
    text = NOT_REPORTED if value is None else f"{value:,.{PRINT_DECIMALS.get(kind, 3)}f}"
    return Paragraph(text, _NUMBER)


REF_WIDTH = 3.4 * cm
_CELL_PADDING = 12  # reportlab's default cell padding, left and right, in points


def _ref(ref: str, width: float = REF_WIDTH) -> Paragraph:
    """A datapoint ref that wraps only after its dots (``M.team.`` / ``vision.`` / ``embodied``), never mid-word."""
    room = width - _CELL_PADDING
    lines, line = [], ""
    for part in re.split(r"(?<=\.)", ref):
        if line and pdfmetrics.stringWidth(line + part, FONT, _CELL.fontSize) > room:
            lines.append(line)
            line = ""
        line += part
    lines.append(line)
    return Paragraph("<br/>".join(escape(text) for text in lines), _REF)


def _datapoint_rows(rows: list[Datapoint], columns: tuple[str, ...]) -> list[list]:
    return [
        [
            _ref(row.ref),
            row.label,
            row.unit,
            *(_number(getattr(row, column), row.kind) for column in columns),
            Paragraph("" if row.change_pct is None else f"{row.change_pct:,.2f}", _NUMBER),
            row.method_note,
            row.quality,
        ]
        for row in rows
    ]


def _hourly_scope2(section: HourlyScope2Section) -> list:
    """The supplementary section: title, what it is, the hourly figure beside the inventory's, the notes."""
    ref_width = 4.6 * cm

    def number(value: float | None, kind: str) -> Paragraph:
        return Paragraph(value_text(value, kind, decimals=PRINT_DECIMALS.get(kind, 3), grouped=True), _NUMBER)

    rows = [
        [
            _ref(row.ref, ref_width),
            row.label,
            row.unit,
            number(row.hourly, row.kind),
            number(row.inventory, row.kind) if row.compared else "",
            row.note,
        ]
        for row in section.rows
    ]
    story: list = [
        Spacer(1, 0.3 * cm),
        Paragraph(escape(section.title), _STYLES["Heading2"]),
        _p(section.intro, _STYLES["BodyText"]),
        _table(
            ["Ref", "Item", "Unit", HOURLY_COLUMN, INVENTORY_COLUMN, "Note"],
            rows,
            [ref_width, 7.0 * cm, 1.4 * cm, 3.0 * cm, 3.0 * cm, 8.3 * cm],
        ),
    ]
    story += [_p(f"Note: {note}", _STYLES["BodyText"]) for note in section.notes]
    return story


def scope_chart(content: ReportContent) -> Drawing:
    """Bars of gross emissions (tCO2e): Scope 1, Scope 2 location and market, Scope 3."""
    values = {row.ref: row.value or 0.0 for row in content.datapoints}
    labels = ["Scope 1", "Scope 2 (location)", "Scope 2 (market)", "Scope 3"]
    data = [values.get(ref, 0.0) for ref in ("E1-6.48a", "E1-6.49a", "E1-6.49b", "E1-6.51")]
    drawing = Drawing(16 * cm, 6.5 * cm, initialFontName=FONT)  # a drawing's state starts in Helvetica
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 2 * cm, 1 * cm, 13 * cm, 4.8 * cm
    chart.data = [data]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#3a7d44")
    drawing.add(chart)
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = chart.barLabels.fontName = FONT
    drawing.add(
        String(2 * cm, 6.1 * cm, f"Gross GHG emissions, {content.meta['period']} (tCO2e)", fontSize=8, fontName=FONT)
    )
    return drawing


def _as_of_text(as_of: str) -> str:
    """The ledger's timestamp to the second, in UTC."""
    return datetime.fromisoformat(as_of).strftime("%Y-%m-%d %H:%M:%S UTC") if as_of else "not pinned"


def _running_header(meta: dict):
    """Draws the running header and the page number on every page."""
    text = f"{meta['organization']} \u2014 {meta['title']} \u2014 {meta['period']}"

    def draw(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        width, height = document.pagesize
        canvas.drawString(document.leftMargin, height - 0.8 * cm, text[:180])
        canvas.drawRightString(width - document.rightMargin, 0.7 * cm, f"Page {document.page}")
        canvas.restoreState()

    return draw


def report_pdf(content: ReportContent) -> bytes:
    meta, titles = content.meta, content.column_titles
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=1.2 * cm,
        rightMargin=1.2 * cm,
        topMargin=1.4 * cm,
        bottomMargin=1.4 * cm,
        title=meta["title"],
        author="GreenGuild",
        invariant=1,
        initialFontName=FONT,  # else the canvas registers Helvetica on every page
        initialFontSize=7,
    )
    kind = "interim, unaudited" if meta["interim"] else "annual"
    story: list = [
        Paragraph(escape(meta["title"]), _STYLES["Title"]),
        _p(
            f"Period {meta['period_start']} to {meta['period_end']} ({kind}); "
            f"ledger as of {_as_of_text(meta['as_of'])}; methodology {meta['methodology_version']}; consolidation: "
            f"{meta['consolidation_approach']}; {meta['taxonomy']} (concept map {meta['concept_map_version']}).",
            _STYLES["BodyText"],
        ),
        Spacer(1, 0.3 * cm),
        scope_chart(content),
    ]
    # Year-to-date columns only in interim reports: an annual report's year to date is the period itself.
    columns = VALUE_COLUMNS if meta["interim"] else ("value", "previous_period")
    header = ["Ref", "Datapoint", "Unit", *(titles[c] for c in columns), "Change %", "Method note", "Quality"]
    number_width = 2.0 * cm if meta["interim"] else 2.6 * cm
    note_width = 5.1 * cm if meta["interim"] else 7.9 * cm
    widths = [REF_WIDTH, 5.4 * cm, 1.6 * cm, *([number_width] * len(columns)), 1.5 * cm, note_width, 2.7 * cm]
    sections = content.sections()
    management = sections.pop("management", None)
    for section, rows in sections.items():
        story += [Spacer(1, 0.3 * cm), Paragraph(escape(_HEADINGS.get(section, section)), _STYLES["Heading2"])]
        story.append(_table(header, _datapoint_rows(rows, columns), widths))
    if content.hourly_scope2 is not None:
        story += _hourly_scope2(content.hourly_scope2)
    story += [Spacer(1, 0.3 * cm), Paragraph("Methodology", _STYLES["Heading2"])]
    story.append(
        _table(
            ["Topic", "Item", "Detail"],
            [[row["topic"], row["item"], row["detail"]] for row in content.methodology],
            [3 * cm, 6 * cm, 18.2 * cm],
        )
    )
    if content.restatements:
        story += [Spacer(1, 0.3 * cm), Paragraph("Restatements since the issued reports", _STYLES["Heading2"])]
        story.append(
            _table(
                ["Period", "Scope", "Category", "Basis", "Change location (tCO2e)", "Change market (tCO2e)"],
                [
                    [
                        line["period"],
                        line["scope"],
                        f"{line['scope3_category'] or ''} {line['scope3_subcategory']}",
                        line["basis"],
                        Paragraph(f"{line['change_location_t']:,.3f}", _NUMBER),
                        Paragraph(f"{line['change_market_t']:,.3f}", _NUMBER),
                    ]
                    for line in content.restatements
                ],
                [3 * cm, 2 * cm, 4 * cm, 5 * cm, 6 * cm, 6 * cm],
            )
        )
    if management:
        story += [Spacer(1, 0.3 * cm), Paragraph(escape(_HEADINGS["management"]), _STYLES["Heading2"])]
        story.append(_table(header, _datapoint_rows(management, columns), widths))
    draw = _running_header(meta)
    document.build(story, onFirstPage=draw, onLaterPages=draw)
    return buffer.getvalue()
