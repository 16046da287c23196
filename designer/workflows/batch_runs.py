"""The workflow runs of a batch of events, written in one transaction.

``run_many`` does for a batch of events (under the processor's lock:
``designer.workflows.processing``) what ``runs.run_workflow`` does for one,
with the same run log, outcomes, repeat protection and suppression list, but
with a few queries for the whole batch instead of a dozen per run: the runs
already made for these fire keys, the runs that block a repeat, the
suppressions of every address, then one INSERT per table and one commit.
Runs and their messages are committed together, so a worker that dies
mid-batch leaves nothing half done: the batch runs again from the start.

A fire key run before (a run left ``running`` by a dead worker of the one-at-
a-time path) goes through ``run_workflow``, as does the whole batch when its
transaction fails, so that one bad run cannot hold up the others.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from designer.clock import utcnow
from designer.extensions import db
from designer.mail import consent, ledger
from designer.workflows import actions, runs
from designer.workflows.conditions import as_log, evaluate
from designer.workflows.models import WorkflowRun

log = logging.getLogger(__name__)


@dataclass
class Item:
    """One workflow to run for one event's record."""

    workflow: object
    module: str
    record: object
    event: object

    @property
    def fire_key(self):
        return f"event:{self.event.id}"


@dataclass
class _Planned:
    """A run under way: its row, and per action the planned messages and their rows."""

    item: Item
    run: WorkflowRun
    actions: list = field(default_factory=list)  # (index, planned, notes, messages) or a log


def run_many(items):
    """Run every ``Item``; the runs made (each logged). One transaction for all of them,
    or one each when it fails."""
    if not items:
        return []
    made = _existing(items)
    fresh, again, seen = [], [], set()
    for item in items:
        outcome = made.get((item.workflow.id, item.fire_key))
        if outcome is None and (item.workflow.id, item.record.id) not in seen:
            seen.add((item.workflow.id, item.record.id))
            fresh.append(item)
        elif outcome in (None, "running"):  # the record's second run: after the first
            again.append(item)
    try:
        done, going = _run_together(fresh)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("a batch of workflow runs failed: running them one at a time", exc_info=True)
        done, going = [_run_one(item) for item in fresh], []
    ledger.enqueue_going(going)
    return [run for run in done + [_run_one(item) for item in again] if run is not None]


def _run_one(item):
    return runs.run_workflow(
        item.workflow,
        item.module,
        item.record,
        cause="event",
        fire_key=item.fire_key,
        event=item.event,
    )


def _existing(items):
    """``{(workflow id, fire key): outcome}`` of the runs made before for these items."""
    keys = {item.fire_key for item in items}
    workflow_ids = {item.workflow.id for item in items}
    query = db.select(WorkflowRun.workflow_id, WorkflowRun.fire_key, WorkflowRun.outcome).where(
        WorkflowRun.workflow_id.in_(workflow_ids),  # the unique index's first column
        WorkflowRun.fire_key.in_(keys),
    )
    return {(wid, key): outcome for wid, key, outcome in db.session.execute(query)}


def _run_together(items):
    blocks = _Repeats(items)
    planned = [_plan(item, blocks) for item in items]
    messages = [
        m for p in planned for entry in p.actions if isinstance(entry, tuple) for m in entry[3]
    ]
    held = {id(m) for m in consent.hold_back(messages)}
    db.session.add_all([p.run for p in planned] + messages)
    db.session.flush()
    for p in planned:
        _log(p, held)
    return [p.run for p in planned], [m for m in messages if id(m) not in held]


def _plan(item, blocks):
    workflow, record = item.workflow, item.record
    run = WorkflowRun(
        workflow_id=workflow.id,
        event_id=item.event.id,
        cause="event",
        fire_key=item.fire_key,
        module=item.module,
        record_id=record.id,
        outcome="running",
        conditions=[],
        actions=[],
        message_ids=[],
    )
    planned = _Planned(item, run)
    try:
        matched, checked = evaluate(workflow.conditions, item.module, record)
        run.conditions = as_log(checked)
        if not matched:
            run.outcome = "no_match"
            return planned
        blocked = blocks.reason(workflow, record.id)
        if blocked:
            run.outcome, run.actions = "repeat", [{"note": blocked}]
            return planned
        prefix = f"wf{workflow.id}:{item.fire_key}"
        planned.actions = [
            _plan_action(action, index, item, prefix)
            for index, action in enumerate(workflow.actions)
        ]
    except Exception as exc:  # logged on the run; the other runs still go
        log.exception("workflow %s failed for %s %s", workflow.id, item.module, record.id)
        planned.actions = []
        run.outcome, run.error = "failed", f"{type(exc).__name__}: {exc}"
        runs.emit_failed(run, workflow)
    return planned


def _plan_action(action, index, item, prefix):
    try:
        planned, notes = actions.plan(action, index, item.module, item.record)
    except actions.ActionFailed as exc:
        return {"action": index, "error": str(exc), "messages": []}
    return index, planned, notes, actions.new_messages(planned, prefix, item.module, item.record)


def _log(planned, held):
    run = planned.run
    if run.outcome != "running":
        return
    entries, message_ids, held_count = [], [], 0
    for entry in planned.actions:
        if not isinstance(entry, tuple):
            entries.append(entry)
            continue
        index, plans, notes, messages = entry
        reasons = {m.recipient_email.lower(): m.last_error for m in messages if id(m) in held}
        ids = [m.id for m in messages]
        entries.append(
            {
                "action": index,
                "messages": ids,
                "held_back": len(reasons),
                "sent": [
                    {**runs.describe(p), "held_back": reasons.get(p.recipient.email.lower())}
                    for p in plans
                ],
                "notes": notes,
            }
        )
        message_ids.extend(ids)
        held_count += len(reasons)
    run.actions, run.message_ids = entries, message_ids
    run.outcome = (
        "nothing" if not message_ids else "held_back" if held_count == len(message_ids) else "sent"
    )


class _Repeats:
    """Repeat protection for a batch (each record once per workflow in it): the earlier
    ``sent`` runs of its workflows for its records, read at once."""

    def __init__(self, items):
        workflow_ids = {item.workflow.id for item in items}
        record_ids = {item.record.id for item in items}
        query = db.select(
            WorkflowRun.workflow_id, WorkflowRun.record_id, db.func.max(WorkflowRun.created_at)
        ).where(
            WorkflowRun.workflow_id.in_(workflow_ids),
            WorkflowRun.record_id.in_(record_ids),
            WorkflowRun.outcome == "sent",
            WorkflowRun.cause != "manual",
        )
        query = query.group_by(WorkflowRun.workflow_id, WorkflowRun.record_id)
        self.last = {(wid, rid): last for wid, rid, last in db.session.execute(query)}

    def reason(self, workflow, record_id):
        """Why repeat protection stops ``workflow`` for this record now, or None."""
        mode = (workflow.repeat or {}).get("mode", "once")
        last = self.last.get((workflow.id, record_id))
        if mode == "every" or last is None:
            return None
        if mode == "once_per_days":
            days = workflow.repeat.get("days") or 1
            if last < utcnow() - timedelta(days=days):
                return None
        return runs.repeat_text(workflow, last)
