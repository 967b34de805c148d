"""PDF (reportlab, pure Python): the printable report with a bar chart of emissions by scope.

``invariant=1`` fixes the creation date and document id, so the same content gives the same bytes.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reporting.reports.datapoints import Datapoint, ReportContent
from reporting.reports.tabular import VALUE_COLUMNS, number_text

_STYLES = getSampleStyleSheet()
_CELL = _STYLES["BodyText"].clone("cell", fontSize=7, leading=8.5)
_HEAD = _CELL.clone("head", fontName="Helvetica-Bold")
_HEADINGS = {
    "E1-5": "E1-5 Energy consumption and mix",
    "E1-6": "E1-6 Gross Scopes 1, 2, 3 and total GHG emissions",
    "E1-7": "E1-7 Carbon credits (shown separately, never netted)",
    "management": "Management view (not ESRS)",
}


def _p(text: str, style=_CELL) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _table(header: list[str], rows: list[list], widths: list[float]) -> Table:
    data = [[_p(cell, _HEAD) for cell in header]] + [[_p(cell) for cell in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _datapoint_rows(rows: list[Datapoint]) -> list[list]:
    return [
        [
            row.ref,
            row.label,
            row.unit,
            *(number_text(getattr(row, column), row.kind) or "\u2014" for column in VALUE_COLUMNS),  # — not reported
            "" if row.change_pct is None else f"{row.change_pct:.2f}",
            row.method_note,
            row.quality,
        ]
        for row in rows
    ]


def scope_chart(content: ReportContent) -> Drawing:
    """Bars of gross emissions (tCO2e): Scope 1, Scope 2 location and market, Scope 3."""
    values = {row.ref: row.value or 0.0 for row in content.datapoints}
    labels = ["Scope 1", "Scope 2 (location)", "Scope 2 (market)", "Scope 3"]
    data = [values.get(ref, 0.0) for ref in ("E1-6.48a", "E1-6.49a", "E1-6.49b", "E1-6.51")]
    drawing = Drawing(16 * cm, 6.5 * cm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 2 * cm, 1 * cm, 13 * cm, 4.8 * cm
    chart.data = [data]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#3a7d44")
    drawing.add(chart)
    drawing.add(String(2 * cm, 6.1 * cm, f"Gross GHG emissions, {content.meta['period']} (tCO2e)", fontSize=8))
    return drawing


def report_pdf(content: ReportContent) -> bytes:
    meta, titles = content.meta, content.column_titles
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=1.2 * cm,
        rightMargin=1.2 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.2 * cm,
        title=meta["title"],
        author="GreenGuild",
        invariant=1,
    )
    kind = "interim, unaudited" if meta["interim"] else "annual"
    story: list = [
        Paragraph(escape(meta["title"]), _STYLES["Title"]),
        _p(
            f"Period {meta['period_start']} to {meta['period_end']} ({kind}); "
            f"ledger as of {meta['as_of']}; methodology {meta['methodology_version']}; consolidation: "
            f"{meta['consolidation_approach']}; {meta['taxonomy']} (concept map {meta['concept_map_version']}).",
            _STYLES["BodyText"],
        ),
        Spacer(1, 0.3 * cm),
        scope_chart(content),
    ]
    header = ["Ref", "Datapoint", "Unit", *(titles[c] for c in VALUE_COLUMNS), "Change %", "Method note", "Quality"]
    widths = [2.4 * cm, 5.6 * cm, 1.6 * cm, 2.0 * cm, 2.0 * cm, 2.0 * cm, 2.0 * cm, 1.4 * cm, 5.5 * cm, 2.7 * cm]
    for section, rows in content.sections().items():
        story += [Spacer(1, 0.3 * cm), Paragraph(escape(_HEADINGS.get(section, section)), _STYLES["Heading2"])]
        story.append(_table(header, _datapoint_rows(rows), widths))
    story += [Spacer(1, 0.3 * cm), Paragraph("Methodology", _STYLES["Heading2"])]
    story.append(
        _table(
            ["Topic", "Item", "Detail"],
            [[row["topic"], row["item"], row["detail"]] for row in content.methodology],
            [3 * cm, 6 * cm, 18.2 * cm],
        )
    )
    if content.restatements:
        story += [Spacer(1, 0.3 * cm), Paragraph("Restatements since the last report", _STYLES["Heading2"])]
        story.append(
            _table(
                ["Period", "Scope", "Category", "Basis", "Change location (tCO2e)", "Change market (tCO2e)"],
                [
                    [
                        line["period"],
                        line["scope"],
                        f"{line['scope3_category'] or ''} {line['scope3_subcategory']}",
                        line["basis"],
                        f"{line['change_location_t']:.6f}",
                        f"{line['change_market_t']:.6f}",
                    ]
                    for line in content.restatements
                ],
                [3 * cm, 2 * cm, 4 * cm, 5 * cm, 6 * cm, 6 * cm],
            )
        )
    document.build(story)
    return buffer.getvalue()
