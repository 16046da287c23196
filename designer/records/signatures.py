"""Users' e-mail signatures: static HTML, sanitised, merged as ``{{ sender.signature }}``.

A signature is data, not template source: it is never parsed by Jinja, so
``{{ … }}`` written in it stays text, and it cannot reach past the sandbox.
It is sanitised with nh3 (the Ammonia HTML sanitiser) when saved and again
when merged: only formatting tags, links (http, https, mailto, tel), images
and a list of harmless inline styles survive; scripts, event handlers,
forms, frames and ``javascript:`` URLs are dropped.

In a template's HTML the merge value is that HTML; in the plain-text part
(and anywhere a template treats it as a string) it is the signature's text.
"""

import nh3
from inscriptis import get_text
from markupsafe import Markup

#: Longest signature a user may save, in characters of HTML.
MAX_LENGTH = 20_000
TAGS = {
    "a",
    "b",
    "br",
    "div",
    "em",
    "font",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ATTRIBUTES = {
    "*": {"style", "title", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "table": {"cellpadding", "cellspacing", "border", "width"},
    "td": {"width", "valign", "colspan", "rowspan"},
    "th": {"width", "valign", "colspan", "rowspan"},
}
STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "line-height",
    "text-align",
    "text-decoration",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-radius",
    "width",
    "height",
    "max-width",
    "vertical-align",
    "display",
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


class SignatureInvalid(ValueError):
    """A signature that cannot be saved; the message says why in the user's words."""


def sanitise(html):
    """``html`` with only the tags, attributes, styles and URL schemes a signature may use."""
    return nh3.clean(
        html or "",
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties=STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def checked(html):
    """The sanitised signature to store; raises ``SignatureInvalid`` when it is too long."""
    html = (html or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(html) > MAX_LENGTH:
        raise SignatureInvalid(
            f"the signature is {len(html):,} characters long; at most {MAX_LENGTH:,} fit. "
            "Shorten it (an image is best linked by its address, not pasted in)."
        )
    return sanitise(html)


def set_signature(user, html):
    """Store ``user``'s signature (sanitised); returns what was stored. The caller commits."""
    user.signature = checked(html)
    return user.signature


class SignatureValue(str):
    """The merge value: the signature's text as a string, its HTML where HTML is written."""

    def __new__(cls, html):
        html = _crlf(sanitise(html)) if html else ""
        text = _crlf(get_text(html).strip()) if html else ""
        value = super().__new__(cls, text)
        value.html = html
        return value

    def __reduce__(self):
        return SignatureValue, (self.html,)

    def __html__(self):
        return Markup(self.html)  # noqa: S704 - sanitised by nh3 just above


def signature_value(user):
    """``sender.signature`` for ``user`` (empty for the system, or no signature)."""
    return SignatureValue(getattr(user, "signature", "") or "")


def _crlf(text):
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
