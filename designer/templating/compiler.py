"""Compile stage: turn a template's source into HTML and a text part, once per version.

MJML goes through MRML (mjml-python) with includes refused; plain HTML gets
its CSS inlined by css-inline. The compiled HTML is still a Jinja template
(merge fields survive compilation) and is checked as one here, so a broken
template is rejected at save time with the line at fault.
"""

import re
from bisect import bisect_right
from dataclasses import dataclass
from html import unescape

import css_inline
from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from mjml import mjml2html

from designer import isolation
from designer.templating.link_names import anchor_name
from designer.templating.nesting import TooDeep, check_nesting
from designer.templating.sandbox import (
    MergeError,
    build_environment,
    compile_template,
    parse_template,
)

INCLUDE_TAG = re.compile(r"<\s*mj-include\b", re.IGNORECASE)
MRML_POSITION = re.compile(r"at position (\d+):(\d+)")


class TemplateInvalid(MergeError):
    """The source cannot be saved: MJML, HTML or Jinja errors."""


#: ``href`` values that are tracked: absolute http(s) URLs, possibly with merge fields.
HREF = re.compile(r'(<a\b[^>]*?\bhref=)(["\'])(https?://[^"\']*|\{\{[^"\']*)\2', re.IGNORECASE)
#: Links never tracked: the unsubscribe, web view and preference links and anything marked
#: data-notrack.
UNTRACKED = re.compile(r"unsubscribe_url|webview_url|preferences_url|data-notrack", re.IGNORECASE)
MARKDOWN_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\n]*)\)")
#: The merge variable holding one recipient's tracked link URLs, by index.
LINKS_VAR = "__tl"


@dataclass(frozen=True)
class Compiled:
    """What a version stores: the HTML body, the text-part template and its tracked links."""

    html: str
    #: The text-part template; None when it is to be derived later (``TEXT_LATER``).
    text: str | None
    links: tuple = ()


def line_of(source, offset):
    """1-based line number of a character offset."""
    return source.count("\n", 0, offset) + 1


def normalise_newlines(source):
    """LF line endings: browsers post textareas with CRLF, which MRML refuses in mj-head."""
    return (source or "").replace("\r\n", "\n").replace("\r", "\n")


def compile_source(source_type, source, kind="email", text_part=True):
    """Compile and validate ``source``; raise ``TemplateInvalid`` naming the line.

    PDF templates keep their stylesheet as written (WeasyPrint reads ``<style>``
    and ``@page`` rules) and have no text part; ``text_part=False`` skips it for
    an e-mail too (the editor's preview shows the HTML only), and ``TEXT_LATER``
    leaves it out (``text`` None) when the compiled HTML is longer than
    ``TEXT_NOW_MAX``: saving such a template stays quick and its text part is
    derived afterwards (``text_part_of``). For a web request
    the compile runs in a child process (``designer.isolation``): MRML and
    css-inline are native code that a hostile template must not crash the web
    worker with.
    """
    try:
        return isolation.run(
            _compile,
            source_type,
            source,
            kind,
            text_part,
            timeout=COMPILE_TIMEOUT,
            what="compiling the template",
        )
    except isolation.IsolatedFailure as exc:
        raise TemplateInvalid(str(exc)) from exc


#: Longest a compile may take before it is stopped, in seconds (a 2 MB template
#: takes about one).
COMPILE_TIMEOUT = 30.0


def _compile(source_type, source, kind, text_part=True):
    source = normalise_newlines(source)
    if not source.strip():
        raise TemplateInvalid("the template is empty")
    check_depth(source, "mjml" if source_type == "mjml" and kind != "pdf" else "html")
    env = build_environment()
    _check_jinja(env, source, "template")
    if kind == "pdf":
        return Compiled(html=source, text="")
    html = compile_mjml(source) if source_type == "mjml" else inline_html(source)
    if merge_tags(html) != merge_tags(source):  # the same tags in order compile the same
        _check_jinja(env, html, "compiled HTML")
    html, links = extract_links(html)
    if text_part == TEXT_LATER and len(html) > TEXT_NOW_MAX:
        text = None
    else:
        text = text_part_of(html) if text_part else ""
    return Compiled(html=fold_long_lines(html, HTML_LINE), text=text, links=tuple(links))


def text_part_of(html):
    """The text-part template of compiled HTML (lines folded like the HTML's)."""
    return fold_long_lines(text_template(html), TEXT_LINE)


