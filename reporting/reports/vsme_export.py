"""VSME B3 (energy and GHG emissions) of a report: the EFRAG Digital Template form (XLSX) and inline XBRL.

The B3 datapoints come from the report's own ESRS datapoints (the same pinned calculations), as the VSME map
``reporting/data/vsme_b3_concepts.csv`` says: each row names the ESRS refs it is computed from (``source``:
refs joined by `` + `` / `` - ``, then at most one `` / `` for a ratio), the concept of EFRAG's VSME XBRL
taxonomy (2025-07-30) and the Digital Template's named range. Only the period column is exported: the VSME
template has one reporting period. Concept names, types and the energy breakdown hypercube were read in EFRAG's
VSME taxonomy as shipped with its converter (EFRAG-EU/Digital-Template-to-XBRL-Converter,
src/mireport/data/taxonomies/vsme-2025-07-30.json, and digital-templates/VSME-Digital-Template-1.1.1.xlsx).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName

from emissions.tables import cell_safe
from reporting.reports.concepts import VSME_MAP_PATH, concept_map_load
from reporting.reports.datapoints import ReportContent
from reporting.reports.xhtml_export import LEI_SCHEME, NAMESPACES, SLUG_SCHEME

B3_SHEET = "B3 Energy and GHG"
# kind → (unit id, decimals stated and shown); intensities are tCO2e per EUR, as B3 §31 asks (not per EUR million).
_TAGGING = {
    "energy": ("u-MWh", 6),
    "ghg": ("u-tCO2e", 6),
    "monetary": ("u-EUR", 2),
    "ghg_intensity_eur": ("u-tCO2e-per-EUR", 12),
}
_NUMBER_FORMATS = {
    "energy": "#,##0.000",
    "ghg": "#,##0.000",
    "monetary": "#,##0.00",
    "ghg_intensity_eur": "0.000000000",
}


@dataclass(frozen=True)
class VsmeDatapoint:
    """One B3 value for the report's period; ``value`` None means not reported (no turnover, no data)."""

    ref: str
    section: str
    label: str
    unit: str
    kind: str
    value: float | None
    concept: str
    axis: str
    member: str
    note: str
    source: str
    template_name: str


def _sum(expression: str, values: dict[str, float | None]) -> float | None:
    total, sign = 0.0, 1.0
    for part in expression.split():
        if part in ("+", "-"):
            sign = -1.0 if part == "-" else 1.0
            continue
        value = values.get(part)
        if value is None:
            return None
        total += sign * value
    return total


def _evaluate(source: str, values: dict[str, float | None]) -> float | None:
    numerator, _, denominator = source.partition(" / ")
    top = _sum(numerator, values)
    if not denominator:
        return top
    bottom = _sum(denominator, values)
    return None if top is None or not bottom else top / bottom


def vsme_datapoints(content: ReportContent) -> list[VsmeDatapoint]:
    """The B3 datapoints of the map, valued from the content's ESRS rows (period column)."""
    values = {row.ref: row.value for row in content.datapoints}
    rows = []
    for concept in concept_map_load(VSME_MAP_PATH).concepts:
        value = _evaluate(concept.source, values)
        decimals = _TAGGING.get(concept.kind, ("", 6))[1]
        rows.append(
            VsmeDatapoint(
                ref=concept.ref,
                section=concept.section,
                label=concept.label,
                unit=concept.unit,
                kind=concept.kind,
                value=None if value is None else (round(value, decimals) or 0.0),  # no "-0.0"
                concept=concept.concept,
                axis=concept.axis,
                member=concept.member,
                note=concept.note,
                source=concept.source,
                template_name=concept.template_name,
            )
        )
    return rows


def _about(content: ReportContent) -> list[tuple[str, str]]:
    meta = content.meta
    vsme = concept_map_load(VSME_MAP_PATH)
    return [
        ("Organization", meta["organization"]),
        ("LEI", meta["organization_lei"] or ""),
        ("Reporting period", f"{meta['period_start']} to {meta['period_end']} ({meta['period']})"),
        ("Ledger as of", meta["as_of"]),
        ("Methodology", meta["methodology_version"]),
        ("Standard", "VSME Basic Module, disclosure B3 (Commission Recommendation (EU) 2025/1710)"),
        ("XBRL taxonomy", f"{vsme.taxonomy} ({vsme.entry_point}); map {vsme.map_version}"),
        ("Figures from", f"the ESRS E1 report of the same calculations ({meta['taxonomy']})"),
    ]


