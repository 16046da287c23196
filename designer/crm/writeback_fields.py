"""Which vtiger field receives which count: the administrator's choice, kept in settings.

For each of vtiger's Organisations (``Accounts``) and ``Contacts``, each count
(opens, likely-human opens, last opened, last e-mail sent) goes to one field
of a fitting type that vtiger's ``describe`` lists as editable, or nowhere.
The choice is stored with the field's type, so values are written in the
form vtiger expects without asking ``describe`` again at every push.
"""

from dataclasses import dataclass

from flask_babel import gettext as _

from designer.clock import utcnow
from designer.i18n import _l
from designer.settings import get_setting, set_setting

SETTING = "crm_writeback"
#: Our module -> vtiger's module.
VTIGER_MODULES = {"organisation": "Accounts", "contact": "Contacts"}
#: The counts written back, in the order the page shows them.
COUNTS = {
    "opens": _l("Opens"),
    "human_opens": _l("Opens, likely human"),
    "last_opened": _l("Last opened"),
    "last_sent": _l("Last e-mail sent"),
}
#: vtiger field types (``describe``'s ``type.name``) each count may go to.
FITTING_TYPES = {
    "opens": ("integer", "double", "string"),
    "human_opens": ("integer", "double", "string"),
    "last_opened": ("date", "datetime", "string"),
    "last_sent": ("date", "datetime", "string"),
}


class InvalidChoice(ValueError):
    """A chosen field is not a fitting, editable field of that vtiger module."""


@dataclass(frozen=True)
class FieldChoice:
    name: str
    label: str
    type: str


def field_choices(describe):
    """``{count: [FieldChoice]}`` of one vtiger module's ``describe`` answer."""
    fields = describe.get("fields") or []
    choices = {count: [] for count in COUNTS}
    for field in fields:
        kind = (field.get("type") or {}).get("name", "")
        if not _writable(field):
            continue
        for count, types in FITTING_TYPES.items():
            if kind in types:
                choices[count].append(FieldChoice(field["name"], field.get("label") or "", kind))
    for fitting in choices.values():
        fitting.sort(key=lambda choice: choice.label.lower())
    return choices


def _writable(field):
    """Editable and optional; text only in custom fields (never a record's name or phone)."""
    name = field.get("name") or ""
    if not field.get("editable") or field.get("mandatory") or name == "id":
        return False
    return (field.get("type") or {}).get("name") != "string" or name.startswith("cf_")


def writeback_settings():
    """``{"fields": {module: {count: {"field", "type"}}}, "record_messages": bool, …}``."""
    stored = get_setting(SETTING, {}) or {}
    fields = stored.get("fields") or {}
    return {
        "fields": {module: dict(fields.get(module) or {}) for module in VTIGER_MODULES},
        "record_messages": bool(stored.get("record_messages")),
        "record_messages_since": stored.get("record_messages_since"),
    }


def chosen_fields(module):
    """``{count: (vtiger field, type)}`` chosen for our ``module``."""
    fields = writeback_settings()["fields"][module]
    return {count: (value["field"], value["type"]) for count, value in fields.items()}


def save_choices(form, choices_by_module, record_messages):
    """Store the fields chosen in ``form`` (``<module>.<count>`` -> field name or "").

    ``choices_by_module`` is ``{module: field_choices(describe)}``; a field that is
    not among the count's choices raises ``InvalidChoice`` naming it, and nothing
    is stored.
    """
    fields = {}
    for module, choices in choices_by_module.items():
        fields[module] = {}
        for count, label in COUNTS.items():
            name = (form.get(f"{module}.{count}") or "").strip()
            if not name:
                continue
            match = next((c for c in choices[count] if c.name == name), None)
            if match is None:
                raise InvalidChoice(
                    _(
                        "%(module)s has no editable field %(name)s that can hold “%(label)s”",
                        module=VTIGER_MODULES[module],
                        name=repr(name[:100]),
                        label=label,
                    )
                )
            fields[module][count] = {"field": match.name, "type": match.type}
    current = writeback_settings()
    since = current["record_messages_since"]
    if record_messages and not current["record_messages"]:
        since = utcnow().isoformat()  # messages sent from now on; none of the past
    set_setting(
        SETTING,
        {
            "fields": fields,
            "record_messages": bool(record_messages),
            "record_messages_since": since if record_messages else None,
        },
    )


def vtiger_value(kind, value):
    """``value`` (a count or a naive UTC datetime, or None) as a field of type ``kind`` takes it."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if kind == "date":
        return value.strftime("%Y-%m-%d")
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")
