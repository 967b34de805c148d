"""XLSX, PDF and inline XBRL renderings of the small organization's 2025-Q1 report."""

import io
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting.models import Report
from reporting.services import report_create, report_generate

NS = {
    "x": "http://www.w3.org/1999/xhtml",
    "ix": "http://www.xbrl.org/2013/inlineXBRL",
    "xbrli": "http://www.xbrl.org/2003/instance",
    "xbrldi": "http://xbrl.org/2006/xbrldi",
    "link": "http://www.xbrl.org/2003/linkbase",
}
ESRS = "https://xbrl.efrag.org/taxonomy/esrs/2023-12-22"


def _parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 -- our own generated file, not untrusted input


def _file(org, file_format: str, label: str = "2025-Q1") -> bytes:
    report = report_generate(report=report_create(organization=org, period_label=label, enqueue=False))
    assert report.status == Report.Status.DONE, report.error
    return bytes(report.files.get(file_format=file_format).content)


@pytest.mark.django_db
def test_xlsx_has_the_sections_units_in_headers_and_frozen_header(small_org):
    workbook = load_workbook(io.BytesIO(_file(small_org, "xlsx")))
    assert workbook.sheetnames == [
        "Report", "E1-5 Energy", "E1-6 GHG emissions", "E1-7 Carbon credits", "Management (not ESRS)",
        "Scope 2 hourly (revision)", "Methodology", "Restatements",
    ]  # fmt: skip
    for name in workbook.sheetnames:
        assert workbook[name].freeze_panes == "A2", name
    sheet = workbook["E1-6 GHG emissions"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Ref", "Label", "Unit", "2025-Q1 (unit in column C)"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["E1-6.48a"][2] == "tCO2e" and rows["E1-6.48a"][3] == pytest.approx(2.52472)
    assert rows["E1-6.52a"][-2] == "esrs:LocationBasedGreenhouseGasEmissions"
    credits = workbook["E1-7 Carbon credits"]
    assert credits.cell(row=2, column=4).value == 5.0


@pytest.mark.django_db
def test_xlsx_neutralizes_a_formula_team_name(small_org):
    small_org.teams.update(name='=HYPERLINK("http://x")')
    workbook = load_workbook(io.BytesIO(_file(small_org, "xlsx")))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and value.startswith(("=", "+", "-", "@"))), value
    labels = [row[1] for row in workbook["Management (not ESRS)"].iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://x") (team): operational, location-based' in labels


@pytest.mark.django_db
def test_pdf_has_pages_and_the_e1_6_rows(small_org):
    data = _file(small_org, "pdf")
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for label in (
        "Gross Scope 1 GHG emissions",
        "Gross location-based Scope 2 GHG emissions",
        "Gross market-based Scope 2 GHG emissions",
        "Gross Scope 3 GHG emissions",
        "Total GHG emissions (location-based)",
        "Total GHG emissions (market-based)",
    ):
        assert label in text, label
    assert "7.551" in text and "Methodology" in text  # tCO2e to three decimals in print (7.550720 in the data)


@pytest.mark.django_db
def test_pdf_is_deterministic(small_org):
    report = report_generate(report=report_create(organization=small_org, period_label="2025-Q1", enqueue=False))
    first = bytes(report.files.get(file_format="pdf").content)
    report_generate(report=report)
    assert bytes(report.files.get(file_format="pdf").content) == first


@pytest.mark.django_db
def test_xhtml_parses_and_every_fact_has_a_unit_and_a_period(small_org):
    root = _parse(_file(small_org, "xhtml"))
    assert root.tag == "{http://www.w3.org/1999/xhtml}html"
    schema = root.find(".//link:schemaRef", NS)
    assert schema.get("{http://www.w3.org/1999/xlink}href") == f"{ESRS}/esrs_all.xsd"
    contexts = {c.get("id"): c for c in root.iterfind(".//xbrli:context", NS)}
    units = {u.get("id"): u for u in root.iterfind(".//xbrli:unit", NS)}
    facts = list(root.iterfind(".//ix:nonFraction", NS))
    assert facts
    for fact in facts:
        context = contexts[fact.get("contextRef")]
        assert context.find("xbrli:period/xbrli:startDate", NS) is not None
        assert context.find("xbrli:period/xbrli:endDate", NS) is not None
        assert context.find("xbrli:period/xbrli:instant", NS) is None
        assert fact.get("unitRef") in units
        assert fact.get("name").startswith("esrs:") and fact.get("decimals")
    by_name = {}
    for fact in facts:
        by_name.setdefault((fact.get("name"), fact.get("contextRef")), fact)
    gross_1 = by_name[("esrs:GrossScope1GreenhouseGasEmissions", "c-period")]
    assert gross_1.get("unitRef") == "u-tCO2e" and gross_1.text == "2.524720"
    energy = by_name[("esrs:EnergyConsumptionRelatedToOwnOperations", "c-period")]
    assert energy.get("unitRef") == "u-MWh"
    share = by_name[("esrs:PercentageOfRenewableSourcesInTotalEnergyConsumption", "c-period")]
    assert share.get("unitRef") == "u-pure" and share.get("scale") == "-2"
    intensity = by_name[("esrs:GHGEmissionsIntensityLocationbasedTotalGHGEmissionsPerNetRevenue", "c-period")]
    assert intensity.get("unitRef") == "u-tCO2e-per-EUR" and intensity.get("scale") == "-6"
    assert ("esrs:LocationBasedGreenhouseGasEmissions", "c-period") in by_name
    assert ("esrs:MarketBasedGreenhouseGasEmissions", "c-period") in by_name
    assert not any(name == "esrs:GrossGreenhouseGasEmissions" for name, _ in by_name)
    # Scope 3 categories: one concept with a member of the GHG Protocol category axis in the scenario.
    cat_2 = by_name[("esrs:GrossScope3GreenhouseGasEmissions", "c-period-Category2CapitalGoodsMember")]
    member = contexts[cat_2.get("contextRef")].find(".//xbrldi:explicitMember", NS)
    assert member.get("dimension") == "esrs:Scope3GHGEmissionsCategoryGHGProtocolAxis"
    assert member.text == "esrs:Category2CapitalGoodsMember"
    assert by_name[("esrs:GrossScope3GreenhouseGasEmissions", "c-period")].text == "2.326000"
    # Q1: the year to date is the quarter itself, so no second context repeats the same facts.
    assert "c-ytd" not in contexts
    units_measures = {
        u.get("id"): [m.text for m in u.iter("{http://www.xbrl.org/2003/instance}measure")] for u in units.values()
    }
    assert units_measures["u-MWh"] == ["utr:MWh"] and units_measures["u-pure"] == ["xbrli:pure"]


@pytest.mark.django_db
def test_xhtml_escapes_names(small_org):
    small_org.name = "A & B <Labs>"
    small_org.save()
    root = _parse(_file(small_org, "xhtml"))
    assert "A & B <Labs>" in root.find(".//x:h1", NS).text


@pytest.mark.django_db
def test_xhtml_interim_tags_year_to_date(small_org):
    root = _parse(_file(small_org, "xhtml", "2025-Q2"))
    contexts = {c.get("id"): c for c in root.iterfind(".//xbrli:context", NS)}
    ytd = contexts["c-ytd"].find("xbrli:period", NS)
    assert [e.text for e in ytd] == ["2025-01-01", "2025-06-30"]


NAMES = {
    "organization": "Ελληνική Εταιρεία Τεχνητής Νοημοσύνης ΑΕ",
    "team": "Български екип за машинно обучение",
    "project": "Équipe Zürich – Ørsted Æbleskiver ŁÓDŹ",
}


@pytest.mark.django_db
def test_pdf_prints_greek_cyrillic_and_accented_names(small_org, tmp_path):
    """Embedded DejaVu Sans: the names come back from the PDF's text as written; page numbers and a running
    header on every page; an annual report without year-to-date columns; the management view last."""
    small_org.name = NAMES["organization"]
    small_org.save(update_fields=["name"])
    small_org.teams.filter(slug="a-team").update(name=NAMES["team"])
    small_org.projects.filter(slug="a-project").update(name=NAMES["project"])
    data = _file(small_org, "pdf", "2025")
    reader = PdfReader(io.BytesIO(data))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    text = " ".join(pages)
    for name in NAMES.values():
        assert name in text, name
    for number, page in enumerate(pages, 1):
        assert page.startswith(f"{NAMES['organization']} \u2014 Climate report"), number
        assert f"Page {number}" in page
    (tmp_path / "names.pdf").write_bytes(data)
    fonts = {str(font) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("Helvetica" not in font for font in fonts)
    assert "YTD" not in text.split("E1-7")[0]  # no year-to-date column in an annual report
    assert text.rindex("Appendix: management view") > text.rindex("Methodology")
    # Refs wrap after their dots only: "M.project.a-project." then "embodied", never "embod" + "ied".
    raw = "\n".join(page.extract_text() for page in reader.pages)
    assert "M.project.a-project.\nembodied" in raw and "embod\nied" not in raw
    (tmp_path / "names.pdf").write_bytes(data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lei", "error"),
    [("5493001KJTIIGC8Y1R13", "check digits"), ("5493001kjtiigc8y1r12", "upper-case"), ("5493001KJTIIGC8Y1R1", "20")],
)
def test_an_lei_is_checked(small_org, lei, error):
    from django.core.exceptions import ValidationError

    small_org.lei = lei
    with pytest.raises(ValidationError, match=error):
        small_org.full_clean()


@pytest.mark.django_db
def test_without_an_lei_the_slug_identifies_the_entity(small_org):
    text = _file(small_org, "xhtml").decode()
    assert '<xbrli:identifier scheme="urn:greenguild:organization">org-a<' in text
