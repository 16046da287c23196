"""The sandboxed Jinja environment that merges user-written templates.

Template authors are not trusted with the server: templates run in Jinja's
``SandboxedEnvironment`` with autoescaping, see only the merge data handed to
them (plain dicts, never ORM objects), and get locale-aware filters built on
Babel. Arithmetic that could explode (``'x' * 10**9``, ``9**99999999``) is
refused before Python computes it.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import TemplateSyntaxError, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

#: Largest string, list or number of digits one operation may produce.
MAX_OPERATION_SIZE = 100_000
#: Largest rendered output of one template, in characters.
MAX_OUTPUT_CHARS = 5_000_000


class MergeError(Exception):
    """A template could not be compiled or merged; ``line`` names where."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message


class MergeEnvironment(SandboxedEnvironment):
    """Sandbox that also bounds the size of what ``*`` and ``**`` produce."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            _check_power(left, right)
            return left**right
        _check_repeat(left, right)
        return left * right


def _check_power(base, exponent):
    if isinstance(base, int | float) and isinstance(exponent, int | float):
        magnitude = abs(exponent) * max(len(str(int(abs(base)))) if base else 1, 1)
        if magnitude > MAX_OPERATION_SIZE:
            raise SecurityError("number too large to compute in a template")


def _check_repeat(left, right):
    for value, times in ((left, right), (right, left)):
        repeats = isinstance(value, str | list | tuple) and isinstance(times, int)
        if repeats and len(value) * times > MAX_OPERATION_SIZE:
            raise SecurityError("result too large to compute in a template")


def build_environment(autoescape=True):
    """Return a fresh merge environment with the locale filters installed.

    HTML bodies autoescape merge values; text parts and subjects do not (they
    are not HTML), and headers are cleaned separately when the MIME is built.
    """
    env = MergeEnvironment(autoescape=autoescape, keep_trailing_newline=True)
    env.filters.update(
        date=filter_date,
        datetime=filter_datetime,
        number=filter_number,
        percent=filter_percent,
        money=filter_money,
    )
    env.globals.clear()
    return env


def locale_of(context_locale):
    """Return a Babel locale for a language tag, English when unknown."""
    try:
        return Locale.parse((context_locale or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


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
    return "" if number is None else format_decimal(number, format, locale=_render_locale(ctx))


@pass_context
def filter_percent(ctx, value, format=None):
    """``{{ 0.21 | percent }}`` as ``21%`` / ``21 %``."""
    number = _as_decimal(value)
    return "" if number is None else format_percent(number, format, locale=_render_locale(ctx))


@pass_context
def filter_money(ctx, value, currency=None):
    """``{{ invoice.total | money(invoice.currency) }}`` as ``€ 1.234,50`` / ``€1,234.50``."""
    number = _as_decimal(value)
    if number is None:
        return ""
    currency = (currency or ctx.get("currency") or "EUR").upper()
    return format_currency(number, currency, locale=_render_locale(ctx))


def _as_decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


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


def compile_template(env, source):
    """Parse a template once; raise ``MergeError`` naming the line on syntax errors."""
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise MergeError(exc.message or "syntax error", exc.lineno) from exc


def render(template, data):
    """Merge ``data`` into a compiled template, bounded in output size."""
    try:
        pieces = []
        size = 0
        for piece in template.generate(data):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise MergeError("the merged template is larger than 5 MB")
            pieces.append(piece)
        return "".join(pieces)
    except MergeError:
        raise
    except SecurityError as exc:
        raise MergeError(f"not allowed in a template: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(str(exc), getattr(exc, "lineno", None)) from exc
    except (ArithmeticError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise MergeError(f"{type(exc).__name__}: {exc}") from exc


def referenced_names(env, source):
    """Dotted names a template reads, e.g. ``contact.first_name``."""
    ast = env.parse(source)
    found = set()
    for node in ast.find_all(nodes.Getattr):
        path = _dotted(node)
        if path:
            found.add(path)
    return found


def _dotted(node):
    parts = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name):
        parts.append(node.name)
        return ".".join(reversed(parts))
    return None
