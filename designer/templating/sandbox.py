"""The sandboxed Jinja environment that merges user-written templates.

Template authors are not trusted with the server: templates run in Jinja's
``SandboxedEnvironment`` with autoescaping, see only the merge data handed to
them (plain dicts, never ORM objects), and get the locale formats of
``designer.templating.formats``. Methods of built-in types are allowed from a
list (``ALLOWED_METHODS``: no ``to_bytes``, ``translate`` or ``encode``).
Work is bounded by ``designer.templating.limits``: every operator, concatenation,
slice, call, filter and test checks the merge's deadline, sizes its result
before computing it and charges what it built to the merge's budget; the
output is capped too.
"""

import functools
from collections.abc import Iterator
from itertools import islice

from jinja2 import TemplateSyntaxError, nodes, pass_environment, pass_eval_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.filters import make_attrgetter, sync_do_slice
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import SandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from markupsafe import Markup, soft_str

from designer.templating import limits
from designer.templating.formats import FILTERS as FORMAT_FILTERS

#: Largest rendered output of one template, in characters.
MAX_OUTPUT_CHARS = 10_000_000
#: Name of the deadline check injected at the top of every loop body.
TICK = "__designer_tick__"
#: Filters the compiler puts in place of ``a ~ b`` and ``a[i:j]``, so both are bounded.
CONCAT, SLICE = "__designer_concat__", "__designer_slice__"

_STRING_METHODS = frozenset(
    """
    capitalize casefold center count endswith find format format_map index isalnum isalpha
    isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle
    isupper join ljust lower lstrip partition removeprefix removesuffix replace rfind rindex
    rjust rpartition rsplit rstrip split splitlines startswith strip swapcase title upper
    zfill expandtabs""".split()
)
#: Methods and attributes of built-in types a template may use; every other one of
#: these types is refused. Order matters: subclasses before their bases.
ALLOWED_METHODS = (
    (Markup, _STRING_METHODS | {"striptags", "unescape"}),
    (str, _STRING_METHODS),
    (bytes | bytearray, frozenset()),
    (
        list,
        frozenset("append clear copy count extend index insert pop remove reverse sort".split()),
    ),
    (dict, frozenset("clear copy get items keys pop popitem setdefault update values".split())),
    (tuple, frozenset(["count", "index"])),
    (set | frozenset, frozenset(["isdisjoint", "issubset", "issuperset"])),
    (bool | int | float | complex, frozenset(["real", "imag", "is_integer", "bit_length"])),
)


class MergeError(Exception):
    """A template could not be compiled or merged; ``line`` names where."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message

    def __reduce__(self):
        return type(self), (self.message, self.line)


class BoundedFormatter(SandboxedFormatter):
    """``str.format`` in templates: each field's width and precision are sized first."""

    def format_field(self, value, format_spec):
        limits.check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class BoundedEscapeFormatter(SandboxedEscapeFormatter):
    """``Markup.format``: escaping, and each field sized first."""

    def format_field(self, value, format_spec):
        limits.check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class MergeEnvironment(SandboxedEnvironment):
    """Sandbox that bounds the size of results and the time of a merge."""

    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def call_binop(self, context, operator, left, right):
        limits.tick()
        limits.check_binop(operator, left, right)
        return limits.charge(self.binop_table[operator](left, right))

    def call(self, context, obj, /, *args, **kwargs):
        limits.tick()
        owner = getattr(obj, "__self__", None)
        if owner is not None:  # not mutated: every bound method has a __name__
            limits.check_method(owner, getattr(obj, "__name__", ""), args)  # pragma: no mutate
        return limits.charge(super().call(context, obj, *args, **kwargs))

    def is_safe_attribute(self, obj, attr, value):
        for kind, names in ALLOWED_METHODS:
            if isinstance(obj, kind):
                return attr in names
        # Not mutated: Jinja's check reads the object and the name, never the value.
        return super().is_safe_attribute(obj, attr, value)  # pragma: no mutate

    def wrap_str_format(self, value):
        """``'{:{}}'.format(…)`` through a formatter that sizes every field."""
        owner = getattr(value, "__self__", None)
        name = getattr(value, "__name__", "")  # pragma: no mutate (a method has a name)
        if not isinstance(owner, str) or name not in ("format", "format_map"):
            return None
        if isinstance(owner, Markup):
            formatter = BoundedEscapeFormatter(self, escape=owner.escape)
        else:
            formatter = BoundedFormatter(self)

        def bounded_format(*args, **kwargs):
            limits.tick()
            if name == "format_map":
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one mapping")
                args, kwargs = (), args[0]
            return limits.charge(type(owner)(formatter.vformat(owner, args, kwargs)))

        # Not mutated: the name and docstring copied are never read.
        return functools.update_wrapper(bounded_format, value)  # pragma: no mutate

    # Not mutated: Jinja always passes defer_init, the default is never used.
    def _generate(self, source, name, filename, defer_init=False):  # pragma: no mutate
        """Compile with the work checks in place and dict-first field lookups.

        ``parse`` still returns the template as written (the field catalogue
        reads it); only the generated code differs.
        """
        _rewrite(source)
        return super()._generate(source, name, filename, defer_init)


