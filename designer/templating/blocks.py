"""MJML blocks: a template's source cut into the pieces the visual builder shows.

``split_blocks`` cuts an MJML source into an ordered list of ``Block``\\ s with
exact spans: ``head`` (the start through the opening ``<mj-body …>`` tag), the
top-level children of ``mj-body`` and ``tail`` (``</mj-body>`` to the end).
Joining every block's source gives back the input byte for byte.

A top-level ``mj-section``, ``mj-wrapper`` or ``mj-hero`` is *editable* when
the builder can represent all of it: only elements it knows, no comments, no
``mj-raw``, no Jinja statements between elements (statements inside the text
of ``mj-text`` are kept as text), no attribute values the builder would
re-quote. Everything else (Jinja statements around sections, comments,
``mj-raw``, sections the builder cannot represent) is a *locked* block that the
builder shows as code and writes back verbatim. Whitespace between blocks is a
``space`` block.

For the builder, ``builder_document`` folds a ``{% if … %}`` directly before
an editable section and its ``{% endif %}`` directly after it (likewise
``{% for … %}`` / ``{% endfor %}``, the loop inside the condition) into that
section's block, as its ``condition`` / ``loop``: the settings panel shows
them and an unchanged block still writes back its exact source.
"""

import html
import re
from dataclasses import asdict, dataclass, replace

#: Top-level elements the builder can edit as a whole.
SECTION_TAGS = frozenset({"mj-section", "mj-wrapper", "mj-hero"})
#: Every element the builder represents (grapesjs-mjml's components).
BUILDER_TAGS = SECTION_TAGS | frozenset(
    {
        "mj-group",
        "mj-column",
        "mj-text",
        "mj-image",
        "mj-button",
        "mj-divider",
        "mj-spacer",
        "mj-social",
        "mj-social-element",
        "mj-navbar",
        "mj-navbar-link",
    }
)
#: Elements whose content is HTML, kept as written by the MJML compiler.
ENDING_TAGS = frozenset(
    {
        "mj-text",
        "mj-button",
        "mj-raw",
        "mj-table",
        "mj-navbar-link",
        "mj-social-element",
        "mj-accordion-title",
        "mj-accordion-text",
    }
)
#: HTML the builder's parser would move around when it stands between Jinja statements.
TABLE_TAGS = re.compile(r"<\s*/?\s*(table|thead|tbody|tfoot|tr|td|th)\b", re.IGNORECASE)

