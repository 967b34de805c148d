"""Spreadsheet formula-injection guard for CSV and XLSX cells (OWASP "CSV injection")."""

import re

# A spreadsheet evaluates a cell starting with one of these as a formula; tab and CR start DDE payloads.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A plain number such as "-12.5" is read as a number, never run; it stays as it is.
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def cell_neutralize(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value