#: ``compile_source(…, text_part=TEXT_LATER)``: derive the text part now only for HTML
#: up to ``TEXT_NOW_MAX`` characters.
TEXT_LATER = "later-when-large"
#: Compiled HTML past this many characters gets its text part after it is saved:
#: deriving it takes about 0.15 s per MB (inscriptis lays out every element).
TEXT_NOW_MAX = 1_000_000


#: Compiled HTML lines are folded to about this many characters (mail allows 998).
HTML_LINE = 800
#: Text-part lines are folded at the same width: mail clients wrap text parts for
#: display, and fewer, longer lines keep the per-message line check cheap.
TEXT_LINE = HTML_LINE
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
SPACE = re.compile(" ")


def check_depth(source, syntax):
    """Refuse markup nested deeper than the parsers can take, naming the line."""
    try:
        check_nesting(source, syntax)
    except TooDeep as exc:
        raise TemplateInvalid(str(exc), exc.line) from exc


def fold_long_lines(text, width):
    """Break lines longer than ``width`` at spaces outside merge tags.

    A space and a line break mean the same in HTML (outside ``<pre>``) and
    in a text part, so the result reads the same; folding once here keeps
    every sent line under the 998-octet limit without encoding the body.
    """
    return "\n".join(_fold(line, width) if len(line) > width else line for line in text.split("\n"))


def _fold(line, width):
    """Cut at the last break that keeps a piece within ``width``, else at the next one;
    each cut is a binary search, so a line of any length folds in linear time."""
    breaks = _breaks(line)
    pieces, start = [], 0
    while len(line) - start > width:
        fits = bisect_right(breaks, start + width)
        if fits and breaks[fits - 1] > start:
            cut = breaks[fits - 1]
        elif fits < len(breaks):
            cut = breaks[fits]
        else:
            break
        pieces.append(line[start:cut])
        start = cut + 1
    pieces.append(line[start:])
    return "\n".join(pieces)


def _breaks(line):
    """Positions of the spaces outside merge tags, in order (one pass over both)."""
    breaks, tags = [], JINJA_TAG.finditer(line)
    tag = next(tags, None)
    for space in SPACE.finditer(line):
        at = space.start()
        while tag is not None and tag.end() <= at:
            tag = next(tags, None)
        if tag is None or at < tag.start():
            breaks.append(at)
    return breaks


def extract_links(html):
    """Replace each trackable ``href`` by ``{{ __tl[i] }}``; return the HTML and the links,
    each with its URL and its name (``link_names``).

    ``mailto:``, ``tel:``, anchors and the unsubscribe link are left alone. A
    link's URL may itself hold merge fields; it is kept as written and merged
    when the link is followed.
    """
    links = []

    def replace(match):
        tag_start = match.group(1)
        if UNTRACKED.search(tag_start) or UNTRACKED.search(match.group(3)):
            return match.group(0)
        url = unescape(match.group(3))  # an href is HTML: &amp; is &
        links.append({"url": url, "name": anchor_name(match.string, match.start(), match.end())})
        return f"{tag_start}{match.group(2)}{{{{ {LINKS_VAR}[{len(links) - 1}] }}}}{match.group(2)}"

    return HREF.sub(replace, html), links


def compile_mjml(source):
    """MJML to HTML with MRML; ``mj-include`` is refused before and during compilation."""
    found = INCLUDE_TAG.search(source)
    if found:
        raise TemplateInvalid(
            "mj-include is not allowed: paste the included MJML instead",
            line_of(source, found.start()),
        )
    try:
        # fonts={}: no remote font imports (Google Fonts) unless the author adds mj-font.
        return mjml2html(source, include_loader=_refuse_include, fonts={})
    except ValueError as exc:
        raise TemplateInvalid(f"MJML error: {_mrml_message(exc)}", _mrml_line(source, exc)) from exc


def _refuse_include(path):
    raise ValueError(f"mj-include of {path!r} is not allowed")


def _mrml_message(exc):
    return MRML_POSITION.sub("", str(exc)).replace(" in root template", "").strip()


def _mrml_line(source, exc):
    found = MRML_POSITION.search(str(exc))
    if found:
        return line_of(source, int(found.group(1)))
    return source.count("\n") + 1 if "end of stream" in str(exc) else None


