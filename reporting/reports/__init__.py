"""ESRS E1 climate reports (and their VSME B3 form): the datapoints builder and one exporter module per format.

``EXPORTERS`` maps a ``ReportFile.Format`` value to ``render(content) -> bytes``; it is the only
registry, so ``grep EXPORTERS`` finds every format.
"""

from reporting.reports.csv_export import report_csv
from reporting.reports.json_export import report_json
from reporting.reports.pdf_export import report_pdf
from reporting.reports.vsme_export import report_vsme_xhtml, report_vsme_xlsx
from reporting.reports.xhtml_export import report_xhtml
from reporting.reports.xlsx_export import report_xlsx

EXPORTERS = {
    "csv": report_csv,
    "xlsx": report_xlsx,
    "json": report_json,
    "pdf": report_pdf,
    "xhtml": report_xhtml,
    "vsme": report_vsme_xlsx,
    "vsme-xhtml": report_vsme_xhtml,
}

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "pdf": "application/pdf",
    "xhtml": "application/xhtml+xml; charset=utf-8",
    "vsme": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "vsme-xhtml": "application/xhtml+xml; charset=utf-8",
}

# The downloaded file's name: (what the file is, extension); an ESRS E1 report otherwise.
FILE_NAMES = {"vsme": ("vsme-b3-report", "xlsx"), "vsme-xhtml": ("vsme-b3-report", "xhtml")}
