"""Workflow definitions: what a trigger, a condition, an action and a repeat rule may say.

``validate`` checks a whole definition and returns it normalised, or raises
``InvalidWorkflow`` naming the field at fault (``actions[0].template_id``),
so the editor and the API show the same clear errors. ``triggered_by``
says whether an event starts a workflow.
"""

import re

from designer.i18n import N_
from designer.records.upsert import UPSERT_MODULES
from designer.templating import TemplateNotFound, get_template
from designer.templating.catalogue import catalogue

#: The labels are English (the API's and the run log's); the editor shows them translated.
TRIGGERS = {
    "created": N_("the record is created"),
    "updated": N_("the record is updated"),
    "saved": N_("the record is created or updated"),
    "field_changed": N_("a field changes (optionally: to a value)"),
    "date": N_("a date of the record comes (before/after it, at a time of day)"),
    "replied": N_("the record replies to a message (optionally: of one template)"),
}
#: The condition field that asks whether the record replied to a message of template
#: ``value`` (an id, or "any"): ``eq`` replied, ``ne`` did not (``workflows.replied``).
REPLIED_FIELD = "activity.replied"
#: Date fields a date-based trigger can follow, per module.
DATE_FIELDS = {
    "quote": ("due_date", "issue_date"),
    "invoice": ("due_date", "issue_date"),
    "contact": ("birthday",),
    "organisation": (),
}
OPERATORS = {
    "eq": N_("is"),
    "ne": N_("is not"),
    "contains": N_("contains"),
    "not_contains": N_("does not contain"),
    "gt": N_("is greater than"),
    "gte": N_("is at least"),
    "lt": N_("is less than"),
    "lte": N_("is at most"),
    "empty": N_("is empty"),
    "not_empty": N_("is not empty"),
}
UNARY = {"empty", "not_empty"}
RECIPIENTS = {
    "record": N_("the record's e-mail (its contact, else its organisation)"),
    "related_contacts": N_("the organisation's contacts"),
    "owner": N_("the record's owner (a user)"),
    "fixed": N_("fixed addresses"),
}
SENDERS = {
    "admin": N_("the admin user (as the CRM does)"),
    "owner": N_("the record's owner"),
    "user": N_("a named user"),
    "system": N_("the central system address"),
}
LOCALES = {
    "recipient": N_("the recipient's language and formats"),
    "template": N_("the template's language"),
    "sender": N_("the sender's language"),
}
REPEATS = {
    "once": N_("once per record"),
    "once_per_days": N_("once per record per N days"),
    "every": N_("every time"),
}
#: The template modules whose fields a record of each module provides.
MERGES_WITH = {
    "organisation": ("organisation",),
    "contact": ("contact", "organisation"),
    "quote": ("quote", "contact", "organisation"),
    "invoice": ("invoice", "contact", "organisation"),
}
TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
ADDRESS = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
MAX_ACTIONS = 10
MAX_CONDITIONS = 20
MAX_DELAY_MINUTES = 60 * 24 * 90


class InvalidWorkflow(ValueError):
    """A workflow definition is wrong; ``field`` names where.

    ``message`` is English (the API's); the editor translates ``template`` (the message
    with ``%(name)s`` placeholders) and fills in ``params``.
    """

    def __init__(self, field, message, /, **params):
        self.template, self.params = message, params
        message = message % params if params else message
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def validate(values):
    """A checked, normalised definition from ``values`` (a dict, as JSON or a form gives)."""
    if not isinstance(values, dict):
        raise InvalidWorkflow("workflow", N_("must be an object"))
    name = str(values.get("name") or "").strip()
    if not name or len(name) > 200:
        raise InvalidWorkflow("name", N_("a name of 1 to 200 characters is required"))
    module = values.get("module")
    if module not in UPSERT_MODULES:
        raise InvalidWorkflow(
            "module", N_("must be one of %(choices)s"), choices=", ".join(UPSERT_MODULES)
        )
    trigger = _trigger(module, values.get("trigger"))
    return {
        "name": name,
        "module": module,
        "enabled": bool(values.get("enabled", False)),
        "trigger": trigger,
        "conditions": _conditions(module, values.get("conditions")),
        "actions": _actions(module, values.get("actions")),
        "repeat": _repeat(values.get("repeat"), trigger),
    }


def _object(value, field):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidWorkflow(field, N_("must be an object"))
    return value


def _trigger(module, trigger):
    trigger = _object(trigger, "trigger")
    kind = trigger.get("type") or "created"
    if kind not in TRIGGERS:
        raise InvalidWorkflow(
            "trigger.type", N_("must be one of %(choices)s"), choices=", ".join(TRIGGERS)
        )
    if kind == "field_changed":
        field = str(trigger.get("field") or "").strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", field):
            raise InvalidWorkflow(
                "trigger.field", N_("name the field that must change, e.g. status")
            )
        value = trigger.get("value")
        return {"type": kind, "field": field, "value": None if value in (None, "") else str(value)}
    if kind == "date":
        return _date_trigger(module, trigger)
    if kind == "replied":
        return _replied_trigger(trigger)
    return {"type": kind}


