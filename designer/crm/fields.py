"""Which vtiger custom fields (``cf_…``) feed which Designer custom fields.

The choices come from vtiger's ``describe``; choosing a field creates the
Designer custom field when it does not exist yet (so templates can merge it)
and, when asked, re-reads the module so existing records get their values.
"""

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from designer.crm import mapping
from designer.crm.models import CrmFieldMap, CrmSyncState
from designer.extensions import db
from designer.records import add_custom_field
from designer.records.models import CustomField

#: vtiger field types → the Designer custom field type that keeps them.
TYPES = {"integer": "number", "double": "number", "currency": "money", "date": "date"}
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


class InvalidChoice(ValueError):
    """A chosen Designer field name cannot be used; ``str()`` says why."""


@dataclass(frozen=True)
class Choice:
    """A vtiger custom field, and the Designer field it feeds (empty: not read)."""

    vtiger_module: str
    vtiger_field: str
    label: str
    type: str
    module: str
    field: str
    suggestion: str


def suggest(label, vtiger_field):
    """A Designer field name for a vtiger label: ``"Loyalty tier"`` → ``loyalty_tier``."""
    name = re.sub(r"[^a-z0-9]+", "_", (label or "").lower()).strip("_")
    if not name or not name[0].isalpha():
        name = vtiger_field.lower()
    return name[:64]


def choices(vt):
    """Every custom field of the modules read in, with what it feeds now."""
    chosen = {
        (m.vtiger_module, m.vtiger_field): m.field
        for m in db.session.scalars(db.select(CrmFieldMap))
    }
    found = []
    for module in mapping.CUSTOM_FIELD_MODULES:
        for described in vt.describe(module).get("fields", []):
            name = str(described.get("name") or "")
            if not name.startswith("cf_"):
                continue
            label = str(described.get("label") or name)
            kind = str((described.get("type") or {}).get("name") or "string")
            found.append(
                Choice(
                    vtiger_module=module,
                    vtiger_field=name,
                    label=label,
                    type=TYPES.get(kind, "string"),
                    module=mapping.MODULES[module],
                    field=chosen.get((module, name), ""),
                    suggestion=suggest(label, name),
                )
            )
    return found


def save_choices(available, wanted, reread=True):
    """Store ``wanted`` (``{(vtiger module, cf_…): our field name or ""}``) for ``available``.

    Creates the missing Designer custom fields. With ``reread``, each module whose
    choices changed is read again in bulk (its existing records get the values;
    no workflows run). ``InvalidChoice`` names the first bad name; no choice is stored then.
    """
    by_key = {(c.vtiger_module, c.vtiger_field): c for c in available}
    cleaned = {}
    for key, name in wanted.items():
        if key not in by_key:
            continue
        name = str(name or "").strip().lower()
        if name and not NAME.fullmatch(name):
            raise InvalidChoice(
                _(
                    "%(label)s: a field name is lower-case letters, digits and _, "
                    "starting with a letter",
                    label=by_key[key].label,
                )
            )
        cleaned[key] = name
    _check_targets(by_key, cleaned)
    changed = set()
    for key, name in cleaned.items():
        if name != by_key[key].field:
            changed.add(key[0])
            _store(by_key[key], name)
    db.session.commit()
    if reread:
        for module in changed:
            reread_module(module)
    return changed


def _check_targets(by_key, cleaned):
    for key, name in cleaned.items():
        taken = [k for k, n in cleaned.items() if n and n == name and k[0] == key[0]]
        if len(taken) > 1:
            raise InvalidChoice(
                _("%(name)s: two vtiger fields cannot feed the same Designer field", name=name)
            )
        choice = by_key[key]
        if name and not _custom_field(choice.module, name):
            try:  # checks the name against the record's own fields too
                add_custom_field(choice.module, name, choice.label, choice.type)
            except ValueError as exc:
                raise InvalidChoice(f"{choice.label}: {exc}") from None


def _custom_field(module, name):
    return db.session.scalar(
        db.select(CustomField).where(CustomField.module == module, CustomField.name == name)
    )


def _store(choice, name):
    row = db.session.scalar(
        db.select(CrmFieldMap).where(
            CrmFieldMap.vtiger_module == choice.vtiger_module,
            CrmFieldMap.vtiger_field == choice.vtiger_field,
        )
    )
    if not name:
        if row is not None:
            db.session.delete(row)
        return
    row = row or CrmFieldMap(vtiger_module=choice.vtiger_module, vtiger_field=choice.vtiger_field)
    row.module, row.field = choice.module, name
    db.session.add(row)


def reread_module(module):
    """Read ``module`` again from the start, in bulk, like the first import."""
    state = db.session.scalar(db.select(CrmSyncState).where(CrmSyncState.module == module))
    if state is None:
        return
    state.token, state.importing, state.pages_done, state.records_done = 0, True, 0, 0
    state.finished_at = None
    db.session.commit()
