"""CSV files people open in a spreadsheet: every cell safe from formula injection.

Exports carry data that recipients and CRMs typed (names, addresses, a
server's error). A spreadsheet runs a cell that starts with ``=``, ``+``,
``-`` or ``@`` (also after a tab or a carriage return, and in their
full-width forms, which some spreadsheets fold to ASCII) as a formula, which
can leak other cells or start programs. Such cells get a leading ``'``, so
they show as the text they are. Every CSV the product writes goes through
``csv_text``.
"""

import csv
import io

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)  # full-width = + - @


def formula_safe(value):
    """The cell text for ``value``: numbers as they are, other text never a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows):
    """``rows`` (the header first) as CSV text, every cell through ``formula_safe``."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([formula_safe(value) for value in row])
    return out.getvalue()
