"""Merge stage: a template version plus one recipient's data gives subject, HTML and text.

The Jinja templates of a version are parsed once and cached; per recipient
only the render runs, and it runs once: subject, text part and HTML body
(with the hidden preheader and the open pixel spliced in) are joined into
one template, the first two outside autoescaping, separated by NUL
characters, and cut apart after the merge. A merge value holding a NUL
falls back to separate renders. Output lines end in CRLF, as mail needs
them. The render locale follows an explicit policy: the recipient's
language when known, then the template's, then the sender's, and it is
also the HTML's language: MJML's default ``lang="und"`` (on ``<html>`` and
the message's ``role="article"`` element) and a plain HTML ``<html>``
without ``lang`` get the render locale as a BCP 47 tag (``de_DE`` becomes
``de-DE``). A ``lang`` the author wrote (``<mjml lang="fr">``) is kept.
"""

import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from html import unescape
from types import SimpleNamespace

from markupsafe import escape

from designer import isolation
from designer.clock import utcnow
from designer.templating.compiler import LINKS_VAR
from designer.templating.labels import labels_for
from designer.templating.sandbox import MergeError, build_environment, compile_template, render
from designer.templating.text_parts import text_of

CACHE_SIZE = 64
CRLF = "\r\n"
SEP = "\x00"
PIXEL_VAR = "__pixel"
LANG_VAR = "__lang"
_HTML_ENV = build_environment(autoescape=True, newline=CRLF)
_TEXT_ENV = build_environment(autoescape=False, newline=CRLF)
_cache = OrderedDict()
BODY_START = re.compile(r"<body[^>]*>", re.IGNORECASE)
BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
#: Expressions that can produce bare line feeds themselves; their output is normalised.
RAW_NEWLINES = re.compile(r"\{[{%][^}]*(wordwrap|indent|\\n)", re.IGNORECASE)
UNDETERMINED_LANG = re.compile(r'(<(?:html|div)\b[^>]*?\slang=)"und"', re.IGNORECASE)
HTML_WITHOUT_LANG = re.compile(r"<html\b(?![^>]*\slang=)", re.IGNORECASE)
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")
PREHEADER = '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">{}</div>'
PIXEL = (
    f'{{% if {PIXEL_VAR} %}}<img src="{{{{ {PIXEL_VAR} }}}}" width="1" height="1" '
    'alt="" style="display:block;border:0">{% endif %}'
)


@dataclass(frozen=True)
class RenderedEmail:
    """One recipient's merged subject, HTML body and text part."""

    subject: str
    html: str
    text: str
    locale: str


def html_lang(locale):
    """The BCP 47 tag of a render locale (``nl``, ``de-DE``), ``und`` when it is none."""
    locale = (locale or "").strip()
    return locale.replace("_", "-") if LANGUAGE_TAG.fullmatch(locale) else "und"


def with_render_lang(html):
    """``html`` whose undetermined or missing ``lang`` is the merge's ``LANG_VAR``."""
    tag = f'"{{{{ {LANG_VAR} }}}}"'
    html = UNDETERMINED_LANG.sub(lambda found: found.group(1) + tag, html)
    return HTML_WITHOUT_LANG.sub(lambda found: f"{found.group(0)} lang={tag}", html, count=1)


def html_template(version):
    """The compiled HTML with the preheader after ``<body>``, the pixel before ``</body>``
    and the render locale as its language."""
    html = with_render_lang(version.compiled_html.replace(SEP, ""))
    preheader = (version.preheader or "").replace(SEP, "")
    if preheader.strip():
        found = BODY_START.search(html)
        at = found.end() if found else 0
        html = html[:at] + PREHEADER.format(preheader) + html[at:]
    ends = list(BODY_END.finditer(html))
    at = ends[-1].start() if ends else len(html)
    return html[:at] + PIXEL + html[at:]


class VersionRenderer:
    """The parsed Jinja templates of one template version.

    ``tracked=False`` (previews, mail sent without tracking) writes the links
    without merge fields into the templates as they are, instead of a merge
    tag each: a template with thousands of links parses in half the time.
    """

    def __init__(self, version, tracked=True):
        self.compiled_html = version.compiled_html
        self.labels = getattr(version, "labels", None) or {}
        text = getattr(version, "text_override", "") or text_of(version)
        subject = version.subject or ""
        html = html_template(version)
        links = getattr(version, "links", None) or []
        if not tracked:
            html = inline_static_links(html, links, escape)
            text = inline_static_links(text, links, str)
        self.sources = (subject, text, html)
        plain = subject.replace(SEP, "") + SEP + text.replace(SEP, "")
        combined = "{% autoescape false %}" + plain + "{% endautoescape %}" + SEP + html
        self.combined = compile_template(_HTML_ENV, combined)
        self.raw_newlines = bool(RAW_NEWLINES.search(subject + text + html))
        # Only URLs with merge fields are templates; the others are used as written.
        self.links = [
            compile_template(_TEXT_ENV, link["url"]) if "{" in link["url"] else link["url"]
            for link in links
        ]

    @cached_property
    def parts(self):
        """Subject, text and HTML as separate templates: parsed only when a merge value
        holds a NUL (the combined render cannot be cut apart then)."""
        subject, text, html = self.sources
        return [
            compile_template(_TEXT_ENV, subject),
            compile_template(_TEXT_ENV, text),
            compile_template(_HTML_ENV, html),
        ]

    def link_targets(self, data):
        """Where each tracked link really goes for this recipient (as a URL, not HTML:
        versions saved before links were stored unescaped still hold ``&amp;``)."""
        return [
            unescape(link if isinstance(link, str) else render(link, data).strip())
            for link in self.links
        ]

    def render(self, data, tracked_links=None, pixel_url=None):
        """Merge one recipient; ``tracked_links`` replace the links' own URLs."""
        data = dict(data)
        if "labels" not in data:
            data["labels"] = labels_for(self.labels, data.get("locale"))
        data.setdefault("now", utcnow())
        data[LINKS_VAR] = tracked_links if tracked_links is not None else self.link_targets(data)
        data[PIXEL_VAR] = pixel_url
        data[LANG_VAR] = html_lang(data.get("locale"))
        subject, text, html = self._pieces(data)
        if self.raw_newlines:
            text, html = crlf(text), crlf(html)
        return RenderedEmail(
            subject=" ".join(subject.split()), html=html, text=text, locale=data.get("locale", "")
        )

    def _pieces(self, data):
        merged = render(self.combined, data)
        first = merged.find(SEP)
        second = merged.find(SEP, first + 1)
        if first < 0 or second < 0 or merged.find(SEP, second + 1) >= 0:
            return [render(part, data) for part in self.parts]  # a merge value held a NUL
        return merged[:first], merged[first + 1 : second], merged[second + 1 :]