TOKEN = re.compile(
    r"""
    (?P<comment><!--.*?-->)
  | (?P<jinja>\{%.*?%\}|\{\#.*?\#\}|\{\{.*?\}\})
  | (?P<close></\s*(?P<close_name>[A-Za-z][\w:-]*)\s*>)
  | (?P<open><(?P<name>[A-Za-z][\w:-]*)
      (?P<attrs>(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>=`]+))?)*)
      \s*(?P<void>/)?>)
    """,
    re.DOTALL | re.VERBOSE,
)
ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>=`]+)))?""")
#: The head's default attributes and classes, which the canvas applies as the compiler does.
MJ_ATTRIBUTES = re.compile(
    r"<mj-attributes\b[^>]*>.*?</mj-attributes\s*>", re.DOTALL | re.IGNORECASE
)
JINJA_IN_TEXT = re.compile(r"\{%.*?%\}|\{#.*?#\}|\{\{.*?\}\}", re.DOTALL)
#: Statements the builder writes around a section (no whitespace control, no else/elif).
OPENING = {
    "condition": re.compile(r"\{%\s*if\s+(.*?[^-\s])\s*%\}\Z", re.DOTALL),
    "loop": re.compile(r"\{%\s*for\s+(.*?[^-\s])\s*%\}\Z", re.DOTALL),
}
CLOSING = {
    "condition": re.compile(r"\{%\s*endif\s*%\}\Z"),
    "loop": re.compile(r"\{%\s*endfor\s*%\}\Z"),
}


class BlocksUnavailable(ValueError):
    """The source has no ``<mj-body>`` the builder could show."""


@dataclass(frozen=True)
class Block:
    """One piece of the source: ``kind`` is head, section, locked, space or tail."""

    id: int
    kind: str
    source: str
    start: int
    editable: bool = False
    #: Why a section-like block is locked (shown in the builder), else "".
    reason: str = ""
    #: The element name of a section-like block (``mj-section`` …), else "".
    tag: str = ""
    #: Folded blocks (see ``fold_statements``): the ``if`` expression and ``for`` target.
    condition: str = ""
    loop: str = ""
    #: Folded blocks: the section's own source, without the statements around it.
    section: str = ""

    def as_json(self):
        return asdict(self)


def join_blocks(blocks):
    """The source the blocks were cut from (or, after edits, the new one)."""
    return "".join(block.source for block in blocks)


def split_blocks(source):
    """Cut ``source`` into blocks; raise ``BlocksUnavailable`` without an ``mj-body``."""
    tokens = list(_tokens(source))
    body_open = next((t for t in tokens if t.lastgroup == "open" and _name(t) == "mj-body"), None)
    if body_open is None:
        raise BlocksUnavailable("the template has no <mj-body>")
    if body_open.group("void"):
        raise BlocksUnavailable("the template's <mj-body> is empty")
    closes = [t for t in tokens if t.lastgroup == "close" and _name(t) == "mj-body"]
    if not closes or closes[-1].start() < body_open.end():
        raise BlocksUnavailable("the template's <mj-body> is not closed")
    body_start, body_end = body_open.end(), closes[-1].start()
    inner = [t for t in tokens if body_start <= t.start() and t.end() <= body_end]

    pieces = [("head", 0, body_start)]
    pieces += _body_pieces(source, body_start, body_end, inner)
    pieces.append(("tail", body_end, len(source)))
    blocks = []
    for kind, start, end in pieces:
        text = source[start:end]
        if kind == "section":
            editable, reason, tag = _classify(text)
            blocks.append(Block(len(blocks), "section", text, start, editable, reason, tag))
        else:
            blocks.append(Block(len(blocks), kind, text, start))
    assert join_blocks(blocks) == source
    return blocks


def _tokens(source):
    return TOKEN.finditer(source)


def _name(token):
    return (token.group("name") or token.group("close_name") or "").lower()


def _body_pieces(source, start, end, tokens):
    """``(kind, start, end)`` for the top-level children of mj-body."""
    pieces, position, index = [], start, 0

    def text_until(stop):
        nonlocal position
        if stop <= position:
            return
        text = source[position:stop]
        for match in re.finditer(r"\s+|\S+(?:\s+\S+)*", text):
            kind = "space" if match.group(0).isspace() else "locked"
            pieces.append((kind, position + match.start(), position + match.end()))
        position = stop

    while index < len(tokens):
        token = tokens[index]
        if token.start() < position:  # inside an element already taken whole
            index += 1
            continue
        text_until(token.start())
        kind = token.lastgroup
        if kind == "open" and not token.group("void"):
            close = _matching_close(tokens, index)
            if close is None:  # unbalanced: the rest of the body stays as written
                break
            stop = tokens[close].end()
            name = _name(token)
            pieces.append(("section" if name in SECTION_TAGS else "locked", token.start(), stop))
            position = stop
            index = close + 1
            continue
        piece_kind = "section" if kind == "open" and _name(token) in SECTION_TAGS else "locked"
        pieces.append((piece_kind, token.start(), token.end()))
        position = token.end()
        index += 1
    text_until(end)
    return pieces


def _matching_close(tokens, index):
    """Index of the token closing ``tokens[index]`` (same name, nesting counted)."""
    name, depth = _name(tokens[index]), 0
    ending = name in ENDING_TAGS
    for position in range(index, len(tokens)):
        token = tokens[position]
        if token.lastgroup == "open" and _name(token) == name and not token.group("void"):
            if ending and position != index:
                continue  # HTML content: the first closing tag ends it
            depth += 1
        elif token.lastgroup == "close" and _name(token) == name:
            depth -= 1
            if depth == 0:
                return position
    return None


def _classify(text):
    """``(editable, reason, tag)`` for a section-like element's source."""
    tokens = list(_tokens(text))
    tag = _name(tokens[0])
    inside_content = None  # the ending tag whose HTML content we are in
    for token in tokens:
        kind = token.lastgroup
        if kind == "comment":
            return False, "it contains a comment", tag
        if kind == "open" and not inside_content:
            name = _name(token)
            if name not in BUILDER_TAGS:
                return False, f"the builder has no <{name}>", tag
            reason = _attribute_problem(token.group("attrs"))
            if reason:
                return False, reason, tag
            if name in ENDING_TAGS and not token.group("void"):
                inside_content = name
                content_start = token.end()
            continue
        if kind == "close" and inside_content and _name(token) == inside_content:
            reason = _content_problem(text[content_start : token.start()])
            if reason:
                return False, reason, tag
            inside_content = None
            continue
        if kind == "jinja" and not inside_content:
            if token.group(0).startswith(("{%", "{#")):
                return False, "it contains Jinja statements between elements", tag
            return False, "it contains merge fields outside text", tag
        if kind == "open" and inside_content:
            reason = _attribute_problem(token.group("attrs"))
            if reason:
                return False, reason, tag
    stray = _stray_text(text, tokens)
    if stray:
        return False, stray, tag
    return True, "", tag


def _attribute_problem(attrs):
    for match in ATTRIBUTE.finditer(attrs or ""):
        value = next((v for v in match.groups()[1:] if v is not None), "")
        if "{%" in value or "{#" in value:
            return "an attribute holds a Jinja statement"
        if '"' in value:
            return "an attribute value holds a double quote"
        for tag in JINJA_IN_TEXT.findall(value):
            if any(char in tag for char in "&<>"):
                return "a merge field in an attribute holds &, < or >"
    return ""


def _content_problem(content):
    statements = [t for t in JINJA_IN_TEXT.findall(content)]
    if any("<" in tag for tag in statements):
        return "a merge field in the text holds <"
    if any(tag.startswith("{#") for tag in statements):
        return "it contains a Jinja comment"
    if any(tag.startswith("{%") for tag in statements) and TABLE_TAGS.search(content):
        return "a Jinja statement stands inside an HTML table"
    if "<![CDATA[" in content:
        return "it contains CDATA"
    return ""


def _stray_text(text, tokens):
    """Text between elements (outside HTML content) the builder would drop."""
    position, depth_content = 0, None
    for token in tokens:
        if depth_content is None and text[position : token.start()].strip():
            return "it has text between elements"
        if token.lastgroup == "open" and depth_content is None:
            name = _name(token)
            if name in ENDING_TAGS and not token.group("void"):
                depth_content = name
        elif token.lastgroup == "close" and _name(token) == depth_content:
            depth_content = None
        position = token.end()
    return ""


def builder_document(source):
    """What the builder page loads: the blocks, the body's attributes and the head's defaults.

    Editable blocks carry ``markup``: their source as the builder's HTML parser
    reads it (``<mj-image/>`` written out as ``<mj-image></mj-image>``) with
    merge fields and statements in text as ``<span data-designer-field>`` chips.
    """
    blocks = fold_statements(split_blocks(source))
    head = blocks[0].source
    body_tag = list(_tokens(head))[-1]
    attributes = MJ_ATTRIBUTES.findall(head)
    rows = []
    for block in blocks:
        row = block.as_json()
        if block.editable:
            row["markup"] = builder_markup(block.section or block.source)
        rows.append(row)
    return {
        "blocks": rows,
        "body_attributes": _attributes(body_tag.group("attrs")),
        "canvas_head": f"<mj-head>{''.join(attributes)}</mj-head>" if attributes else "",
    }


def fold_statements(blocks):
    """``blocks`` with each editable section's condition and loop folded into it.

    ``{% for … %}`` folds into a section with neither; ``{% if … %}`` into one
    without a condition (its loop stays inside). Joining still gives the source.
    """
    blocks = list(blocks)
    folded = True
    while folded:
        folded = False
        for index, block in enumerate(blocks):
            if not (block.kind == "section" and block.editable):
                continue
            for kind in ("loop", "condition"):
                span = _wrapping(blocks, index, kind)
                if span:
                    blocks[span[0] : span[1]] = [_fold(blocks[span[0] : span[1]], block, kind)]
                    folded = True
                    break
            if folded:
                break
    result = [replace(block, id=number) for number, block in enumerate(blocks)]
    assert join_blocks(result) == join_blocks(blocks)
    return result


def _wrapping(blocks, index, kind):
    """``(start, stop)`` of the statements of ``kind`` right around ``blocks[index]``, or None."""
    section = blocks[index]
    if section.condition or (kind == "loop" and section.loop):
        return None
    before = index - 1 if index and blocks[index - 1].kind == "space" else index
    after = index + 1 if index + 1 < len(blocks) and blocks[index + 1].kind == "space" else index
    if before < 1 or after + 1 >= len(blocks):
        return None
    opening, closing = blocks[before - 1], blocks[after + 1]
    if opening.kind != "locked" or closing.kind != "locked":
        return None
    if not (OPENING[kind].match(opening.source) and CLOSING[kind].match(closing.source)):
        return None
    return before - 1, after + 2


def _fold(pieces, section, kind):
    expression = OPENING[kind].match(pieces[0].source).group(1).strip()
    return replace(
        section,
        start=pieces[0].start,
        source=join_blocks(pieces),
        section=section.section or section.source,
        **{kind: expression},
    )


def builder_markup(text):
    """An editable block's source as the builder reads it (see ``builder_document``)."""
    out, position, inside_content = [], 0, None
    for token in _tokens(text):
        out.append(text[position : token.start()])
        position = token.end()
        kind, name = token.lastgroup, _name(token)
        if kind == "open" and not inside_content:
            if token.group("void") and name.startswith("mj-"):
                out.append(f"<{token.group('name')}{token.group('attrs')}></{token.group('name')}>")
                continue
            if name in ENDING_TAGS and not token.group("void"):
                inside_content = name
        elif kind == "close" and name == inside_content:
            inside_content = None
        elif kind == "jinja" and inside_content:
            out.append(f'<span data-designer-field="{html.escape(token.group(0))}"></span>')
            continue
        out.append(token.group(0))
    out.append(text[position:])
    return "".join(out)


def _attributes(attrs):
    found = {}
    for match in ATTRIBUTE.finditer(attrs or ""):
        value = next((v for v in match.groups()[1:] if v is not None), "")
        found[match.group(1).lower()] = html.unescape(value)
    return found
