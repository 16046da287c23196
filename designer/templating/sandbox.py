"""The sandboxed Jinja environment that merges user-written templates.

Template authors are not trusted with the server: templates run in Jinja's
``SandboxedEnvironment`` with autoescaping, see only the merge data handed to
them (plain dicts, never ORM objects), and get locale-aware filters built on
Babel. Work is bounded: operations that could explode (``'x' * 10**9``,
``9**99999999``, ``'x' | center(10**9)``, huge joins and replaces) are
refused before Python computes them, every loop iteration and call checks a
per-render deadline, and the output size is capped.
"""

import re
import time
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import TemplateSyntaxError, nodes, pass_context, pass_eval_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

#: Largest string, list or number of digits one operation may produce.
MAX_OPERATION_SIZE = 100_000
#: Largest rendered output of one template, in characters.
MAX_OUTPUT_CHARS = 5_000_000
#: Longest one merge may take, in seconds.
MAX_RENDER_SECONDS = 2.0
#: Name of the deadline check injected at the top of every loop body.
TICK = "__designer_tick__"
PADDING_METHODS = frozenset(["center", "ljust", "rjust", "zfill", "expandtabs"])
BIG_FORMAT = re.compile(r"[%{][^%{}]*?\d{6,}")

_deadline = ContextVar("merge_deadline", default=None)


def _tick():
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise SecurityError(f"the template took longer than {MAX_RENDER_SECONDS:g} s to merge")
    return ""