def _replied_trigger(trigger):
    """``{"type": "replied", "template_id": id or None}`` (the editor posts it as value)."""
    value = trigger.get("template_id", trigger.get("value"))
    if value in (None, "", "any"):
        return {"type": "replied", "template_id": None}
    template = _template(_integer(value, "trigger.template_id", 1, 2**31 - 1))
    if template is None or template.kind != "email":
        raise InvalidWorkflow("trigger.template_id", N_("choose an e-mail template, or any"))
    return {"type": "replied", "template_id": template.id}


def _date_trigger(module, trigger):
    field = trigger.get("field")
    if field not in DATE_FIELDS[module]:
        choices = ", ".join(DATE_FIELDS[module]) or "none"
        raise InvalidWorkflow(
            "trigger.field",
            N_("a %(module)s date field (%(choices)s)"),
            module=module,
            choices=choices,
        )
    when = trigger.get("when") or "before"
    if when not in ("before", "on", "after"):
        raise InvalidWorkflow("trigger.when", N_("must be before, on or after"))
    days = _integer(trigger.get("days", 0), "trigger.days", 0, 365)
    at = str(trigger.get("time") or "09:00").strip()
    if not TIME.fullmatch(at):
        raise InvalidWorkflow("trigger.time", N_("a time of day as HH:MM, e.g. 09:00"))
    return {
        "type": "date",
        "field": field,
        "when": when,
        "days": 0 if when == "on" else days,
        "time": at,
    }


_WHOLE_NUMBER = N_("a whole number from %(low)s to %(high)s")


def _integer(value, field, low, high):
    try:
        number = int(str(value).strip() or 0)
    except ValueError:
        raise InvalidWorkflow(field, _WHOLE_NUMBER, low=low, high=high) from None
    if not low <= number <= high:
        raise InvalidWorkflow(field, _WHOLE_NUMBER, low=low, high=high)
    return number


def field_names(module):
    """The dotted fields a condition of ``module`` may compare (the merge fields)."""
    return {
        field.name
        for field in catalogue(module)
        if "." in field.name and not field.name.startswith(("sender.", "company."))
    }


def _conditions(module, conditions):
    conditions = _object(conditions, "conditions")
    match = conditions.get("match") or "all"
    if match not in ("all", "any"):
        raise InvalidWorkflow("conditions.match", N_("must be all or any"))
    items = conditions.get("items") or []
    if not isinstance(items, list) or len(items) > MAX_CONDITIONS:
        raise InvalidWorkflow(
            "conditions.items", N_("a list of at most %(max)s"), max=MAX_CONDITIONS
        )
    known = field_names(module) | {REPLIED_FIELD}
    return {
        "match": match,
        "items": [
            _condition(known, item, f"conditions.items[{i}]") for i, item in enumerate(items)
        ],
    }


def _condition(known, item, where):
    item = _object(item, where)
    field = str(item.get("field") or "").strip()
    if field not in known:
        raise InvalidWorkflow(f"{where}.field", N_("unknown field %(name)r"), name=field)
    op = item.get("op") or "eq"
    if op not in OPERATORS:
        raise InvalidWorkflow(
            f"{where}.op", N_("must be one of %(choices)s"), choices=", ".join(OPERATORS)
        )
    value = item.get("value")
    if field == REPLIED_FIELD:
        return _replied_condition(op, value, where)
    if op not in UNARY and value in (None, ""):
        raise InvalidWorkflow(
            f"{where}.value", N_("'%(operator)s' needs a value"), operator=OPERATORS[op]
        )
    return {"field": field, "op": op, "value": "" if op in UNARY else str(value)}


def _replied_condition(op, value, where):
    if op not in ("eq", "ne"):
        raise InvalidWorkflow(f"{where}.op", N_("is (replied) or is not (did not reply)"))
    value = str(value or "any").strip().lower()
    if value != "any":
        template = _template(_integer(value, f"{where}.value", 1, 2**31 - 1))
        if template is None or template.kind != "email":
            raise InvalidWorkflow(f"{where}.value", N_("an e-mail template's id, or any"))
        value = str(template.id)
    return {"field": REPLIED_FIELD, "op": op, "value": value}


def _actions(module, actions):
    if not isinstance(actions, list) or not actions:
        raise InvalidWorkflow("actions", N_("at least one action is required"))
    if len(actions) > MAX_ACTIONS:
        raise InvalidWorkflow("actions", N_("at most %(max)s actions"), max=MAX_ACTIONS)
    return [_action(module, action, f"actions[{i}]") for i, action in enumerate(actions)]


