"""The event processor: posted events taken in batches, their records written together,
their workflow runs and mails written in one transaction, each event once."""

import pytest
from workflow_support import welcome_workflow

from designer import mail, workflows
from designer.broker import EMAILS, PROCESS_EVENTS, SEND_MESSAGES, WORKFLOWS, get_queue
from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import Contact
from designer.workflows import processing
from designer.workflows.models import Event, WorkflowRun


def created(i, **fields):
    record = {"id": f"NEW-{i}", "first_name": f"Pat {i}", "email": f"pat{i}@example.org"}
    return {"id": f"e{i}", "type": "contact.created", "record": {**record, **fields}}


def accept(*payloads):
    return [workflows.accept_event(payload, "crm")[0] for payload in payloads]


def runs_of(workflow):
    query = db.select(WorkflowRun).where(WorkflowRun.workflow_id == workflow.id)
    return db.session.scalars(query.order_by(WorkflowRun.id)).all()


@pytest.fixture
def welcome(demo):
    """On contact.saved (created or updated), once per contact: the Welcome template."""
    return welcome_workflow("saved")


def test_a_burst_is_written_and_run_in_batches_and_queued_in_full_send_jobs(
    app, welcome, monkeypatch
):
    monkeypatch.setattr(processing, "BATCH", 200)
    ids = accept(*(created(i) for i in range(450)))
    get_queue(WORKFLOWS).empty()
    assert workflows.process_events() == 450  # three batches of at most 200
    states = db.session.scalars(db.select(Event.state).where(Event.id.in_(ids)))
    assert set(states) == {"done"}
    runs = runs_of(welcome)
    assert len(runs) == 450 and {run.outcome for run in runs} == {"sent"}
    messages = db.session.scalars(db.select(Message).order_by(Message.id)).all()
    assert [m.id for m in messages] == [run.message_ids[0] for run in runs]
    assert len({m.recipient_email for m in messages}) == 450
    jobs = get_queue(EMAILS).jobs
    assert {job.func_name for job in jobs} == {SEND_MESSAGES}
    batch = app.config["BATCH_SIZE"]
    assert sorted(id_ for job in jobs for id_ in job.args[0]) == [m.id for m in messages]
    assert max(len(job.args[0]) for job in jobs) <= batch
    assert len(jobs) == sum(-(-n // batch) for n in (200, 200, 50))  # a batch's in full jobs


def test_a_batch_run_logs_what_a_single_run_logs(welcome):
    [first] = accept(created(1))
    [single] = workflows.process_event(first)
    [second] = accept(created(2))
    assert workflows.process_events() == 1
    [batched] = [run for run in runs_of(welcome) if run.event_id == second]
    assert batched.outcome == single.outcome == "sent"
    assert batched.fire_key == f"event:{second}" and batched.cause == "event"
    assert batched.conditions == single.conditions
    one, other = single.actions[0], batched.actions[0]
    assert sorted(one) == sorted(other) and one["held_back"] == other["held_back"] == 0
    assert other["sent"][0]["to"] == "pat2@example.org"
    assert {**one["sent"][0], "to": "", "to_name": ""} == {
        **other["sent"][0],
        "to": "",
        "to_name": "",
    }


def test_a_record_twice_in_a_batch_runs_once_then_repeat_protection_stops_it(welcome):
    update = {"id": "u1", "type": "contact.updated", "record": {"id": "NEW-1", "title": "Dr"}}
    accept(created(1), update, created(2))
    assert workflows.process_events() == 3
    outcomes = [(run.event.event_id, run.outcome) for run in runs_of(welcome)]
    assert sorted(outcomes) == [("e1", "sent"), ("e2", "sent"), ("u1", "repeat")]
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 2
    contact = db.session.scalar(db.select(Contact).where(Contact.external_id == "NEW-1"))
    assert contact.title == "Dr"


def test_earlier_runs_block_a_repeat_in_a_batch(welcome):
    accept(created(1))
    workflows.process_events()
    accept({"id": "u1", "type": "contact.updated", "record": {"id": "NEW-1", "title": "Dr"}})
    workflows.process_events()
    [first, again] = runs_of(welcome)
    assert (first.outcome, again.outcome) == ("sent", "repeat")
    assert again.actions[0]["note"].startswith("already ran for this record on ")


def test_a_suppressed_address_is_held_back_in_a_batch_and_not_queued(welcome):
    mail.suppress("pat2@example.org", "unsubscribed")
    accept(created(1), created(2))
    get_queue(EMAILS).empty()
    workflows.process_events()
    by_address = {run.actions[0]["sent"][0]["to"]: run for run in runs_of(welcome)}
    assert by_address["pat1@example.org"].outcome == "sent"
    held = by_address["pat2@example.org"]
    assert held.outcome == "held_back" and held.actions[0]["held_back"] == 1
    assert held.actions[0]["sent"][0]["held_back"].startswith("held back: unsubscribed on ")
    [message] = db.session.scalars(
        db.select(Message).where(Message.recipient_email == "pat2@example.org")
    ).all()
    assert message.state == "suppressed"
    queued = [id_ for job in get_queue(EMAILS).jobs for id_ in job.args[0]]
    assert message.id not in queued and len(queued) == 1


def test_a_batch_that_cannot_be_written_runs_one_at_a_time_and_sends_nothing_twice(welcome):
    """A message an interrupted run wrote already (its dedupe key taken) fails the batch's
    INSERT: each run goes again alone, and the one that sent before sends nothing new."""
    [first, second] = accept(created(1), created(2))
    workflows.process_event(first)  # the first contact's run, then its run row is lost:
    db.session.execute(db.delete(WorkflowRun))
    db.session.execute(db.update(Event).where(Event.id == first).values(state="pending"))
    db.session.commit()
    assert workflows.process_events() == 2
    outcomes = sorted((run.event_id, run.outcome) for run in runs_of(welcome))
    assert outcomes == [(first, "nothing"), (second, "sent")]
    emails = db.session.scalars(db.select(Message.recipient_email)).all()
    assert sorted(emails) == ["pat1@example.org", "pat2@example.org"]


def test_a_run_left_running_by_a_dead_worker_is_finished_without_sending_twice(welcome):
    [event_id] = accept(created(1))
    event = db.session.get(Event, event_id)
    processing.write_one(event)
    db.session.add(
        WorkflowRun(
            workflow_id=welcome.id,
            event_id=event_id,
            cause="event",
            fire_key=f"event:{event_id}",
            module="contact",
            record_id=db.session.get(Event, event_id).record_id,
            outcome="running",
        )
    )
    db.session.commit()
    workflows.process_events()
    [run] = runs_of(welcome)
    assert run.outcome == "sent" and len(run.message_ids) == 1
    assert db.session.get(Event, event_id).state == "done"


def test_a_processor_past_its_budget_queues_itself_for_the_rest(welcome, monkeypatch):
    monkeypatch.setattr(processing, "BATCH", 200)
    accept(*(created(i) for i in range(250)))
    queue = get_queue(WORKFLOWS)
    queue.empty()
    assert processing.process_events(workflows._run_events, budget=0) == 200
    assert [job.func_name for job in queue.jobs] == [PROCESS_EVENTS]
    waiting = db.session.scalar(
        db.select(db.func.count(Event.id)).where(Event.state.in_(("received", "pending")))
    )
    assert waiting == 50
    assert workflows.process_events() == 50


def test_the_source_s_last_event_is_the_newest_processed(demo, post_event):
    from designer.workflows.models import HookSource

    post_event(created(1))
    post_event({"id": "bad", "type": "organisation.updated", "record": {"id": "NEW"}})
    source = db.session.scalar(db.select(HookSource).where(HookSource.name == "crm"))
    assert source.last_event_at is None  # not yet processed
    workflows.process_events()
    db.session.expire_all()
    newest = db.session.scalar(db.select(db.func.max(Event.received_at)))
    assert source.last_event_at == newest  # kept when the batch was written one by one
