"""Link names: what a marketer calls a tracked link in a report.

A link is named where it is tracked (``compiler.extract_links``), from the anchor
around it: its ``data-name``, else its text, else the ``alt`` of the image it links,
else its ``title``. Versions saved before links had names get theirs from their
compiled HTML (``names_in``), where each tracked ``href`` reads ``{{ __tl[i] }}``.

Merge fields read as their path: a name "Hello [contact.first_name]", and an ``href``
that is one merge field as "company.website (merge field)" (``shown_url``).
"""

import re
from html import unescape

#: Longest name kept (a paragraph linked whole is named by its beginning).
MAX_NAME = 80
#: How far past its opening tag a link's ``</a>`` is looked for.
MAX_INNER = 20_000
#: The rest of an opening tag (quoted values may hold ``>``).
TAG_REST = re.compile(r"""(?:"[^"]*"|'[^']*'|[^'">])*>""")
CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
TAG = re.compile(r"<[^>]*>")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
IMAGE_ALT = re.compile(r"""<img\b[^>]*?\balt\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
EXPRESSION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
STATEMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
PATH = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*")
TRACKED_HREF = re.compile(r"""<a\b[^>]*?\bhref=(["'])\{\{ __tl\[(\d+)\] \}\}\1""", re.IGNORECASE)


def _attribute(tag, name):
    found = re.search(rf"""(?<![\w-]){name}\s*=\s*(["'])(.*?)\1""", tag, re.IGNORECASE | re.DOTALL)
    return found.group(2) if found else ""


def _field(match):
    """The path a merge expression reads (``company.website | upper``: company.website)."""
    expression = match.group(1).strip()
    path = PATH.match(expression)
    return path.group(0) if path else expression


def readable(text):
    """``text`` with merge fields as ``[path]``, statements left out, spaces collapsed."""
    text = STATEMENT.sub("", EXPRESSION.sub(lambda m: f"[{_field(m)}]", text))
    text = " ".join(unescape(text).split())
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1].rstrip() + "…"


def anchor_name(html, start, after_href):
    """The name of the anchor whose ``<a`` is at ``start`` in ``html`` and whose ``href``
    value ends at ``after_href`` ("" when it has none)."""
    rest = TAG_REST.match(html, after_href)
    if rest is None:
        return ""
    opening = html[start : rest.end()]
    close = CLOSE.search(html, rest.end(), rest.end() + MAX_INNER)
    inner = COMMENT.sub("", html[rest.end() : close.start()]) if close else ""
    alt = IMAGE_ALT.search(inner)
    for candidate in (
        _attribute(opening, "data-name"),
        TAG.sub(" ", inner),
        alt.group(2) if alt else "",
        _attribute(opening, "title"),
    ):
        name = readable(candidate)
        if name:
            return name
    return ""


def names_in(compiled_html):
    """``{link index: name}`` of compiled HTML (its tracked hrefs are ``{{ __tl[i] }}``)."""
    return {
        int(found.group(2)): anchor_name(compiled_html, found.start(), found.end())
        for found in TRACKED_HREF.finditer(compiled_html or "")
    }


def shown_url(url):
    """A link's URL as a report shows it: one merge field as "path (merge field)", merge
    fields inside a URL as ``[path]``."""
    whole = EXPRESSION.fullmatch(url.strip())
    if whole:
        return f"{_field(whole)} (merge field)"
    return EXPRESSION.sub(lambda m: f"[{_field(m)}]", url)


def link_names(version):
    """Each tracked link's name, in order: stored with the link, else read from the
    version's compiled HTML (versions saved before links were named)."""
    links = list(getattr(version, "links", None) or [])
    if all("name" in link for link in links):
        return [link["name"] for link in links]
    found = names_in(version.compiled_html)
    return [link.get("name", found.get(i, "")) for i, link in enumerate(links)]
