"""Inline XBRL 1.1 (XHTML) tagging the ESRS E1 datapoints with the EFRAG ESRS Set 1 taxonomy.

Follows EFRAG's ESRS Set 1 taxonomy (2023-12-22; docs/reports.md): duration contexts only; energy in ``utr:MWh``, GHG in
``utr:tCO2e``, percentages as ``xbrli:pure`` fractions shown in percent (``scale="-2"``), GHG
intensity per EUR shown per EUR million (``scale="-6"``); Scope 3 categories are members of
``esrs:Scope3GHGEmissionsCategoryGHGProtocolAxis`` in the context's scenario. Concept names come
from the versioned concept map, never from code. The supplementary hourly-matched Scope 2 (the GHG Protocol
revision's method) is plain text: it is not an ESRS datapoint and carries no fact.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from reporting.reports.datapoints import Datapoint, ReportContent
from reporting.reports.hourly_scope2 import HOURLY_COLUMN, INVENTORY_COLUMN, HourlyScope2Section, value_text
from reporting.reports.tabular import VALUE_COLUMNS

NAMESPACES = {
    "": "http://www.w3.org/1999/xhtml",
    "ix": "http://www.xbrl.org/2013/inlineXBRL",
    "ixt": "http://www.xbrl.org/inlineXBRL/transformation/2020-02-12",
    "xbrli": "http://www.xbrl.org/2003/instance",
    "xbrldi": "http://xbrl.org/2006/xbrldi",
    "link": "http://www.xbrl.org/2003/linkbase",
    "xlink": "http://www.w3.org/1999/xlink",
    "iso4217": "http://www.xbrl.org/2003/iso4217",
    "utr": "http://www.xbrl.org/2009/utr",
}
# The entity: the organization's LEI when it has one (ISO 17442, as ESEF and ESRS filings use), else its slug.
LEI_SCHEME = "http://standards.iso.org/iso/17442"
SLUG_SCHEME = "urn:greenguild:organization"

# kind → (unit id, decimals of the stored value, scale of the displayed value, displayed decimals)
_TAGGING = {
    "energy": ("u-MWh", 6, 0, 6),
    "ghg": ("u-tCO2e", 6, 0, 6),
    "percent": ("u-pure", 6, -2, 4),
    "ghg_intensity": ("u-tCO2e-per-EUR", 12, -6, 6),
    "monetary": ("u-EUR", 2, 0, 2),
}
_CONTEXT_PREFIX = {
    "value": "c-period",
    "year_to_date": "c-ytd",
    "previous_period": "c-prev",
    "previous_year_to_date": "c-prev-ytd",
}


def _spans(content: ReportContent) -> dict[str, tuple[str, str]]:
    """Context base id → (start, end) for each value column that has its own period."""
    meta = content.meta
    spans = {"value": (meta["period_start"], meta["period_end"])}
    if meta["year_to_date"] and (meta["year_to_date"]["start"], meta["year_to_date"]["end"]) != spans["value"]:
        spans["year_to_date"] = (meta["year_to_date"]["start"], meta["year_to_date"]["end"])
    if meta["comparison"]:
        spans["previous_period"] = (meta["comparison"]["start"], meta["comparison"]["end"])
        ytd = meta["comparison_year_to_date"]
        if ytd and (ytd["start"], ytd["end"]) != spans["previous_period"]:
            spans["previous_year_to_date"] = (ytd["start"], ytd["end"])
    return spans


def _context_id(column: str, member: str) -> str:
    base = _CONTEXT_PREFIX[column]
    return f"{base}-{member.split(':', 1)[1]}" if member else base


def _context(context_id: str, entity: tuple[str, str], span: tuple[str, str], axis: str, member: str) -> str:
    scenario = ""
    if member:
        scenario = (
            f"<xbrli:scenario><xbrldi:explicitMember dimension={quoteattr(axis)}>{escape(member)}"
            "</xbrldi:explicitMember></xbrli:scenario>"
        )
    return (
        f'<xbrli:context id="{context_id}"><xbrli:entity><xbrli:identifier scheme="{entity[0]}">'
        f"{escape(entity[1])}</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:startDate>{span[0]}"
        f"</xbrli:startDate><xbrli:endDate>{span[1]}</xbrli:endDate></xbrli:period>{scenario}</xbrli:context>"
    )


def _fact(row: Datapoint, value: float | None, context_id: str | None) -> str:
    if value is None:
        return "\u2014"  # not reported: no fact, a dash (a true zero is a 0 fact)
    unit, decimals, scale, shown = _TAGGING.get(row.kind, (None, 6, 0, 6))
    text = f"{abs(value):,.{shown}f}"
    if not row.xbrl_concept or context_id is None or unit is None:
        return escape(f"{value:,.{shown}f}")
    sign = ' sign="-"' if value < 0 else ""
    return (
        f'<ix:nonFraction name="{row.xbrl_concept}" contextRef="{context_id}" unitRef="{unit}" '
        f'decimals="{decimals}" scale="{scale}" format="ixt:num-dot-decimal"{sign}>{text}</ix:nonFraction>'
    )


def _table(rows: list[Datapoint], content: ReportContent, spans: dict, contexts: dict, tag: bool) -> list[str]:
    titles = content.column_titles
    head = "".join(f"<th>{escape(titles[c])}</th>" for c in VALUE_COLUMNS)
    out = [
        "<table>",
        f"<tr><th>Ref</th><th>Datapoint</th><th>Unit</th>{head}<th>Change %</th><th>Method note</th>"
        "<th>Quality</th></tr>",
    ]
    for row in rows:
        cells = []
        for column in VALUE_COLUMNS:
            context_id = None
            if tag and row.xbrl_concept and column in spans:
                context_id = _context_id(column, row.xbrl_member)
                contexts[context_id] = (spans[column], row.xbrl_axis, row.xbrl_member)
            cells.append(f'<td class="num">{_fact(row, getattr(row, column), context_id)}</td>')
        change = "" if row.change_pct is None else f"{row.change_pct:,.2f}"
        out.append(
            f"<tr><td>{escape(row.ref)}</td><td>{escape(row.label)}</td><td>{escape(row.unit)}</td>{''.join(cells)}"
            f'<td class="num">{change}</td><td>{escape(row.method_note)}</td><td>{escape(row.quality)}</td></tr>'
        )
    out.append("</table>")
    return out


def _hourly_scope2(section: HourlyScope2Section) -> list[str]:
    """The section as untagged text: the hourly figure beside the inventory's, "unknown" where there is none."""
    out = [
        f"<h2>{escape(section.title)}</h2>",
        f"<p>{escape(section.intro)}</p>",
        "<table>",
        f"<tr><th>Ref</th><th>Item</th><th>Unit</th><th>{escape(HOURLY_COLUMN)}</th>"
        f"<th>{escape(INVENTORY_COLUMN)}</th><th>Note</th></tr>",
    ]
    for row in section.rows:
        inventory = value_text(row.inventory, row.kind, grouped=True) if row.compared else ""
        out.append(
            f"<tr><td>{escape(row.ref)}</td><td>{escape(row.label)}</td><td>{escape(row.unit)}</td>"
            f'<td class="num">{value_text(row.hourly, row.kind, grouped=True)}</td><td class="num">{inventory}</td>'
            f"<td>{escape(row.note)}</td></tr>"
        )
    out.append("</table>")
    out += [f"<p>Note: {escape(note)}</p>" for note in section.notes]
    return out


