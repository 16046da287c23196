"""Date-based triggers: "3 days before the invoice's due date, at 09:00" for each record.

The time of day is the recipient's: their contact's time zone, else their
organisation's, else ``DEFAULT_TIMEZONE``. The scheduler calls ``run_due``
every minute with the clock's time (tests pass their own ``now``); a record
whose moment has come within the last ``GRACE`` fires once per date value:
its fire key names the date, so a changed due date fires again, a repeated
call never does.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from designer.clock import utcnow
from designer.extensions import db
from designer.records.models import Contact, Document
from designer.workflows.models import Workflow
from designer.workflows.runs import run_workflow

#: A moment missed by up to this long (the scheduler was down) still fires.
GRACE = timedelta(hours=12)


def run_due(now=None):
    """Run every date-triggered workflow whose moment has come; how many runs."""
    now = now or utcnow()
    runs = 0
    for workflow in _date_workflows():
        for record, day in due_records(workflow, now):
            fire_key = f"date:{record.id}:{workflow.trigger['field']}:{day.isoformat()}"
            if (
                run_workflow(workflow, workflow.module, record, cause="schedule", fire_key=fire_key)
                is not None
            ):
                runs += 1
    return runs


def _date_workflows():
    query = db.select(Workflow).where(Workflow.enabled.is_(True)).order_by(Workflow.id)
    return [w for w in db.session.scalars(query) if w.trigger.get("type") == "date"]


def due_records(workflow, now):
    """``(record, date value)`` of each record whose moment is in (now - GRACE, now]."""
    trigger = workflow.trigger
    for record, value in _candidates(workflow.module, trigger, now):
        moment = fire_time(trigger, value, recipient_timezone(workflow.module, record))
        if now - GRACE < moment <= now:
            yield record, value


def shift(trigger):
    """Days from the record's date to the day it fires."""
    days = trigger.get("days", 0)
    return {"before": -days, "after": days}.get(trigger.get("when"), 0)


def fire_time(trigger, value, zone):
    """The naive UTC moment a trigger fires for a record dated ``value``."""
    day = value + timedelta(days=shift(trigger))
    hour, minute = (int(part) for part in trigger.get("time", "09:00").split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def recipient_timezone(module, record):
    """The recipient's time zone: contact, organisation, then the installation's."""
    contact = record if module == "contact" else getattr(record, "contact", None)
    org = record if module == "organisation" else getattr(record, "organisation", None)
    if contact is not None and org is None:
        org = contact.organisation
    for name in (
        getattr(contact, "timezone", ""),
        getattr(org, "timezone", ""),
        current_app.config.get("DEFAULT_TIMEZONE"),
    ):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _candidates(module, trigger, now):
    """Records whose date makes them fire around now (a day either side, for time zones)."""
    field = trigger["field"]
    first = now.date() - timedelta(days=2) - timedelta(days=shift(trigger))
    last = now.date() + timedelta(days=1) - timedelta(days=shift(trigger))
    if module == "contact":
        yield from _birthdays(first, last)
        return
    column = getattr(Document, field)
    query = db.select(Document).where(Document.kind == module, column.between(first, last))
    for document in db.session.scalars(query.order_by(Document.id)):
        yield document, getattr(document, field)


def _birthdays(first, last):
    """Contacts whose birthday falls between ``first`` and ``last`` (this year's date)."""
    rows = db.session.execute(
        db.select(Contact.id, Contact.birthday).where(Contact.birthday.is_not(None))
    ).all()
    for contact_id, birthday in rows:
        for year in {first.year, last.year}:
            day = _anniversary(birthday, year)
            if first <= day <= last:
                yield db.session.get(Contact, contact_id), day


def _anniversary(birthday, year):
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)