def _action(module, action, where):
    action = _object(action, where)
    if (action.get("type") or "send_email") != "send_email":
        raise InvalidWorkflow(f"{where}.type", N_("the one action type is send_email"))
    template = _template(
        _integer(action.get("template_id") or 0, f"{where}.template_id", 0, 2**31 - 1)
    )
    if template is None or template.kind != "email":
        raise InvalidWorkflow(f"{where}.template_id", N_("choose an e-mail template"))
    if template.archived_at is not None:
        raise InvalidWorkflow(
            f"{where}.template_id",
            N_("'%(name)s' is archived: restore it in the library first"),
            name=template.name,
        )
    if template.module not in MERGES_WITH[module]:
        raise InvalidWorkflow(
            f"{where}.template_id",
            N_(
                "'%(name)s' is made for %(template_module)s records; a %(module)s workflow "
                "sends templates for %(modules)s records"
            ),
            name=template.name,
            template_module=template.module,
            module=module,
            modules=" or ".join(MERGES_WITH[module]),
        )
    return {
        "type": "send_email",
        "template_id": template.id,
        **_recipients(action, where),
        "attach_pdf_ids": _pdfs(module, action.get("attach_pdf_ids"), f"{where}.attach_pdf_ids"),
        **_sender(action, where),
        "locale": _choice(action.get("locale") or "recipient", LOCALES, f"{where}.locale"),
        "delay_minutes": _integer(
            action.get("delay_minutes") or 0, f"{where}.delay_minutes", 0, MAX_DELAY_MINUTES
        ),
    }


def _template(template_id):
    try:
        return get_template(template_id)
    except TemplateNotFound:
        return None


def _choice(value, choices, field):
    if value not in choices:
        raise InvalidWorkflow(field, N_("must be one of %(choices)s"), choices=", ".join(choices))
    return value


def _recipients(action, where):
    to = _choice(action.get("to") or "record", RECIPIENTS, f"{where}.to")
    addresses = action.get("addresses") or []
    if isinstance(addresses, str):
        addresses = [a for a in re.split(r"[\s,;]+", addresses) if a]
    if not isinstance(addresses, list):
        raise InvalidWorkflow(f"{where}.addresses", N_("a list of e-mail addresses"))
    if to == "fixed":
        if not addresses or len(addresses) > 50:
            raise InvalidWorkflow(f"{where}.addresses", N_("1 to 50 e-mail addresses"))
        for address in addresses:
            if not isinstance(address, str) or not ADDRESS.fullmatch(address.strip()):
                raise InvalidWorkflow(
                    f"{where}.addresses",
                    N_("not an e-mail address: %(address)r"),
                    address=address,
                )
    return {"to": to, "addresses": [a.strip().lower() for a in addresses] if to == "fixed" else []}


def _pdfs(module, ids, field):
    ids = ids or []
    if not isinstance(ids, list) or len(ids) > 5:
        raise InvalidWorkflow(field, N_("a list of at most 5 PDF template ids"))
    checked = []
    for value in ids:
        template = _template(_integer(value, field, 0, 2**31 - 1))
        if template is None or template.kind != "pdf":
            raise InvalidWorkflow(field, N_("%(value)r is not a PDF template"), value=value)
        if template.module != module:
            raise InvalidWorkflow(
                field,
                N_("'%(name)s' is made for %(template_module)s records, not %(module)s records"),
                name=template.name,
                template_module=template.module,
                module=module,
            )
        checked.append(template.id)
    return checked


def _sender(action, where):
    from designer.records import RecordNotFound, get_record

    sender = _choice(action.get("sender") or "admin", SENDERS, f"{where}.sender")
    user_id = None
    if sender == "user":
        user_id = _integer(
            action.get("sender_user_id") or 0, f"{where}.sender_user_id", 0, 2**31 - 1
        )
        try:
            get_record("user", user_id)
        except RecordNotFound:
            raise InvalidWorkflow(
                f"{where}.sender_user_id", N_("choose the sending user")
            ) from None
    return {"sender": sender, "sender_user_id": user_id}


def _repeat(repeat, trigger):
    """Once per record by default; a date trigger fires once per date anyway, so its
    default is every time (a moved due date reminds again)."""
    repeat = _object(repeat, "repeat")
    default = "every" if trigger["type"] == "date" else "once"
    mode = _choice(repeat.get("mode") or default, REPEATS, "repeat.mode")
    days = 0
    if mode == "once_per_days":
        days = _integer(repeat.get("days") or 0, "repeat.days", 1, 3650)
    return {"mode": mode, "days": days}


def triggered_by(workflow, event):
    """Whether ``event`` starts ``workflow`` (date triggers are started by the clock)."""
    if not workflow.enabled or workflow.module != event.module:
        return False
    kind = workflow.trigger.get("type")
    if kind == "created":
        return event.action == "created"
    if kind == "updated":
        return event.action == "updated"
    if kind == "saved":
        return event.action in ("created", "updated")
    if kind == "field_changed":
        change = (event.changes or {}).get(workflow.trigger["field"])
        if change is None or event.action not in ("created", "updated"):
            return False
        wanted = workflow.trigger.get("value")
        return wanted is None or str(change.get("to")).casefold() == wanted.casefold()
    if kind == "replied":
        from designer.workflows.replied import triggered

        return triggered(workflow.trigger, event)
    return False
