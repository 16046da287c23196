"""Workflows: CRM events in, the right template out.

Events come from hook sources (``POST /hooks/events``, HMAC-signed), from
the app's own record changes (``save_record``) and from Python (``emit``).
Each is stored before it is answered, its record upserted, and then every
enabled workflow it triggers runs (``process_event``, in a job). Date-based
workflows are run by the clock (``run_due_schedules``). ``test_workflow``
shows what a workflow would send for a record, without sending.
"""

from designer import broker
from designer.clock import utcnow
from designer.extensions import db
from designer.records import RecordNotFound, get_record
from designer.records.upsert import InvalidRecord, upsert_record
from designer.workflows import actions, events, opt_out, replied, rules, runs, schedule
from designer.workflows.conditions import as_log, evaluate
from designer.workflows.events import InvalidEvent
from designer.workflows.models import Event, HookSource, Workflow, WorkflowRun
from designer.workflows.rules import InvalidWorkflow
from designer.workflows.sources import (
    BadSignature,
    add_source,
    delete_source,
    get_source,
    list_sources,
    rotate_secret,
)

__all__ = [
    "BadSignature",
    "Event",
    "HookSource",
    "InvalidEvent",
    "InvalidRecord",
    "InvalidWorkflow",
    "Workflow",
    "WorkflowRun",
    "add_source",
    "delete_source",
    "delete_workflow",
    "emit",
    "enabled_workflows_using",
    "get_source",
    "get_workflow",
    "list_sources",
    "list_workflows",
    "process_event",
    "receive_event",
    "reply_events",
    "requeue_pending_events",
    "rotate_secret",
    "run_due_schedules",
    "save_record",
    "save_workflow",
    "test_workflow",
]


def receive_event(payload, source, event_id=None):
    """Store a posted event and queue its processing; ``(event, duplicate)``.

    ``event_id`` (a Standard Webhooks ``webhook-id``) stands for the body's ``id``.
    """
    event, duplicate = events.receive(payload, source, event_id)
    if not duplicate:
        enqueue_event(event.id)
    return event, duplicate


def emit(event, source="app"):
    """Raise an event from Python, as a hook source would post it; ``(Event, duplicate)``."""
    return receive_event(event, source)


def save_record(module, data):
    """Upsert a record from inside the app and raise its event; ``(record, created)``.

    Its ``email_opt_out``, when given, goes on the suppression list with it."""
    opted_out = opt_out.read_opt_out(module, data)
    record, created, changes = upsert_record(module, data)
    opt_out.apply_opt_out(record, opted_out)
    db.session.flush()
    event = None
    if created or changes:
        event = events.record_event(module, record, "created" if created else "updated", changes)
    db.session.commit()
    if event is not None:
        enqueue_event(event.id)
    return record, created


def enqueue_event(event_id):
    broker.enqueue(broker.WORKFLOWS, broker.PROCESS_EVENT, event_id)


def reply_events(reply_ids):
    """Raise and queue a ``<module>.replied`` event for each new reply from a person; how
    many (``designer.workflows.replied``)."""
    event_ids = replied.reply_events(reply_ids)
    for event_id in event_ids:
        enqueue_event(event_id)
    return len(event_ids)


def process_event(event_id):
    """Run every workflow the stored event triggers; the runs (each logged)."""
    event = events.get_event(event_id)
    if event is None or event.state != "pending":
        return []
    try:
        record = get_record(event.module, event.record_id)
    except RecordNotFound as exc:
        event.state, event.error, event.processed_at = "failed", str(exc), utcnow()
        db.session.commit()
        return []
    done = []
    for workflow in _workflows_for(event):
        run = runs.run_workflow(
            workflow, event.module, record, cause="event", fire_key=f"event:{event.id}", event=event
        )
        if run is not None:
            done.append(run)
    event.state, event.processed_at = "done", utcnow()
    db.session.commit()
    return done


def _workflows_for(event):
    query = (
        db.select(Workflow)
        .where(Workflow.module == event.module, Workflow.enabled.is_(True))
        .order_by(Workflow.id)
    )
    return [w for w in db.session.scalars(query) if rules.triggered_by(w, event)]


def requeue_pending_events():
    """Queue again the events whose processing job was lost; how many."""
    ids = events.stale_pending()
    for event_id in ids:
        enqueue_event(event_id)
    return len(ids)


def run_due_schedules(now=None):
    """Run the date-based workflows whose moment has come (``now``: the clock's time)."""
    return schedule.run_due(now)


def list_workflows():
    return db.session.scalars(db.select(Workflow).order_by(Workflow.name, Workflow.id)).all()


def enabled_workflows_using(template_ids):
    """The switched-on workflows that send, or attach as a PDF, one of these templates."""
    wanted = set(template_ids)
    query = db.select(Workflow).where(Workflow.enabled.is_(True)).order_by(Workflow.id)
    return [w for w in db.session.scalars(query) if wanted & _templates_of(w)]


def _templates_of(workflow):
    ids = set()
    for action in workflow.actions or []:
        ids.add(action.get("template_id"))
        ids.update(action.get("attach_pdf_ids") or [])
    return ids


def get_workflow(workflow_id):
    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None:
        raise LookupError(f"no workflow with id {workflow_id}")
    return workflow


def save_workflow(values, workflow=None, user=None):
    """Create (or change) a workflow from ``values``; ``InvalidWorkflow`` names the field."""
    checked = rules.validate(values)
    if workflow is None:
        workflow = Workflow(created_by_id=user.id if user else None)
        db.session.add(workflow)
    for name, value in checked.items():
        setattr(workflow, name, value)
    db.session.commit()
    return workflow


def delete_workflow(workflow):
    db.session.delete(workflow)
    db.session.commit()


def test_workflow(workflow, module, record):
    """What ``workflow`` would do for ``record`` now, without sending: a dict."""
    matched, checked = evaluate(workflow.conditions, module, record)
    result = {
        "matched": matched,
        "conditions": as_log(checked),
        "actions": [],
        "repeat": runs.repeat_blocked(workflow, record.id) if workflow.id else None,
    }
    for index, action in enumerate(workflow.actions):
        try:
            planned, notes = actions.plan(action, index, module, record)
        except actions.ActionFailed as exc:
            result["actions"].append(
                {"action": index, "error": str(exc), "messages": [], "notes": []}
            )
            continue
        result["actions"].append(
            {
                "action": index,
                "error": None,
                "notes": notes,
                "messages": [_preview(p, module, record) for p in planned],
            }
        )
    return result


def _preview(item, module, record):
    from designer.mail import build_message, consent, ledger
    from designer.templating import MergeError

    described = runs.describe(item)
    message = ledger.new_message(
        item.template,
        module=module,
        record=record,
        sender_user=item.sender_user,
        locale=item.locale,
        to=item.recipient,
    )
    try:
        build_message(message, tracking=False, attachments=False)
        described["subject"], described["error"] = message.subject, None
    except MergeError as exc:
        described["subject"], described["error"] = "", f"the template cannot be merged: {exc}"
    described["template_version"] = message.template_version.number
    found = consent.suppression_of(message.recipient_email)
    described["held_back"] = consent.hold_back_reason(message.purpose, found)
    return described
