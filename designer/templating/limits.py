"""Work bounds of one merge: its deadline, its allocation budget and the size checks.

Template authors are not trusted with the server's time or memory. A loop
that never ends, a string doubled in a loop, ``'x' * 10**9``, ``9**99999``
squared, ``'%*s' % (10**7, 'x')`` or ``(1).to_bytes(10**9)`` must fail
quickly with a clear message, not stall or kill the process that merges.

Three bounds hold for every merge (``start`` opens them, ``finish`` closes):

- **Time**: ``tick`` raises once ``MAX_RENDER_SECONDS`` have passed. It is
  called at the top of every loop body, on every call, filter and test, and
  for every item a filter's generator yields (``ticking``).
- **Size of one operation**: every operation that can build a string, list
  or number much larger than its operands is sized *before* it runs
  (``check_size``, ``check_binop``, ``check_percent``, ``check_format_spec``,
  ``check_method``) and refused past ``MAX_OPERATION_SIZE`` items or
  ``MAX_INT_BITS`` bits.
- **Everything allocated**: each new string, list or number an operation
  makes is charged to the merge's budget (``charge``); a merge that builds
  more than ``MAX_ALLOCATION`` characters in all (list items count
  ``ITEM_COST`` each) stops, however small each step was.

Outside a merge (constant folding while a template compiles) only the size
checks apply.
"""

import math
import re
import time
from contextvars import ContextVar

from jinja2.exceptions import SecurityError

#: Largest string or list (in items) one operation may produce.
MAX_OPERATION_SIZE = 100_000
#: Largest integer an operation may produce: Python itself refuses to print
#: integers of more than 4,300 digits (about 14,300 bits).
MAX_INT_BITS = 14_300
#: Characters one merge may allocate in all (strings it builds, list items at
#: ``ITEM_COST``): four times the output cap.
MAX_ALLOCATION = 40_000_000
#: What one list, tuple or dict item counts against ``MAX_ALLOCATION``.
ITEM_COST = 8
#: Longest one merge may take, in seconds.
MAX_RENDER_SECONDS = 2.0
#: Digits a width or precision in a format may have before it is refused unread.
MAX_WIDTH_DIGITS = 6

SEQUENCES = (str, bytes, bytearray, list, tuple)
CONTAINERS = (list, tuple, dict, set, frozenset)


class Budget:
    """The deadline and the characters left of one merge."""

    __slots__ = ("deadline", "left")

    def __init__(self, seconds, allocation):
        self.deadline = time.monotonic() + seconds
        self.left = allocation


_current = ContextVar("merge_budget", default=None)


def start(seconds=MAX_RENDER_SECONDS, allocation=MAX_ALLOCATION):
    """Open the bounds of a merge; pass the result to ``finish``."""
    return _current.set(Budget(seconds, allocation))


def finish(token):
    _current.reset(token)


def tick():
    """Raise once the merge's deadline has passed; returns ``""`` (it is also output)."""
    budget = _current.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise SecurityError(f"the template took longer than {MAX_RENDER_SECONDS:g} s to merge")
    return ""


def ticking(items):
    """Yield from ``items``, checking the deadline before each one."""
    for item in items:
        tick()
        yield item


def size_of(value):
    """What ``value`` counts against the budget; refuses integers past ``MAX_INT_BITS``."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    if isinstance(value, CONTAINERS):
        return len(value) * ITEM_COST
    if isinstance(value, int):
        check_bits(value.bit_length())
        return value.bit_length() >> 3
    return 0


def charge(value):
    """Count a value an operation just built against the merge's budget; return it."""
    spend(size_of(value))
    return value


def spend(amount):
    budget = _current.get()
    if budget is None or not amount:
        return
    budget.left -= amount
    if budget.left < 0:
        raise SecurityError(
            f"the template builds more than {MAX_ALLOCATION // 1_000_000} "
            "million characters while merging"
        )


def check_size(size):
    if size > MAX_OPERATION_SIZE:
        raise SecurityError(
            f"the result would be too large (over {MAX_OPERATION_SIZE:,} characters or items)"
        )


def check_bits(bits):
    if bits > MAX_INT_BITS:
        raise SecurityError("the number would be too large (over 4,300 digits)")


def check_binop(operator, left, right):
    """Refuse ``left <operator> right`` before it runs when its result would be too large."""
    if operator == "**":
        _check_power(left, right)
    elif operator == "*":
        _check_product(left, right)
    elif operator == "+":
        _check_sum(left, right)
    elif operator == "%":
        check_percent(left, right)


def _check_power(base, exponent):
    if _integer(base) and _integer(exponent) and exponent > 0 and abs(base) > 1:
        check_bits(int(exponent * math.log2(abs(base))) + 1)


def _check_product(left, right):
    for value, times in ((left, right), (right, left)):
        if isinstance(value, SEQUENCES) and _integer(times):
            check_size(len(value) * times)
    if _integer(left) and _integer(right):
        check_bits(left.bit_length() + right.bit_length())


