"""A record posted by a CRM checked without the database, before it is accepted.

The hook intake (``POST /hooks/events``) answers once the event is stored and
writes its record later, in a batch (``designer.workflows.processing``). What
can be known from the record alone is checked here first, with the messages
``designer.records.upsert`` gives, so a bad value is still refused at once,
naming its field: the CRM id, every known field's value, the owner's and the
related records' ids, nested related records, document lines and the
opt-out flag. What needs the stored records (an owner that is not a user, a
related record never sent, an update of a record never created) can only be
found when the record is written; the event is then marked failed with that
message (shown with the events on Hook sources).
"""

from designer.records import upsert
from designer.records.upsert import InvalidRecord

FIELDS = {
    "organisation": upsert.ORGANISATION_FIELDS,
    "contact": upsert.CONTACT_FIELDS,
    "quote": upsert.DOCUMENT_FIELDS,
    "invoice": upsert.DOCUMENT_FIELDS,
}
#: The related records a record of each module may name (by CRM id, or as an object).
RELATED = {
    "contact": ("organisation",),
    "quote": ("organisation", "contact"),
    "invoice": ("organisation", "contact"),
}
#: What a record said to be new must give (``upsert`` asks it of a record it creates).
REQUIRED_WHEN_NEW = {"organisation": "name", "quote": "number", "invoice": "number"}


def check_record(module, action, data):
    """The record's CRM id, once ``data`` passes every check that needs no database;
    ``InvalidRecord`` naming the field otherwise. ``action`` is the event's
    (``created``: the fields a new record needs are required)."""
    if not isinstance(data, dict):
        raise InvalidRecord("record", "must be a JSON object")
    external_id = upsert._external_id(data)
    if action == "deleted":
        return external_id
    required = REQUIRED_WHEN_NEW.get(module)
    if action == "created" and required and not str(data.get(required) or "").strip():
        raise InvalidRecord(required, f"a new {module} needs a {required}")
    _check_fields(module, data)
    return external_id


def _check_fields(module, data, prefix=""):
    for name in FIELDS[module]:
        if name in data:
            upsert.clean_value(name, data[name], prefix)
    if "owner" in data and module != "contact":
        upsert._short_string(prefix + "owner", data["owner"], 320, "ann@example.com")
    for name in RELATED.get(module, ()):
        if name in data:
            _check_related(name, data[name], prefix + name)
    if "lines" in data and module in ("quote", "invoice"):
        _check_lines(data["lines"])


def _check_related(module, value, field):
    if value in (None, ""):
        return
    if isinstance(value, dict):
        try:
            upsert._external_id(value)
            _check_fields(module, value)
        except InvalidRecord as exc:
            raise InvalidRecord(f"{field}.{exc.field}", str(exc).split(": ", 1)[1]) from None
        return
    upsert._external_id({field: value}, field)


def _check_lines(lines):
    if not isinstance(lines, list):
        raise InvalidRecord("lines", "must be a list of line objects")
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]."
        if not isinstance(line, dict):
            raise InvalidRecord(f"lines[{index}]", "must be an object")
        upsert._text(prefix + "description", "description", line.get("description"))
        for name in ("quantity", "unit_price", "discount_percent", "tax_rate"):
            upsert._decimal(prefix + name, line.get(name), None)
