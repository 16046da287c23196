"""CSV exports: no cell a spreadsheet would run as a formula."""

import csv
import io
from datetime import datetime

import pytest

from designer.csvexport import csv_text, formula_safe


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+31 6 1234", "'+31 6 1234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("\uff1dcmd|' /C calc'!A0", "'\uff1dcmd|' /C calc'!A0"),
        ("\uff20SUM(1)", "'\uff20SUM(1)"),
        ("=x@example.com", "'=x@example.com"),
        ("Jan de Vries", "Jan de Vries"),
        ("jan@example.com", "jan@example.com"),
        ("", ""),
        (None, ""),
        (3, 3),
        (-4, -4),
        (2.5, 2.5),
        (datetime(2026, 5, 1, 9, 30), "2026-05-01 09:30:00"),
    ],
)
def test_formula_safe(value, cell):
    assert formula_safe(value) == cell


def test_every_cell_of_the_text_is_safe():
    text = csv_text([("recipient", "name"), ("=1+2@example.com", "@evil"), ("a@b.example", "Ann")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["recipient", "name"], ["'=1+2@example.com", "'@evil"], ["a@b.example", "Ann"]]
