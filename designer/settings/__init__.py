"""Installation-wide settings kept in the database, edited by administrators.

The sending company's own details (``company.*`` in templates) live here.
"""

from designer.extensions import db
from designer.settings.models import Setting

COMPANY_FIELDS = ("name", "address", "email", "phone", "website", "vat_number")

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
    """The sending company's details, every field present (empty when unset)."""
    stored = get_setting("company", {}) or {}
    return {field: str(stored.get(field, "") or "") for field in COMPANY_FIELDS}


def set_company(values):
    """Store the company details; unknown keys are ignored, values trimmed."""
    set_setting("company", {f: str(values.get(f, "") or "").strip() for f in COMPANY_FIELDS})
