"""Installation-wide settings kept in the database, edited by administrators.

The sending company's own details (``company.*`` in templates) live here.
"""

from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from designer import memo
from designer.extensions import db
from designer.i18n import number
from designer.settings.models import Setting

COMPANY_FIELDS = ("name", "address", "email", "phone", "website", "vat_number", "logo_url")

#: Longest value of each company field a person types.
COMPANY_LIMITS = {
    "name": 200,
    "address": 1000,
    "email": 320,
    "phone": 50,
    "website": 500,
    "vat_number": 50,
}

__all__ = [
    "COMPANY_FIELDS",
    "COMPANY_LIMITS",
    "company",
    "company_problems",
    "get_setting",
    "set_company",
    "set_setting",
]


def get_setting(key, default=None):
    """The stored value of ``key`` (read once inside a ``memo.scope``), else ``default``."""
    value = memo.remembered(("setting", key), lambda: _stored(key))
    return value if value is not None else default


def _stored(key):
    row = db.session.get(Setting, key)
    return row.value if row is not None else None


def set_setting(key, value):
    row = db.session.get(Setting, key) or Setting(key=key)
    row.value = value
    db.session.add(row)
    db.session.commit()


def company():
    """The sending company's details, every field present (empty when unset).

    ``logo_url`` is the uploaded logo's absolute URL (under ``PUBLIC_URL``), so
    that mail clients can load it and PDFs read it from the stored assets.
    """
    stored = get_setting("company", {}) or {}
    details = {field: str(stored.get(field, "") or "") for field in COMPANY_FIELDS}
    if details["logo_url"].startswith("/"):
        details["logo_url"] = current_app.config["PUBLIC_URL"].rstrip("/") + details["logo_url"]
    return details


def company_problems(values):
    """``{field: what is wrong}`` with the company details typed in ``values`` (the
    e-mail address is checked by the page, with mail's address check)."""
    problems = {}
    for field, limit in COMPANY_LIMITS.items():
        value = str(values.get(field, "") or "").strip()
        if len(value) > limit:
            problems[field] = _(
                "at most %(max)s characters (this has %(count)s)",
                max=number(limit),
                count=number(len(value)),
            )
        elif any(ord(char) < 32 and char not in "\r\n\t" for char in value):
            problems[field] = _("contains control characters; type it again")
    if not str(values.get("name", "") or "").strip():
        problems.setdefault("name", _("the company name is needed: templates print it"))
    website = str(values.get("website", "") or "").strip()
    if website and "website" not in problems and not _web_address(website):
        problems["website"] = _(
            "a web address starting with https:// or http://, e.g. https://example.com"
        )
    return problems


def _web_address(text):
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and "." in (parts.hostname or "") and " " not in text


def set_company(values):
    """Store the company details given in ``values`` (others are kept), values trimmed."""
    stored = dict(get_setting("company", {}) or {})
    stored.update({f: str(values.get(f, "") or "").strip() for f in COMPANY_FIELDS if f in values})
    set_setting("company", stored)