LINK_TAG = re.compile(r"\{\{ " + LINKS_VAR + r"\[(\d+)\] \}\}")


def inline_static_links(source, links, quote):
    """``source`` with the merge tag of each link that has no merge fields replaced by its
    URL (``quote``d for where it stands); the others keep their tag."""

    def replace(match):
        index = int(match.group(1))
        url = links[index]["url"] if index < len(links) else "{"
        return match.group(0) if "{" in url else str(quote(unescape(url)))

    return LINK_TAG.sub(replace, source)


def crlf(text):
    """Every line break as CRLF."""
    return text.replace(CRLF, "\n").replace("\r", "\n").replace("\n", CRLF)


def renderer_for(version, tracked=True):
    """Return the cached renderer of ``version``, parsing it on first use."""
    key = (version.id, tracked)
    cached = _cache.get(key)
    stale = cached is not None and cached.labels != (getattr(version, "labels", None) or {})
    if cached is None or stale or cached.compiled_html != version.compiled_html:
        cached = VersionRenderer(version, tracked)
        _cache[key] = cached
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    _cache.move_to_end(key)
    return cached


def merged_link_targets(version, data):
    """``{index: URL}`` of the links whose URL holds merge fields, merged for ``data``;
    only http(s) URLs short enough to travel in a click token are kept."""
    urls = tuple(link["url"] for link in version.links or ())
    cached = _link_templates.get(version.id)
    if cached is not None and cached[0] == urls:
        templates = cached[1]
    else:
        templates = {
            index: compile_template(_TEXT_ENV, url) for index, url in enumerate(urls) if "{" in url
        }
        _link_templates[version.id] = (urls, templates)
        while len(_link_templates) > CACHE_SIZE:
            _link_templates.popitem(last=False)
    merged = {
        index: unescape(render(template, data).strip()) for index, template in templates.items()
    }
    return {
        index: url
        for index, url in merged.items()
        if url.startswith(("https://", "http://")) and len(url) <= MAX_LINK_LENGTH
    }


#: Longest merged link URL (longer ones are not tracked: their click finds nothing).
MAX_LINK_LENGTH = 4000
_link_templates = OrderedDict()


def render_email(version, data, tracked_links=None, pixel_url=None):
    """Merge ``data`` into ``version``; raises ``MergeError`` on template errors.

    For a web request (a preview, a message page) the merge runs in a child
    process (``designer.isolation``), so a merge at its time limit never holds
    up the web worker's other requests.
    """
    if not isolation.wanted():
        return renderer_for(version, tracked_links is not None).render(
            data, tracked_links, pixel_url
        )
    try:
        return isolation.run(
            _render_plain,
            plain_version(version),
            data,
            tracked_links,
            pixel_url,
            timeout=MERGE_TIMEOUT,
            what="merging the template",
        )
    except isolation.IsolatedFailure as exc:
        raise MergeError(str(exc)) from exc


#: Longest an isolated merge may take, compile included (the merge itself stops at
#: its own limit, two seconds).
MERGE_TIMEOUT = 30.0
VERSION_FIELDS = (
    "id",
    "compiled_html",
    "text_template",
    "text_pending",
    "text_override",
    "subject",
    "preheader",
    "links",
    "labels",
)


def plain_version(version):
    """The fields of a version a merge reads, as a plain object (no database access)."""
    return SimpleNamespace(**{name: getattr(version, name, None) for name in VERSION_FIELDS})


def _render_plain(version, data, tracked_links, pixel_url):
    return VersionRenderer(version, tracked_links is not None).render(
        data, tracked_links, pixel_url
    )


def choose_locale(recipient_language, template_language, sender_language):
    """Recipient's language, then the template's, then the sender's; ``en`` last."""
    for language in (recipient_language, template_language, sender_language):
        if language:
            return language
    return "en"


def build_context(record_data, *, sender, company, locale, currency=None):
    """Everything a template sees for one recipient (line breaks in values as CRLF)."""
    data = {key: _wire_value(value) for key, value in record_data.items()}
    data.update(sender=_wire_value(sender), company=_wire_value(company), locale=locale)
    data["currency"] = currency or company.get("currency") or "EUR"
    return data


def _wire_value(value):
    if hasattr(value, "__html__"):
        return value  # HTML that is already mail-ready (a sender's signature)
    if isinstance(value, str):
        return crlf(value) if ("\n" in value or "\r" in value) else value
    if isinstance(value, dict):
        return {key: _wire_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire_value(item) for item in value]
    return value
