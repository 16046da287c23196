"""The workflow editor's form: posted fields to a definition, and a definition back to fields.

Conditions and actions are numbered rows (``cond-0-field``, ``action-1-to``);
rows left empty are ignored, so the page can always offer blank ones.
"""

from designer.workflows.rules import REPEATS

BLANK_CONDITIONS = 3
BLANK_ACTIONS = 1


def definition(form):
    """A definition (as ``rules.validate`` takes it) from the posted editor form."""
    return {
        "name": form.get("name", ""),
        "module": form.get("module", ""),
        "enabled": form.get("enabled") == "on",
        "trigger": _trigger(form),
        "conditions": {"match": form.get("match", "all"), "items": _rows(form, "cond", _cond)},
        "actions": _rows(form, "action", _action),
        "repeat": {"mode": form.get("repeat_mode", ""), "days": form.get("repeat_days", "") or 0},
    }


def _trigger(form):
    kind = form.get("trigger_type", "created")
    if kind == "date":
        return {
            "type": "date",
            "field": form.get("date_field", ""),
            "when": form.get("date_when", "before"),
            "days": form.get("date_days", "0"),
            "time": form.get("date_time", "09:00"),
        }
    if kind == "replied":
        return {"type": "replied", "template_id": form.get("replied_template_id", "")}
    return {
        "type": kind,
        "field": form.get("trigger_field", ""),
        "value": form.get("trigger_value", ""),
    }


def _rows(form, prefix, read):
    indexes = sorted(
        {
            int(key.split("-")[1])
            for key in form
            if key.startswith(f"{prefix}-") and key.split("-")[1].isdigit()
        }
    )
    rows = [read(form, f"{prefix}-{i}-") for i in indexes]
    return [row for row in rows if row is not None]


def _cond(form, prefix):
    field = form.get(prefix + "field", "")
    if not field:
        return None
    return {
        "field": field,
        "op": form.get(prefix + "op", "eq"),
        "value": form.get(prefix + "value", ""),
    }


def _action(form, prefix):
    template_id = form.get(prefix + "template_id", "")
    if not template_id:
        return None
    return {
        "type": "send_email",
        "template_id": template_id,
        "to": form.get(prefix + "to", "record"),
        "addresses": form.get(prefix + "addresses", ""),
        "attach_pdf_ids": form.getlist(prefix + "attach_pdf_ids"),
        "sender": form.get(prefix + "sender", "admin"),
        "sender_user_id": form.get(prefix + "sender_user_id", "") or None,
        "locale": form.get(prefix + "locale", "recipient"),
        "delay_minutes": form.get(prefix + "delay_minutes", "") or 0,
    }


def rows_for_page(values):
    """The definition as the page shows it, with blank rows to add more."""
    conditions = list((values.get("conditions") or {}).get("items") or [])
    actions = list(values.get("actions") or [])
    blank_action = {
        "to": "record",
        "sender": "admin",
        "locale": "recipient",
        "attach_pdf_ids": [],
        "addresses": [],
        "delay_minutes": 0,
    }
    return {
        "conditions": conditions + [{}] * BLANK_CONDITIONS,
        "actions": [_shown_action(a) for a in actions]
        + [dict(blank_action) for _ in range(BLANK_ACTIONS if actions else 1)],
        "repeat_modes": REPEATS,
    }


def _shown_action(action):
    shown = dict(action)
    addresses = shown.get("addresses") or []
    shown["addresses"] = ", ".join(addresses) if isinstance(addresses, list) else addresses
    shown["attach_pdf_ids"] = [
        int(i) for i in shown.get("attach_pdf_ids") or [] if str(i).isdigit()
    ]
    return shown


def values_of(workflow):
    """A stored workflow as a definition dict."""
    return {
        "name": workflow.name,
        "module": workflow.module,
        "enabled": workflow.enabled,
        "trigger": workflow.trigger,
        "conditions": workflow.conditions,
        "actions": workflow.actions,
        "repeat": workflow.repeat,
    }
