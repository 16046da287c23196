"""Locale formats: the calendar year in dates, the digits a number may have, clear refusals."""

from datetime import date

import pytest

from designer.templating.formats import _full_year
from designer.templating.sandbox import MergeError


@pytest.mark.parametrize(("locale", "expected"), [("en", "12/31/2026"), ("nl", "31-12-2026")])
def test_a_date_in_the_last_week_of_a_year_keeps_its_calendar_year(merge, locale, expected):
    """31 December 2026 falls in the first week of 2027: the date still says 2026."""
    assert merge("{{ d | date }}", d=date(2026, 12, 31), locale=locale) == expected


@pytest.mark.parametrize(
    ("pattern", "full"),
    [("dd.MM.yyyy", "dd.MM.y"), ("d/M/yy", "d/M/y"), ("y-MM-dd", "y-MM-dd")],
)
def test_a_short_date_pattern_is_given_the_full_year(pattern, full):
    assert _full_year(pattern) == full


@pytest.mark.parametrize("value", [5, 2.5, ["2026-11-27"], {"d": 1}])
def test_a_date_of_something_that_is_not_a_date_or_text_is_empty(merge, value):
    assert merge("[{{ v | date }}]", v=value) == "[]"


def test_a_number_is_formatted_with_every_digit_up_to_the_precision(merge):
    """1e30 has 31 digits: 89 decimals make the 120 a format may work with, 90 are refused."""
    out = merge("{{ x | number(p) }}", x="1e30", p="0." + "0" * 89, locale="en")
    assert out == "1" + "0" * 30 + "." + "0" * 89
    with pytest.raises(MergeError, match="asks for more digits than a number has"):
        merge("{{ x | number(p) }}", x="1e30", p="0." + "0" * 90)


def test_a_pattern_asking_for_too_many_digits_is_quoted_to_its_first_40_characters(merge):
    with pytest.raises(MergeError) as caught:
        merge("{{ 1 | number(p) }}", p="0." + "0" * 500)
    quoted = repr("0." + "0" * 38)
    assert caught.value.message == f"ValueError: {quoted} asks for more digits than a number has"


def test_a_number_too_large_to_format_is_named_by_its_first_40_characters(merge):
    with pytest.raises(MergeError) as caught:
        merge("{{ x | money }}", x="1" + "0" * 50)
    assert caught.value.message == (
        f"ValueError: {'1' + '0' * 39} is too large or too small to format as a number"
    )