#: Jinja statements (``{% for %}``) and the HTML tags around them.
STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
TAG_OR_STATEMENT = re.compile(r"<[^>]*>|\{%.*?%\}", re.DOTALL)
PROTECTED = re.compile(r"<!--designer-jinja-(\d+)-->")
#: Statements standing between table rows, where an HTML parser would move them.
ROW_STATEMENTS = re.compile(
    r"((?:</tr>|<tbody[^>]*>|</thead>|<table[^>]*>)\s*)((?:\{%.*?%\}\s*)+)(?=<tr|</tbody|</table)",
    re.DOTALL | re.IGNORECASE,
)


def inline_html(source):
    """Plain HTML with its ``<style>`` rules inlined; remote stylesheets are never loaded.

    An HTML parser moves text that stands between table rows out of the
    table ("foster parenting"), which would tear ``{% for %}`` loops apart:
    statements outside tags become comments (which stay put) while inlining.
    """
    protected, statements = _protect_statements(source)
    try:
        inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=True)
        inlined = inliner.inline(protected)
    except ValueError as exc:
        raise TemplateInvalid(f"HTML/CSS error: {exc}") from exc
    return PROTECTED.sub(lambda m: statements[int(m.group(1))], inlined)


def _protect_statements(source):
    statements = []

    def replace(match):
        if match.group(0).startswith("<"):
            return match.group(0)
        statements.append(match.group(0))
        return f"<!--designer-jinja-{len(statements) - 1}-->"

    return TAG_OR_STATEMENT.sub(replace, source), statements


def text_template(html):
    """The plain-text part, derived once from the compiled HTML; merge fields survive.

    Links are kept as ``text <url>`` so a reader of the text part can follow them.
    """
    html = ROW_STATEMENTS.sub(r"\1<tr><td>\2</td></tr>", html)  # keep loops in their rows
    text = get_text(html, ParserConfig(display_links=True))
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())  # layout padding
    return MARKDOWN_LINK.sub(_text_link, text) + "\n"


def _text_link(match):
    label, url = match.group(1).strip(), match.group(2)
    return f"{label} <{url}>" if label and label != url else f"<{url}>"


def check_syntax(source, what):
    """Check the merge-field syntax of a short template such as a subject line."""
    _check_jinja(build_environment(), source or "", what)


#: Up to this many merge tags a template's skeleton is compiled in full; past it, it is
#: parsed and every filter and test name looked up (a tenth of the time), and what only
#: code generation finds is reported by the first preview or send instead.
FULL_CHECK_TAGS = 2000


def _check_jinja(env, source, what):
    """Compile the template's merge tags (its skeleton: see ``jinja_skeleton``); only
    when that fails is the whole source compiled, for Jinja's exact message."""
    spans = tag_spans(source)
    try:
        if len(spans) <= FULL_CHECK_TAGS:
            compile_template(env, jinja_skeleton(source, spans))
        else:
            parse_template(env, jinja_skeleton(source, spans))
        return
    except MergeError:
        pass
    try:
        compile_template(env, source)
    except MergeError as exc:
        message = f"merge field syntax error in {what}: {exc.message}"
        raise TemplateInvalid(message, exc.line) from exc


OPENERS = re.compile(r"\{[{%#]")
CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}


def tag_spans(source):
    """Where the merge tags (``{{ }}``, ``{% %}``, ``{# #}``) are, in one pass that finds
    each closer once; an unclosed tag runs to the end."""
    spans, at = [], 0
    for opener in OPENERS.finditer(source):
        if opener.start() < at:
            continue
        end = source.find(CLOSERS[opener.group(0)], opener.end())
        at = len(source) if end < 0 else end + 2
        spans.append((opener.start(), at))
    return spans


def merge_tags(source):
    return [source[start:end] for start, end in tag_spans(source)]


def jinja_skeleton(source, spans=None):
    """The source's merge tags as written, with the text between them reduced to its
    line breaks.

    Jinja compiles the skeleton exactly when it compiles the source (the text
    between tags is data to it), with the same line numbers, in a fraction of
    the time for a large template. A tag with a ``}}`` inside a string is cut
    short here, which only makes the skeleton fail: the caller then compiles
    the source itself.
    """
    pieces, at = [], 0
    for start, end in tag_spans(source) if spans is None else spans:
        pieces.append("\n" * source.count("\n", at, start))
        pieces.append(source[start:end])
        at = end
    pieces.append("\n" * source.count("\n", at))
    return "".join(pieces)
