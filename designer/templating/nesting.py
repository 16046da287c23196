"""Nesting depth of markup, checked before any parser that recurses sees it.

MRML (MJML), css-inline (HTML) and WeasyPrint (PDF) walk the element tree
recursively: 2,000 nested ``mj-wrapper``s or 20,000 nested ``<div>``s
overflow the native stack and kill the process (a segmentation fault, not an
exception), and WeasyPrint's recursion under gevent never answers. Real
templates nest a few dozen levels; ``check_nesting`` refuses anything deeper
than ``MAX_NESTING`` with the line where the limit was passed, in one linear
pass over the source.

The scan is deliberately forgiving, like an HTML parser: void elements and
``/>`` open nothing, a closing tag closes whatever was left open inside it,
and ``<p>``, ``<li>``, ``<td>``… close an unfinished sibling, so sloppy but
shallow HTML is never refused.
"""

import re

#: Deepest element nesting a template may have (real e-mails and documents use
#: a few dozen levels; the parsers behind it fail somewhere past 1,000).
MAX_NESTING = 250

#: The start of a tag or a comment; the rest of a tag is found with ``str.find`` so
#: that no input makes the scan backtrack.
TAG_START = re.compile(r"<!--|<(/?)([A-Za-z][\w:.-]*)")
VOID = frozenset(
    """area base br col embed hr img input link meta param source track wbr
    mj-image mj-divider mj-spacer mj-font mj-breakpoint mj-all mj-class mj-include
    mj-preview mj-title mj-style""".split()
)
#: HTML: opening one of these first closes the listed elements left open right above it.
CLOSES_SIBLINGS = {
    "p": {"p"},
    "li": {"li"},
    "dt": {"dt", "dd"},
    "dd": {"dt", "dd"},
    "option": {"option"},
    "td": {"td", "th"},
    "th": {"td", "th"},
    "tr": {"tr", "td", "th"},
    "thead": {"tbody", "tfoot", "tr", "td", "th"},
    "tbody": {"thead", "tbody", "tr", "td", "th"},
    "tfoot": {"thead", "tbody", "tr", "td", "th"},
}
#: HTML: an end tag never closes elements across these (the HTML parser's scope boundaries).
SCOPE = frozenset("applet caption html marquee object table td th template".split())
#: Elements whose content is text, not markup.
RAW_TEXT = frozenset(["script", "style", "textarea", "title"])


class TooDeep(ValueError):
    """The markup nests deeper than ``MAX_NESTING``; ``line`` says where."""

    def __init__(self, line, limit=MAX_NESTING):
        super().__init__(f"elements are nested more than {limit} levels deep; flatten the layout")
        self.line = line


def check_nesting(source, syntax="html", limit=MAX_NESTING):
    """Raise ``TooDeep`` naming the line where ``source`` first nests past ``limit``.

    ``syntax`` is ``"html"`` (HTML's forgiving rules: ``<p>`` closes an open
    ``<p>``, ``</div>`` closes what was left open inside it) or ``"mjml"``
    (MRML's strict nesting: an element stays open until its own end tag comes
    next, and ``<x/>`` closes itself).
    """
    source, html = source or "", syntax == "html"
    stack, raw, skip_to, tag_end = [], None, 0, -1
    for match in TAG_START.finditer(source):
        at = match.start()
        if at < skip_to:
            continue
        if match.group(0) == "<!--":
            skip_to = _after(source, "-->", at)
            continue
        closing, name = match.group(1), match.group(2).lower()
        if raw and not (closing and name == raw):
            continue
        if tag_end < at:
            tag_end = _after(source, ">", at) - 1
        raw = None
        if closing:
            _close_html(stack, name) if html else _close_strict(stack, name)
        elif name not in VOID and not _self_closed(name, source, tag_end, html):
            _open(stack, name, html)
            raw = name if name in RAW_TEXT else None
            if len(stack) > limit:
                raise TooDeep(source.count("\n", 0, at) + 1, limit)


def _self_closed(name, source, tag_end, html):
    """``<x/>`` closes itself in MJML (XML); in HTML ``<div/>`` opens a div."""
    slash = source[tag_end - 1 : tag_end] == "/"
    return slash and (not html or name.startswith("mj-"))


def _after(source, marker, start):
    """The position just after the next ``marker`` (the end of ``source`` when none)."""
    found = source.find(marker, start)
    return len(source) + len(marker) if found < 0 else found + len(marker)


def _open(stack, name, html):
    closes = CLOSES_SIBLINGS.get(name) if html else None
    while closes and stack and stack[-1] in closes:
        stack.pop()
    stack.append(name)


def _close_strict(stack, name):
    if stack and stack[-1] == name:
        stack.pop()


def _close_html(stack, name):
    """Close ``name`` and what was left open inside it, unless a scope boundary stands
    between (then the end tag is ignored, as an HTML parser does).

    The search is bounded by the depth limit, so the scan stays linear.
    """
    for depth in range(len(stack) - 1, -1, -1):
        if stack[depth] == name:
            del stack[depth:]
            return
        if stack[depth] in SCOPE:
            return