def _rewrite(node):
    """In one pass over the tree: a deadline check at the top of every loop body,
    concatenations and slices bounded, and ``contact.first_name`` turned into
    ``contact["first_name"]``.

    Merge data are dicts, and the sandbox's ``getitem`` tries the key first
    (falling back to a checked attribute, as ``getattr`` does), while
    ``getattr`` first raises inside ``getattr(dict, name)``: half the cost of
    a merge goes away.
    """
    if isinstance(node, nodes.For):
        check = nodes.Call(nodes.Name(TICK, "load"), [], [], None, None)
        node.body.insert(0, nodes.Output([check]).set_lineno(node.lineno))
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, nodes.Node):
            _rewrite(value)
            setattr(node, field, _rewritten(value))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, nodes.Node):
                    _rewrite(item)
                    value[index] = _rewritten(item)


def _rewritten(node):
    if isinstance(node, nodes.Getattr) and node.ctx == "load":
        return nodes.Getitem(node.node, nodes.Const(node.attr), "load", lineno=node.lineno)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
        bounds = [
            part or nodes.Const(None) for part in (node.arg.start, node.arg.stop, node.arg.step)
        ]
        return nodes.Filter(node.node, SLICE, bounds, [], None, None, lineno=node.lineno)
    if isinstance(node, nodes.Concat):
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, CONCAT, [], [], None, None, lineno=node.lineno)
    return node


@pass_eval_context
def bounded_concat(eval_ctx, parts):
    """``a ~ b ~ c``, sized before it is joined."""
    parts = [soft_str(part) for part in parts]
    limits.check_size(sum(map(len, parts)))
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


def bounded_slice(value, start, stop, step):
    """``value[start:stop:step]`` (the copy is charged like any new value)."""
    return value[start:stop:step]


def bounded(function):
    """A filter or test that checks the deadline, and charges what it returns.

    A generator it returns checks the deadline at every item, so ``sum`` or
    ``list`` over ``map``, ``select`` or ``batch`` stops in time too.
    """

    def run(*args, **kwargs):
        limits.tick()
        result = function(*args, **kwargs)
        if isinstance(result, Iterator):
            return limits.ticking(result)
        return limits.charge(result)

    return functools.update_wrapper(run, function)


def bounded_filters(filters):
    """Replace the built-in filters whose result or work can far exceed their input."""
    center, indent, replace, join, fmt, wordwrap, batch = (
        filters[n] for n in ("center", "indent", "replace", "join", "format", "wordwrap", "batch")
    )

    def safe_center(value, width=80):
        limits.check_size(width if isinstance(width, int) else 0)
        return center(value, width)

    def safe_indent(value, width=4, *args, **kwargs):
        text = str(value)
        pad = width if isinstance(width, int) else len(str(width))
        limits.check_size(len(text) + (text.count("\n") + 1) * pad)
        return indent(value, width, *args, **kwargs)

    def safe_replace(eval_ctx, value, old, new, count=None):
        limits.check_replace(str(value), str(old), str(new))
        return replace(eval_ctx, value, old, new, count)

    def safe_join(eval_ctx, value, d="", attribute=None):
        items = limits.join_items(d, value)
        return join(eval_ctx, items, d, attribute)

    def safe_format(value, *args, **kwargs):
        limits.check_percent(str(value), kwargs or args)
        return fmt(value, *args, **kwargs)

    def safe_wordwrap(
        environment, s, width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True
    ):
        limits.check_wordwrap(str(s), width, wrapstring)
        return wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)

    def safe_batch(value, linecount, fill_with=None):
        limits.check_size(linecount if isinstance(linecount, int) else 0)
        return batch(value, linecount, fill_with)

    def safe_slice(value, slices, fill_with=None):
        limits.check_size(slices if isinstance(slices, int) else 0)
        return sync_do_slice(value, slices, fill_with)

    def safe_sum(environment, iterable, attribute=None, start=0):
        if attribute is not None:
            iterable = map(make_attrgetter(environment, attribute), iterable)
        total = start
        for value in iterable:
            limits.tick()
            limits.check_binop("+", total, value)
            total = limits.charge(total + value)
        return total

    return {
        "center": safe_center,
        "indent": safe_indent,
        "format": safe_format,
        "replace": pass_eval_context(safe_replace),
        "join": pass_eval_context(safe_join),
        "wordwrap": pass_environment(safe_wordwrap),
        "batch": safe_batch,
        "slice": safe_slice,
        "sum": pass_environment(safe_sum),
    }