class MergeError(Exception):
    """A template could not be compiled or merged; ``line`` names where."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message


class MergeEnvironment(SandboxedEnvironment):
    """Sandbox that bounds the size of results and the time of a merge."""

    intercepted_binops = frozenset(["*", "**", "%"])

    def call_binop(self, context, operator, left, right):
        _tick()
        if operator == "**":
            _check_power(left, right)
            return left**right
        if operator == "%":
            _check_format(left)
            return left % right
        _check_repeat(left, right)
        return left * right

    def call(self, context, obj, /, *args, **kwargs):
        _tick()
        _check_method(obj, args)
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value):
        """``'{:>999999999}'.format`` is refused when it is looked up."""
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format(owner.replace("{", "%"))
        return super().wrap_str_format(value)

    def _generate(self, source, name, filename, defer_init=False):
        """Compile with a deadline check in every loop and dict-first field lookups.

        ``parse`` still returns the template as written (the field catalogue
        reads it); only the generated code differs.
        """
        for loop in source.find_all(nodes.For):
            check = nodes.Call(nodes.Name(TICK, "load"), [], [], None, None)
            loop.body.insert(0, nodes.Output([check]).set_lineno(loop.lineno))
        _lookups_as_items(source)
        return super()._generate(source, name, filename, defer_init)


def _lookups_as_items(node):
    """Turn ``contact.first_name`` into ``contact["first_name"]`` throughout the tree.

    Merge data are dicts, and the sandbox's ``getitem`` tries the key first
    (falling back to a checked attribute, as ``getattr`` does), while
    ``getattr`` first raises inside ``getattr(dict, name)``: half the cost of
    a merge goes away.
    """
    for child in node.iter_child_nodes():
        _lookups_as_items(child)
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            setattr(node, field, [_as_item(item) for item in value])
        else:
            setattr(node, field, _as_item(value))


def _as_item(node):
    if isinstance(node, nodes.Getattr) and node.ctx == "load":
        return nodes.Getitem(node.node, nodes.Const(node.attr), "load", lineno=node.lineno)
    return node


def _check_format(template):
    if isinstance(template, str) and BIG_FORMAT.search(template):
        raise SecurityError("format width too large in a template")


def _check_method(obj, args):
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(obj, "__name__", "")
    if name in PADDING_METHODS:
        _check_size(max([a for a in args if isinstance(a, int)], default=0))
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1])
    elif name == "join" and args:
        _check_join(owner, args[0])
    elif name in ("format", "format_map"):
        _check_format(owner.replace("{", "%"))


def _check_size(size):
    if size > MAX_OPERATION_SIZE:
        raise SecurityError("result too large to compute in a template")


def _check_replace(text, old, new):
    if isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        _check_size(len(text) + count * (len(new) - len(old)))


def _check_join(separator, items):
    if isinstance(items, list | tuple | str):
        _check_size(len(str(separator)) * max(len(items) - 1, 0)
                    + sum(len(str(item)) for item in items[:MAX_OPERATION_SIZE]))


def bounded_filters(filters):
    """Wrap the built-in filters whose result can be far larger than their input."""
    center, indent, replace, join, fmt = (filters[n] for n in
                                          ("center", "indent", "replace", "join", "format"))

    def safe_center(value, width=80):
        _check_size(width if isinstance(width, int) else 0)
        return center(value, width)

    def safe_indent(value, width=4, *args, **kwargs):
        text = str(value)
        pad = width if isinstance(width, int) else len(str(width))
        _check_size(len(text) + (text.count("\n") + 1) * pad)
        return indent(value, width, *args, **kwargs)

    def safe_replace(eval_ctx, value, old, new, count=None):
        _check_replace(str(value), str(old), str(new))
        return replace(eval_ctx, value, old, new, count)

    def safe_join(eval_ctx, value, d="", attribute=None):
        items = list(value)[: MAX_OPERATION_SIZE + 1]
        _check_join(d, items)
        return join(eval_ctx, items, d, attribute)

    def safe_format(value, *args, **kwargs):
        _check_format(str(value))
        return fmt(value, *args, **kwargs)

    return {"center": safe_center, "indent": safe_indent, "format": safe_format,
            "replace": pass_eval_context(safe_replace), "join": pass_eval_context(safe_join)}


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


def build_environment(autoescape=True, newline="\n"):
    """Return a fresh merge environment with the locale filters installed.

    HTML bodies autoescape merge values; text parts and subjects do not (they
    are not HTML), and headers are cleaned separately when the MIME is built.
    ``newline="\r\n"`` makes the template's own line breaks come out as mail
    needs them.
    """
    env = MergeEnvironment(autoescape=autoescape, keep_trailing_newline=True,
                           newline_sequence=newline)
    env.filters.update(bounded_filters(env.filters))
    env.filters.update(
        date=filter_date,
        datetime=filter_datetime,
        number=filter_number,
        percent=filter_percent,
        money=filter_money,
    )
    env.globals.clear()
    env.globals[TICK] = _tick
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
    """Merge ``data`` into a compiled template, bounded in time and output size."""
    token = _deadline.set(time.monotonic() + MAX_RENDER_SECONDS)
    try:
        return _generate(template, data)
    except MergeError:
        raise
    except RecursionError as exc:
        raise MergeError("the template calls itself too deeply") from exc
    except SecurityError as exc:
        raise MergeError(f"not allowed in a template: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(str(exc), getattr(exc, "lineno", None) or _template_line(exc)) from exc
    except (ArithmeticError, TypeError, ValueError, AttributeError, KeyError,
            IndexError) as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise MergeError(message, _template_line(exc)) from exc
    finally:
        _deadline.reset(token)


#: Pieces joined at a time: few enough to bound memory, many enough to be fast.
BLOCK = 512


def _generate(template, data):
    """Join the output in blocks, checking the size as it grows."""
    pieces = template.root_render_func(template.new_context(data))
    blocks, size = [], 0
    while True:
        chunk = list(islice(pieces, BLOCK))
        if not chunk:
            return "".join(blocks)
        block = "".join(chunk)
        size += len(block)
        if size > MAX_OUTPUT_CHARS:
            raise MergeError("the merged template is larger than 5 MB")
        blocks.append(block)


def _template_line(exc):
    """The template line an error was raised on (compiled templates map code lines back)."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == "<template>":
            debug = tb.tb_frame.f_globals.get("debug_info", "")
            line = _source_line(debug, tb.tb_lineno) or line
        tb = tb.tb_next
    return line


def _source_line(debug_info, code_line):
    pairs = [tuple(map(int, pair.split("="))) for pair in debug_info.split("&") if "=" in pair]
    found = [template_line for template_line, line in pairs if line <= code_line]
    return found[-1] if found else None