def report_vsme_xlsx(content: ReportContent) -> bytes:
    """B3 in the Digital Template's form: one value per row, each value cell a workbook name equal to EFRAG's
    named range (the concept's local name, ``_<Member>`` for a breakdown), so EFRAG's converter can read it."""
    workbook = Workbook()
    about = workbook.active
    about.title = "About"
    about.append(["Item", "Value"])
    for item, value in _about(content):
        about.append([item, cell_safe(value)])
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 100
    sheet = workbook.create_sheet(B3_SHEET)
    header = ["Ref", "Datapoint", "Unit", content.column_titles.get("value", "Value"), "XBRL concept", "Member"]
    sheet.append([*header, "Named range", "Computed from (ESRS refs)", "Note"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in vsme_datapoints(content):
        sheet.append(
            [
                row.ref,
                row.label,
                row.unit,
                row.value,
                f"vsme:{row.concept}" if row.concept else "",
                f"vsme:{row.member}" if row.member else "",
                row.template_name,
                row.source,
                cell_safe(row.note),
            ]
        )
        sheet.cell(row=sheet.max_row, column=4).number_format = _NUMBER_FORMATS.get(row.kind, "#,##0.000")
        if row.template_name:
            reference = f"'{B3_SHEET}'!$D${sheet.max_row}"
            workbook.defined_names[row.template_name] = DefinedName(row.template_name, attr_text=reference)
    for column, width in zip("ABCDEFGHI", [12, 62, 10, 18, 62, 28, 70, 30, 80], strict=True):
        sheet.column_dimensions[column].width = width
    # A fixed timestamp: the same content gives the same bytes (as the ESRS workbook).
    workbook.properties.created = workbook.properties.modified = datetime(2000, 1, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _context(context_id: str, entity: tuple[str, str], meta: dict, axis: str, member: str) -> str:
    scenario = ""
    if member:
        scenario = (
            f"<xbrli:scenario><xbrldi:explicitMember dimension={quoteattr('vsme:' + axis)}>vsme:{escape(member)}"
            "</xbrldi:explicitMember></xbrli:scenario>"
        )
    return (
        f'<xbrli:context id="{context_id}"><xbrli:entity><xbrli:identifier scheme="{entity[0]}">'
        f"{escape(entity[1])}</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:startDate>"
        f"{meta['period_start']}</xbrli:startDate><xbrli:endDate>{meta['period_end']}</xbrli:endDate>"
        f"</xbrli:period>{scenario}</xbrli:context>"
    )


def report_vsme_xhtml(content: ReportContent) -> bytes:
    """B3 as inline XBRL 1.1 with EFRAG's VSME taxonomy: totals in the default context, the renewable /
    non-renewable split as members of ``vsme:BreakdownOfEnergyConsumptionAxis``; unreported values carry no fact."""
    meta = content.meta
    vsme = concept_map_load(VSME_MAP_PATH)
    entity = (
        (LEI_SCHEME, meta["organization_lei"])
        if meta.get("organization_lei")
        else (SLUG_SCHEME, meta["organization_slug"])
    )
    contexts: dict[str, tuple[str, str]] = {}
    title = f"VSME B3 Energy and greenhouse gas emissions of {meta['organization']} for {meta['period']}"
    body = [f"<h1>{escape(title)}</h1>", "<table>"]
    body.append("<tr><th>Ref</th><th>Datapoint</th><th>Unit</th><th>Value</th><th>Note</th></tr>")
    for row in vsme_datapoints(content):
        unit, decimals = _TAGGING[row.kind]
        if row.value is None:
            cell = "\u2014"  # not reported: no fact
        else:
            context_id = f"c-period-{row.member}" if row.member else "c-period"
            contexts[context_id] = (row.axis, row.member)
            sign = ' sign="-"' if row.value < 0 else ""
            cell = (
                f'<ix:nonFraction name="vsme:{row.concept}" contextRef="{context_id}" unitRef="{unit}" '
                f'decimals="{decimals}" format="ixt:num-dot-decimal"{sign}>{abs(row.value):,.{decimals}f}'
                "</ix:nonFraction>"
            )
        body.append(
            f"<tr><td>{escape(row.ref)}</td><td>{escape(row.label)}</td><td>{escape(row.unit)}</td>"
            f'<td class="num">{cell}</td><td>{escape(row.note)}</td></tr>'
        )
    body.append("</table>")
    body += [f"<p>{escape(item)}: {escape(value)}</p>" for item, value in _about(content)]
    resources = [_context(cid, entity, meta, axis, member) for cid, (axis, member) in sorted(contexts.items())]
    resources += [
        '<xbrli:unit id="u-tCO2e"><xbrli:measure>utr:tCO2e</xbrli:measure></xbrli:unit>',
        '<xbrli:unit id="u-MWh"><xbrli:measure>utr:MWh</xbrli:measure></xbrli:unit>',
        '<xbrli:unit id="u-EUR"><xbrli:measure>iso4217:EUR</xbrli:measure></xbrli:unit>',
        '<xbrli:unit id="u-tCO2e-per-EUR"><xbrli:divide><xbrli:unitNumerator><xbrli:measure>utr:tCO2e'
        "</xbrli:measure></xbrli:unitNumerator><xbrli:unitDenominator><xbrli:measure>iso4217:EUR</xbrli:measure>"
        "</xbrli:unitDenominator></xbrli:divide></xbrli:unit>",
    ]
    declarations = " ".join(f'xmlns{":" + prefix if prefix else ""}="{uri}"' for prefix, uri in NAMESPACES.items())
    document = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<html {declarations} xmlns:vsme="{vsme.namespace}" xml:lang="en">',
        '<head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>',
        f"<title>{escape(title)}</title>",
        '<style type="text/css">table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 4px}'
        ".num{text-align:right}</style></head>",
        "<body>",
        '<div style="display:none"><ix:header><ix:references>',
        f'<link:schemaRef xlink:type="simple" xlink:href={quoteattr(vsme.entry_point)}/>',
        "</ix:references><ix:resources>",
        *resources,
        "</ix:resources></ix:header></div>",
        *body,
        "</body></html>",
    ]
    return ("\n".join(document) + "\n").encode("utf-8")