def _check_sum(left, right):
    if isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        check_size(len(left) + len(right))


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


#: One conversion of printf-style formatting: ``%(key)-*.*f``.
PERCENT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsab%])"
)


def check_percent(template, values):
    """Size ``template % values`` from its widths and precisions (``*`` ones included)."""
    if not isinstance(template, str | bytes):
        return
    if isinstance(template, bytes):
        template = template.decode("latin-1")
    values = list(values) if isinstance(values, tuple) else [values]
    position, total = 0, len(template)
    for match in PERCENT_SPEC.finditer(template):
        for part in match.group(1, 2):
            if part == "*":
                amount = values[position] if position < len(values) else 0
                position += 1
                total += amount if _integer(amount) else 0
            elif part:
                total += _width(part)
        position += match.group(3) != "%"
    check_size(total)


#: Width and precision of a ``str.format`` field: ``[[fill]align][sign][z][#][0][width]
#: [grouping][.precision][type]``.
FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?")


def check_format_spec(spec):
    """Refuse a ``str.format`` field whose width or precision is too large."""
    found = FORMAT_SPEC.match(spec or "")
    if found:
        check_size(sum(_width(part) for part in found.groups() if part))


def _width(digits):
    if len(digits) > MAX_WIDTH_DIGITS:
        raise SecurityError("the format width is too large")
    return int(digits)


#: String methods whose result grows with an integer argument.
PADDING_METHODS = frozenset(["center", "ljust", "rjust", "zfill"])


def check_method(owner, name, args):
    """Size a method call on a string, list or dict before it runs."""
    if isinstance(owner, str):
        _check_string_method(owner, name, args)
    elif isinstance(owner, list):
        _check_list_method(owner, name, args)
    elif isinstance(owner, dict) and name == "update" and args:
        grows = len(args[0]) if hasattr(args[0], "__len__") else MAX_OPERATION_SIZE + 1
        check_size(len(owner) + grows)
        spend(grows * ITEM_COST)


def _check_string_method(text, name, args):
    if name in PADDING_METHODS:
        check_size(max([a for a in args if _integer(a)], default=0))
    elif name == "expandtabs":
        size = args[0] if args and _integer(args[0]) else 8
        check_size(len(text) + text.count("\t") * size)
    elif name == "replace" and len(args) >= 2:
        check_replace(text, args[0], args[1])
    elif name == "join" and args:
        check_join(text, args[0])


def _check_list_method(items, name, args):
    if name == "extend" and args:
        grows = len(args[0]) if hasattr(args[0], "__len__") else MAX_OPERATION_SIZE + 1
    elif name in ("append", "insert"):
        grows = 1
    else:
        return
    check_size(len(items) + grows)
    spend(grows * ITEM_COST)


def check_replace(text, old, new):
    if isinstance(old, str) and isinstance(new, str):
        # An empty ``old`` is found len(text) + 1 times, once around every character.
        check_size(len(text) + text.count(old) * (len(new) - len(old)))


def check_join(separator, items):
    """``join``: its separators and every item, counted until the bound is passed."""
    if isinstance(items, list | tuple | str):
        size = len(str(separator)) * max(len(items) - 1, 0)
        for item in items:
            if size > MAX_OPERATION_SIZE:
                break
            size += len(str(item))
        check_size(size)


#: Items the ``join`` filter may join: past the output bound unless nearly all are empty.
MAX_JOIN_ITEMS = 1_000_000


def join_items(separator, value):
    """Every item the ``join`` filter is to join, counted as it is read (``value`` may be
    endless): refused once the result would pass the bound, or past ``MAX_JOIN_ITEMS``."""
    step = len(str(separator))
    items, size = [], -step
    append = items.append
    for item in value:
        size += step + len(str(item))
        if size > MAX_OPERATION_SIZE:
            check_size(size)
        append(item)
        if len(items) > MAX_JOIN_ITEMS:
            raise SecurityError(f"a join takes at most {MAX_JOIN_ITEMS:,} items")
    return items


def check_wordwrap(text, width, wrapstring):
    """``wordwrap``: the result's size, and the work of breaking long words.

    Python's ``textwrap`` copies the rest of a long word for every piece it
    breaks off, so its work grows with ``len(text) ** 2 / width``.
    """
    if isinstance(width, float) and math.isnan(width):
        raise SecurityError("a wrap width must be a number (textwrap never ends with NaN)")
    # Any number is a width to textwrap (0.5 and True wrap at every character).
    width = max(width if isinstance(width, int | float) else 79, 1)
    pieces = len(text) // width + 1
    check_size(len(text) + pieces * len(wrapstring or "\n"))
    if len(text) * len(text) // (2 * width) > MAX_WRAP_WORK:
        raise SecurityError("the text is too long to wrap that narrowly")


#: Characters ``textwrap`` may copy while breaking long words (about 0.2 s of work).
MAX_WRAP_WORK = 200_000_000
