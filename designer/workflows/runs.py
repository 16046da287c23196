"""Running a workflow for one record, with repeat protection and a run log.

A run is logged whatever happens: the conditions as evaluated (true or
false each), what each action did (messages queued, to whom, from whom, in
which locale), the recipients the suppression list held back and why, or
why it did nothing, and errors. The run row is written
first under its fire key (an event, a due date), which is unique per
workflow: what fired once never fires again, and a run cut short (a dead
worker) is finished when its event is processed again, without sending
twice (message dedupe keys name the fire key).
"""

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from designer import webhooks
from designer.clock import utcnow
from designer.extensions import db
from designer.workflows import actions
from designer.workflows.conditions import as_log, evaluate
from designer.workflows.models import WorkflowRun

log = logging.getLogger(__name__)


def run_workflow(workflow, module, record, *, cause, fire_key=None, event=None):
    """Run ``workflow`` for ``record``; the ``WorkflowRun``, or None if it ran before."""
    run = _claim(workflow, module, record, cause, fire_key, event)
    if run is None:
        return None
    try:
        _carry_out(run, workflow, module, record)
    except Exception as exc:  # logged on the run; the other workflows still run
        db.session.rollback()
        log.exception("workflow %s failed for %s %s", workflow.id, module, record.id)
        run = db.session.get(WorkflowRun, run.id)
        run.outcome, run.error = "failed", f"{type(exc).__name__}: {exc}"
        emit_failed(run, workflow)  # committed with the run
    db.session.commit()
    return run


def emit_failed(run, workflow):
    """Tell the ``workflow.run_failed`` webhook subscribers (committed with the run)."""
    if webhooks.subscribers("workflow.run_failed"):
        data = {
            "run_id": run.id,
            "workflow_id": workflow.id,
            "workflow_name": workflow.name,
            "cause": run.cause,
            "record": {"module": run.module, "id": run.record_id},
            "error": run.error,
        }
        webhooks.emit("workflow.run_failed", data)


def _claim(workflow, module, record, cause, fire_key, event):
    if fire_key:
        existing = db.session.scalar(
            db.select(WorkflowRun).where(
                WorkflowRun.workflow_id == workflow.id, WorkflowRun.fire_key == fire_key
            )
        )
        if existing is not None:
            return existing if existing.outcome == "running" else None
    run = WorkflowRun(
        workflow_id=workflow.id,
        event_id=event.id if event else None,
        cause=cause,
        fire_key=fire_key,
        module=module,
        record_id=record.id,
        outcome="running",
        conditions=[],
        actions=[],
        message_ids=[],
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # fired at the same moment by another worker
        db.session.rollback()
        return None
    return run


def _carry_out(run, workflow, module, record):
    matched, checked = evaluate(workflow.conditions, module, record)
    run.conditions = as_log(checked)
    if not matched:
        run.outcome = "no_match"
        return
    blocked = repeat_blocked(workflow, record.id, exclude=run.id)
    if blocked:
        run.outcome, run.actions = "repeat", [{"note": blocked}]
        return
    log_entries, message_ids, held = [], [], 0
    prefix = f"wf{workflow.id}:{run.fire_key or f'run{run.id}'}"
    for index, action in enumerate(workflow.actions):
        entry, ids = _run_action(action, index, module, record, prefix)
        log_entries.append(entry)
        message_ids.extend(ids)
        held += entry.get("held_back", 0)
    run.actions, run.message_ids = log_entries, message_ids
    # "held_back": every message written was held back by the suppression list.
    run.outcome = (
        "nothing" if not message_ids else "held_back" if held == len(message_ids) else "sent"
    )


def _run_action(action, index, module, record, prefix):
    try:
        planned, notes = actions.plan(action, index, module, record)
    except actions.ActionFailed as exc:
        return {"action": index, "error": str(exc), "messages": []}, []
    written = actions.queue(planned, prefix, module, record)
    held = {m.recipient_email.lower(): m.last_error for m in written if m.state == "suppressed"}
    ids = [m.id for m in written]
    return {
        "action": index,
        "messages": ids,
        "held_back": len(held),
        "sent": [
            {**describe(p), "held_back": held.get(p.recipient.email.lower())} for p in planned
        ],
        "notes": notes,
    }, ids


def describe(item):
    """A planned message as the run log and the test page show it."""
    return {
        "to": item.recipient.email,
        "to_name": item.recipient.name,
        "from": item.from_address,
        "sender": item.sender_label,
        "template": item.template.name,
        "locale": item.locale,
        "locale_reason": item.locale_reason,
        "attachments": item.attach_pdf_ids,
        "delay_minutes": item.delay_minutes,
        "notes": item.notes,
    }


def repeat_blocked(workflow, record_id, exclude=None):
    """Why repeat protection stops ``workflow`` for this record now, or None."""
    mode = (workflow.repeat or {}).get("mode", "once")
    if mode == "every":
        return None
    query = db.select(WorkflowRun.created_at).where(
        WorkflowRun.workflow_id == workflow.id,
        WorkflowRun.record_id == record_id,
        WorkflowRun.outcome == "sent",
        WorkflowRun.cause != "manual",
    )
    if exclude is not None:
        query = query.where(WorkflowRun.id != exclude)
    if mode == "once_per_days":
        days = workflow.repeat.get("days") or 1
        query = query.where(WorkflowRun.created_at >= utcnow() - timedelta(days=days))
    last = db.session.scalar(query.order_by(WorkflowRun.created_at.desc()).limit(1))
    if last is None:
        return None
    return repeat_text(workflow, last)


def repeat_text(workflow, last):
    """What the run log says of a run stopped by repeat protection (``last``: when it
    last ran for the record)."""
    mode = (workflow.repeat or {}).get("mode", "once")
    if mode == "once":
        return f"already ran for this record on {last:%Y-%m-%d %H:%M} UTC (once per record)"
    return (
        f"already ran for this record on {last:%Y-%m-%d %H:%M} UTC "
        f"(once per {workflow.repeat.get('days')} days)"
    )


def runs_query(workflow_id):
    """A select of the workflow's runs, newest first."""
    return (
        db.select(WorkflowRun)
        .where(WorkflowRun.workflow_id == workflow_id)
        .order_by(WorkflowRun.id.desc())
    )