def report_xhtml(content: ReportContent) -> bytes:
    meta = content.meta
    spans = _spans(content)
    contexts: dict[str, tuple] = {}
    body: list[str] = [f"<h1>{escape(meta['title'])}</h1>"]
    body.append(
        f"<p>Period {meta['period_start']} to {meta['period_end']}; ledger as of {escape(meta['as_of'])}; "
        f"methodology {escape(meta['methodology_version'])}; {escape(meta['taxonomy'])}, concept map "
        f"{escape(meta['concept_map_version'])}. Consolidation: {escape(meta['consolidation_approach'])}.</p>"
    )
    headings = {
        "E1-5": "E1-5 Energy consumption and mix",
        "E1-6": "E1-6 Gross Scopes 1, 2, 3 and total GHG emissions",
        "E1-7": "E1-7 Carbon credits (shown separately, never netted)",
        "management": "Management view (not part of ESRS; not tagged)",
    }
    for section, rows in content.sections().items():
        body.append(f"<h2>{escape(headings.get(section, section))}</h2>")
        body += _table(rows, content, spans, contexts, tag=section != "management")
    if content.hourly_scope2 is not None:
        body += _hourly_scope2(content.hourly_scope2)
    body.append("<h2>Methodology</h2><table><tr><th>Topic</th><th>Item</th><th>Detail</th></tr>")
    for row in content.methodology:
        body.append(
            f"<tr><td>{escape(row['topic'])}</td><td>{escape(row['item'])}</td><td>{escape(row['detail'])}</td></tr>"
        )
    body.append("</table>")
    if content.restatements:
        body.append("<h2>Restatements since the issued reports</h2><table>")
        body.append("<tr><th>Period</th><th>Scope</th><th>Category</th><th>Basis</th><th>Change location (tCO2e)</th>")
        body.append("<th>Change market (tCO2e)</th></tr>")
        for line in content.restatements:
            body.append(
                f"<tr><td>{escape(line['period'])}</td><td>{line['scope']}</td>"
                f"<td>{escape(str(line['scope3_category'] or ''))} {escape(line['scope3_subcategory'])}</td>"
                f"<td>{escape(line['basis'])}</td><td>{line['change_location_t']:,.6f}</td>"
                f"<td>{line['change_market_t']:,.6f}</td></tr>"
            )
        body.append("</table>")
    entity = (
        (LEI_SCHEME, meta["organization_lei"])
        if meta.get("organization_lei")
        else (SLUG_SCHEME, meta["organization_slug"])
    )
    resources = [_context(cid, entity, span, axis, member) for cid, (span, axis, member) in sorted(contexts.items())]
    resources += [
        '<xbrli:unit id="u-tCO2e"><xbrli:measure>utr:tCO2e</xbrli:measure></xbrli:unit>',
        '<xbrli:unit id="u-MWh"><xbrli:measure>utr:MWh</xbrli:measure></xbrli:unit>',
        '<xbrli:unit id="u-pure"><xbrli:measure>xbrli:pure</xbrli:measure></xbrli:unit>',
        '<xbrli:unit id="u-EUR"><xbrli:measure>iso4217:EUR</xbrli:measure></xbrli:unit>',
        '<xbrli:unit id="u-tCO2e-per-EUR"><xbrli:divide><xbrli:unitNumerator><xbrli:measure>utr:tCO2e'
        "</xbrli:measure></xbrli:unitNumerator><xbrli:unitDenominator><xbrli:measure>iso4217:EUR</xbrli:measure>"
        "</xbrli:unitDenominator></xbrli:divide></xbrli:unit>",
    ]
    declarations = (
        " ".join(f'xmlns{":" + prefix if prefix else ""}="{uri}"' for prefix, uri in NAMESPACES.items())
        + f' xmlns:esrs="{meta["taxonomy_namespace"]}"'
    )
    document = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<html {declarations} xml:lang="en">',
        '<head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>',
        f"<title>{escape(meta['title'])}</title>",
        '<style type="text/css">table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 4px}'
        ".num{text-align:right}</style></head>",
        "<body>",
        '<div style="display:none"><ix:header><ix:references>',
        f'<link:schemaRef xlink:type="simple" xlink:href={quoteattr(meta["taxonomy_entry_point"])}/>',
        "</ix:references><ix:resources>",
        *resources,
        "</ix:resources></ix:header></div>",
        *body,
        "</body></html>",
    ]
    return ("\n".join(document) + "\n").encode("utf-8")
