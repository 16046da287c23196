"""Installation-wide settings kept in the database, edited by administrators.

The sending company's own details (``company.*`` in templates) live here.
"""

from flask import current_app

from designer.extensions import db
from designer.settings.models import Setting

COMPANY_FIELDS = ("name", "address", "email", "phone", "website", "vat_number", "logo_url")

__all__ = ["COMPANY_FIELDS", "company", "get_setting", "set_company", "set_setting"]


def get_setting(key, default=None):
    row = db.session.get(Setting, key)
    return row.value if row is not None else default


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


def set_company(values):
    """Store the company details given in ``values`` (others are kept), values trimmed."""
    stored = dict(get_setting("company", {}) or {})
    stored.update({f: str(values.get(f, "") or "").strip() for f in COMPANY_FIELDS if f in values})
    set_setting("company", stored)
