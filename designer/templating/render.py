"""Merge stage: a template version plus one recipient's data gives subject, HTML and text.

The Jinja templates of a version are parsed once and cached; per recipient
only the render runs. The render locale follows an explicit policy: the
recipient's language when known, then the template's, then the sender's.
"""

from collections import OrderedDict
from dataclasses import dataclass

from designer.templating.compiler import LINKS_VAR
from designer.templating.sandbox import build_environment, compile_template, render

CACHE_SIZE = 64
_HTML_ENV = build_environment(autoescape=True)
_TEXT_ENV = build_environment(autoescape=False)
_cache = OrderedDict()


@dataclass(frozen=True)
class RenderedEmail:
    """One recipient's merged subject, preheader, HTML body and text part."""

    subject: str
    preheader: str
    html: str
    text: str
    locale: str


class VersionRenderer:
    """The parsed Jinja templates of one template version."""

    def __init__(self, version):
        self.compiled_html = version.compiled_html
        self.html = compile_template(_HTML_ENV, version.compiled_html)
        text = getattr(version, "text_override", "") or version.text_template or ""
        self.text = compile_template(_TEXT_ENV, text)
        self.subject = compile_template(_TEXT_ENV, version.subject or "")
        self.preheader = compile_template(_TEXT_ENV, version.preheader or "")
        links = getattr(version, "links", None) or []
        self.links = [compile_template(_TEXT_ENV, link["url"]) for link in links]

    def link_targets(self, data):
        """Where each tracked link really goes for this recipient."""
        return [render(link, data).strip() for link in self.links]

    def render(self, data, tracked_links=None):
        """Merge one recipient; ``tracked_links`` replace the links' own URLs."""
        data = dict(data)
        data[LINKS_VAR] = tracked_links if tracked_links is not None else self.link_targets(data)
        return RenderedEmail(
            subject=" ".join(render(self.subject, data).split()),
            preheader=" ".join(render(self.preheader, data).split()),
            html=render(self.html, data),
            text=render(self.text, data),
            locale=data.get("locale", ""),
        )


def renderer_for(version):
    """Return the cached renderer of ``version``, parsing it on first use."""
    cached = _cache.get(version.id)
    if cached is None or cached.compiled_html != version.compiled_html:
        cached = VersionRenderer(version)
        _cache[version.id] = cached
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    _cache.move_to_end(version.id)
    return cached


def render_email(version, data, tracked_links=None):
    """Merge ``data`` into ``version``; raises ``MergeError`` on template errors."""
    return renderer_for(version).render(data, tracked_links)


def choose_locale(recipient_language, template_language, sender_language):
    """Recipient's language, then the template's, then the sender's; ``en`` last."""
    for language in (recipient_language, template_language, sender_language):
        if language:
            return language
    return "en"


def build_context(record_data, *, sender, company, locale, currency=None):
    """Everything a template sees for one recipient."""
    data = dict(record_data)
    data.update(sender=sender, company=company, locale=locale)
    data["currency"] = currency or company.get("currency") or "EUR"
    return data
