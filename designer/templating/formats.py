"""Locale formats for merge fields: the ``date``, ``datetime``, ``number``, ``percent``
and ``money`` filters, built on Babel.

Each formats in the render locale the merge data names (``locale``): the
recipient's language, else the template's, else the sender's. Numbers too
large to be a real amount are refused rather than written out digit by digit.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation, localcontext

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import pass_context

#: Largest power of ten a formatted number may reach (far beyond any amount).
MAX_EXPONENT = 30
#: Significant digits Babel may work with: every number up to ``MAX_EXPONENT`` with the
#: decimals of any pattern (Python's default of 28 fails from about 10**25 on).
PRECISION = 4 * MAX_EXPONENT
#: Locale of a merge whose data name none, or one Babel does not know.
FALLBACK_LOCALE = "en"


def locale_of(context_locale):
    """Return a Babel locale for a language tag, English when unknown."""
    try:
        return Locale.parse((context_locale or FALLBACK_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK_LOCALE)


def _render_locale(ctx):
    return locale_of(ctx.get("locale"))


@pass_context
def filter_date(ctx, value, format="numeric"):
    """``{{ invoice.due_date | date }}`` in the render locale: 27-11-2026 / 11/27/2026.

    ``numeric`` is the locale's short date with the full year; ``short``,
    ``medium``, ``long``, ``full`` or a CLDR pattern may be given instead.
    """
    value = _as_date(value)
    if not value:
        return ""
    locale = _render_locale(ctx)
    if format == "numeric":
        format = _full_year(locale.date_formats["short"].pattern)
    return format_date(value, format=format, locale=locale)


def _full_year(pattern):
    """CLDR short patterns often use a 2-digit year (yy); letters say the full one (y)."""
    return pattern.replace("yyyy", "y").replace("yy", "y")


@pass_context
def filter_datetime(ctx, value, format="short"):
    """``{{ message.sent_at | datetime }}`` in the render locale."""
    if not isinstance(value, datetime):
        return ""
    return format_datetime(value, format=format, locale=_render_locale(ctx))


@pass_context
def filter_number(ctx, value, format=None):
    """``{{ line.quantity | number }}`` with the locale's separators."""
    number = _as_decimal(value)
    return "" if number is None else _formatted(format_decimal, number, format, ctx)


@pass_context
def filter_percent(ctx, value, format=None):
    """``{{ 0.21 | percent }}`` as ``21%`` / ``21 %``."""
    number = _as_decimal(value)
    return "" if number is None else _formatted(format_percent, number, format, ctx)


@pass_context
def filter_money(ctx, value, currency=None):
    """``{{ invoice.total | money(invoice.currency) }}`` as ``€ 1.234,50`` / ``€1,234.50``."""
    number = _as_decimal(value)
    if number is None:
        return ""
    currency = (currency or ctx.get("currency") or "EUR").upper()
    return _formatted(format_currency, number, currency, ctx)


def _formatted(format_function, number, how, ctx):
    """``number`` through Babel with room for every digit; a pattern asking for more
    decimals than that is refused with a clear message."""
    with localcontext(prec=PRECISION):
        try:
            return format_function(number, how, locale=_render_locale(ctx))
        except InvalidOperation:
            raise ValueError(f"{str(how)[:40]!r} asks for more digits than a number has") from None


def _as_decimal(value):
    # Not mutated: `and` or another text in place of "" is equivalent (neither None nor ""
    # is a decimal: the check only spares the attempt).
    if value is None or value == "":  # pragma: no mutate
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or (number and abs(number.adjusted()) > MAX_EXPONENT):
        raise ValueError(f"{str(value)[:40]} is too large or too small to format as a number")
    return number


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


FILTERS = {
    "date": filter_date,
    "datetime": filter_datetime,
    "number": filter_number,
    "percent": filter_percent,
    "money": filter_money,
}