def build_environment(autoescape=True, newline="\n"):
    """Return a fresh merge environment with the locale filters installed.

    HTML bodies autoescape merge values; text parts and subjects do not (they
    are not HTML), and headers are cleaned separately when the MIME is built.
    ``newline="\r\n"`` makes the template's own line breaks come out as mail
    needs them.
    """
    env = MergeEnvironment(
        autoescape=autoescape, keep_trailing_newline=True, newline_sequence=newline
    )
    env.filters.update(bounded_filters(env.filters))
    env.filters.update(FORMAT_FILTERS)
    env.filters.update({CONCAT: bounded_concat, SLICE: bounded_slice})
    env.filters = {name: bounded(function) for name, function in env.filters.items()}
    env.tests = {name: bounded(function) for name, function in env.tests.items()}
    env.globals.clear()
    env.globals[TICK] = limits.tick
    return env


#: Errors Python itself raises on sources it cannot compile (an integer literal of
#: more than 4,300 digits, nesting too deep for the parser or the compiler).
COMPILE_ERRORS = (RecursionError, MemoryError, ValueError, SyntaxError, OverflowError)


def compile_template(env, source):
    """Parse a template once; raise ``MergeError`` naming the line on syntax errors."""
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise MergeError(exc.message or "syntax error", exc.lineno) from exc
    except COMPILE_ERRORS as exc:
        raise MergeError(f"the template cannot be compiled: {_reason(exc)}") from exc


def parse_template(env, source):
    """Parse a template and look up every filter and test it names (no code is generated);
    ``MergeError`` naming the line otherwise."""
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise MergeError(exc.message or "syntax error", exc.lineno) from exc
    except COMPILE_ERRORS as exc:
        raise MergeError(f"the template cannot be compiled: {_reason(exc)}") from exc
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        names = env.filters if isinstance(node, nodes.Filter) else env.tests
        if node.name not in names:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            raise MergeError(f"No {kind} named {node.name!r}.", node.lineno)
    return tree


def _reason(exc):
    if isinstance(exc, RecursionError):
        return "its merge fields are nested too deeply"
    if isinstance(exc, MemoryError):
        return "it is too large"
    return str(exc).split("\n")[0][:200]


def render(template, data):
    """Merge ``data`` into a compiled template, bounded in time, work and output size."""
    token = limits.start()
    try:
        return _generate(template, data)
    except MergeError:
        raise
    except RecursionError as exc:
        raise MergeError("the template calls itself too deeply") from exc
    except MemoryError as exc:
        raise MergeError("the template needs too much memory to merge") from exc
    except SecurityError as exc:
        raise MergeError(f"not allowed: {exc}", _template_line(exc)) from exc
    except TemplateError as exc:
        raise MergeError(str(exc), getattr(exc, "lineno", None) or _template_line(exc)) from exc
    # NameError: Jinja writes a constant it folded to NaN or infinity as a name (`nan`).
    except (
        ArithmeticError,
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
        IndexError,
        NameError,
    ) as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise MergeError(message, _template_line(exc)) from exc
    finally:
        limits.finish(token)


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
            raise MergeError(
                f"the merged template is larger than {MAX_OUTPUT_CHARS // 1_000_000} MB"
            )
        blocks.append(block)


def _template_line(exc):
    """The template line an error was raised on (compiled templates map code lines back)."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == "<template>":
            # Not mutated: every compiled template has its debug_info.
            debug = tb.tb_frame.f_globals.get("debug_info", "")  # pragma: no mutate
            line = _source_line(debug, tb.tb_lineno) or line
        tb = tb.tb_next
    return line


def _source_line(debug_info, code_line):
    pairs = [tuple(map(int, pair.split("="))) for pair in debug_info.split("&") if "=" in pair]
    found = [template_line for template_line, line in pairs if line <= code_line]
    return found[-1] if found else None
