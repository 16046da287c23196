"""Workflows: CRM events in, the right template out.

Events come from hook sources (``POST /hooks/events``, HMAC-signed:
``accept_event`` stores them, their records are written by the processor),
from the app's own record changes (``save_record``) and from Python (``emit``:
stored with their record upserted). Each is stored before it is answered;
then the processor (``process_events``, a job woken by ``wake``:
``designer.workflows.processing``) runs every enabled workflow it triggers,
a batch of events at a time. Date-based
workflows are run by the clock (``run_due_schedules``). ``test_workflow``
shows what a workflow would send for a record, without sending.
"""

from designer.clock import utcnow
from designer.extensions import db
from designer.records import RecordNotFound, get_record
from designer.records.upsert import InvalidRecord, upsert_record
from designer.workflows import (
    actions,
    batch_runs,
    events,
    opt_out,
    processing,
    replied,
    rules,
    runs,
    schedule,
)
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
    "accept_event",
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
    "process_events",
    "receive_event",
    "reply_events",
    "requeue_pending_events",
    "rotate_secret",
    "run_due_schedules",
    "save_record",
    "save_workflow",
    "test_workflow",
]


def accept_event(payload, source, event_id=None):
    """Store a posted event (its record is written by the processor) and wake the
    processor; ``(id, type, duplicate)``. ``InvalidEvent`` names a bad field.

    ``event_id`` (a Standard Webhooks ``webhook-id``) stands for the body's ``id``.
    """
    stored, kind, duplicate = events.accept(payload, source, event_id)
    if not duplicate:
        processing.wake()
    return stored, kind, duplicate


def receive_event(payload, source, event_id=None):
    """Store an event with its record upserted at once, and queue its processing;
    ``(event, duplicate)``.

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
    """Have the stored event ``event_id`` processed (it is committed): wake the processor."""
    processing.wake()


def reply_events(reply_ids):
    """Raise and queue a ``<module>.replied`` event for each new reply from a person; how
    many (``designer.workflows.replied``)."""
    event_ids = replied.reply_events(reply_ids)
    for event_id in event_ids:
        enqueue_event(event_id)
    return len(event_ids)


def process_events():
    """The processor's job: every waiting event, a batch at a time; how many."""
    return processing.process_events(_run_events)


def _run_events(batch):
    """Run the workflows of a batch of ``pending`` events (their records written): the
    runs in one transaction (``designer.workflows.batch_runs``); the events are then done
    (or failed: a record gone since)."""
    enabled, items, failed = {}, [], {}
    for event in batch:
        if event.module not in enabled:
            enabled[event.module] = _enabled_workflows(event.module)
        triggered = [w for w in enabled[event.module] if rules.triggered_by(w, event)]
        if triggered:
            try:
                record = get_record(event.module, event.record_id)
            except RecordNotFound as exc:
                failed[event.id] = str(exc)
                continue
            items.extend(batch_runs.Item(w, event.module, record, event) for w in triggered)
    batch_runs.run_many(items)
    now = utcnow()
    for event in batch:
        if event.state == "pending":
            event.state, event.processed_at = "done", now
            if event.id in failed:
                event.state, event.error = "failed", failed[event.id]
    db.session.commit()


def process_event(event_id):
    """Write the stored event's record (when not yet written) and run every workflow it
    triggers; the runs (each logged)."""
    event = events.get_event(event_id)
    if event is not None and event.state == events.RECEIVED:
        processing.write_one(event)
        event = events.get_event(event_id)
    if event is None or event.state != "pending":
        return []
    return _run_workflows(event, _workflows_for(event))


def _run_workflows(event, triggered):
    """Run the ``triggered`` workflows for the event's record, one at a time; the runs."""
    if not triggered:
        event.state, event.processed_at = "done", utcnow()
        db.session.commit()
        return []
    try:
        record = get_record(event.module, event.record_id)
    except RecordNotFound as exc:
        event.state, event.error, event.processed_at = "failed", str(exc), utcnow()
        db.session.commit()
        return []
    done = []
    for workflow in triggered:
        run = runs.run_workflow(
            workflow, event.module, record, cause="event", fire_key=f"event:{event.id}", event=event
        )
        if run is not None:
            done.append(run)
    event.state, event.processed_at = "done", utcnow()
    db.session.commit()
    return done


def _workflows_for(event):
    return [w for w in _enabled_workflows(event.module) if rules.triggered_by(w, event)]


def _enabled_workflows(module):
    query = (
        db.select(Workflow)
        .where(Workflow.module == module, Workflow.enabled.is_(True))
        .order_by(Workflow.id)
    )
    return list(db.session.scalars(query))


def requeue_pending_events():
    """Queue the processor again when events wait longer than they should (its job was
    lost); how many wait."""
    ids = events.stale_pending()
    if ids:
        processing.queue_processor()
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
