"""POST /hooks/events: signed, stored before answered, each event once, bad input refused."""

import json
import time

import pytest
from support import run_designer
from workflow_support import dutch_invoice_event, signature

from designer import workflows
from designer.extensions import db
from designer.records.models import Contact, Document, Organisation
from designer.workflows.models import Event

#: An intake that hangs (a batch's lead never handed on) fails within a minute.
pytestmark = pytest.mark.timeout(60)


def count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_a_signed_event_is_stored_then_its_records_written_by_the_processor(post_event):
    answer = post_event(dutch_invoice_event())
    assert answer.status_code == 202
    event = db.session.get(Event, answer.json["event"])
    assert (event.source, event.event_id, event.type, event.state) == (
        "crm",
        "evt-1",
        "invoice.created",
        "received",
    )
    assert event.record_id is None and event.record_ref == "INV-2026-0042"
    invoice_query = db.select(Document).where(Document.external_id == "INV-2026-0042")
    assert db.session.scalar(invoice_query) is None  # written by the processor, not the request

    assert workflows.process_events() == 1
    db.session.expire_all()
    assert event.state == "done" and event.error == ""
    invoice = db.session.get(Document, event.record_id)
    assert invoice.number == "2026-0042" and invoice.contact.first_name == "Sanne"
    assert invoice.organisation.external_id == "ORG-77"
    assert invoice.contact.organisation is invoice.organisation
    assert [str(line.net) for line in invoice.lines] == ["1000.00", "20.66"]
    assert invoice.owner.email == "admin@example.com"
    assert workflows.process_events() == 0  # nothing waits any more


def test_an_update_changes_the_record_and_reports_what_changed(post_event):
    before = count(Document), count(Contact), count(Organisation)
    post_event(dutch_invoice_event())
    update = {
        "id": "evt-2",
        "type": "invoice.updated",
        "record": {"id": "INV-2026-0042", "status": "paid"},
    }
    answer = post_event(update)
    assert answer.status_code == 202
    assert workflows.process_events() == 2  # one batch: the create, then the update
    event = db.session.get(Event, answer.json["event"])
    assert event.changes == {"status": {"from": "sent", "to": "paid"}}
    assert db.session.get(Document, event.record_id).status == "paid"
    assert (count(Document), count(Contact), count(Organisation)) == tuple(n + 1 for n in before)


def test_what_only_the_stored_records_can_tell_fails_the_event_alone(post_event):
    """What only the stored records can tell (an owner who is no user, an update of a
    record never sent without what a new one needs) is found when the
    record is written: that event fails with the reason, the others of its batch pass."""
    posted = [
        post_event(dutch_invoice_event()),
        post_event(
            {"id": "evt-2", "type": "organisation.updated", "record": {"id": "NEW", "city": "Ede"}}
        ),
        post_event(
            {
                "id": "evt-3",
                "type": "invoice.updated",
                "record": {"id": "INV-2026-0042", "owner": "nobody@example.com"},
            }
        ),
        post_event({"id": "evt-4", "type": "invoice.updated", "record": {"id": "INV-2026-0042"}}),
    ]
    assert [answer.status_code for answer in posted] == [202] * 4
    assert workflows.process_events() == 4
    found = {
        e.event_id: (e.state, e.error)
        for e in db.session.scalars(db.select(Event).order_by(Event.id))
    }
    assert found["evt-1"] == ("done", "") and found["evt-4"] == ("done", "")
    assert found["evt-2"] == ("failed", "record.name: a new organisation needs a name")
    assert found["evt-3"] == (
        "failed",
        "record.owner: no user with e-mail 'nobody@example.com'",
    )
    invoice = db.session.scalar(db.select(Document).where(Document.external_id == "INV-2026-0042"))
    assert invoice.owner.email == "admin@example.com"  # evt-3 changed nothing


def test_the_same_event_id_runs_once_even_when_signed_again(post_event):
    now = int(time.time())
    first = post_event(dutch_invoice_event(), timestamp=now)
    second = post_event(dutch_invoice_event(), timestamp=now + 1)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json == {
        "status": "duplicate",
        "event": first.json["event"],
        "type": "invoice.created",
    }
    assert count(Event) == 1


def test_a_replayed_request_is_refused(client, post_event, hook_secret):
    body = json.dumps(dutch_invoice_event()).encode()
    now = int(time.time())
    assert post_event(body=body, timestamp=now).status_code == 202
    replay = post_event(body=body, timestamp=now)
    assert replay.status_code == 409
    assert replay.json["error"]["code"] == "replayed"


def test_a_tampered_body_is_refused_and_nothing_is_stored(client, hook_secret):
    documents = count(Document)
    body = json.dumps(dutch_invoice_event()).encode()
    now = int(time.time())
    signed = signature(hook_secret, now, body)
    tampered = body.replace(b"1000.00", b"1.00")
    answer = client.post(
        "/hooks/events",
        data=tampered,
        content_type="application/json",
        headers={"X-Designer-Timestamp": str(now), "X-Designer-Signature": signed},
    )
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "bad_signature"
    assert "tampered" in answer.json["error"]["message"]
    assert count(Event) == 0 and count(Document) == documents


def test_a_stale_or_future_timestamp_is_refused(post_event):
    for skew in (-301, 301):
        answer = post_event(dutch_invoice_event(), timestamp=int(time.time()) + skew)
        assert answer.status_code == 401
        assert answer.json["error"]["code"] == "stale_timestamp"
    assert count(Event) == 0


def test_a_wrong_secret_or_missing_headers_are_refused(client, post_event):
    assert post_event(dutch_invoice_event(), secret="whsec_guess").status_code == 401
    bare = client.post("/hooks/events", json=dutch_invoice_event())
    assert bare.status_code == 401 and bare.json["error"]["code"] == "bad_timestamp"
    unsigned = post_event(dutch_invoice_event(), headers={"X-Designer-Signature": "deadbeef"})
    assert unsigned.status_code == 401
    assert "sha256=" in unsigned.json["error"]["message"]


def test_the_source_header_picks_the_secret(post_event):
    assert (
        post_event(dutch_invoice_event(), headers={"X-Designer-Source": "other"}).status_code == 401
    )
    assert (
        post_event(dutch_invoice_event(), headers={"X-Designer-Source": "crm"}).status_code == 202
    )


def test_bad_events_name_their_field_and_store_nothing(post_event):
    before = count(Contact), count(Document)
    cases = [
        ({"type": "invoice.created", "record": {"id": "1"}}, "id"),
        ({"id": "e", "type": "invoice", "record": {"id": "1"}}, "type"),
        ({"id": "e", "type": "spaceship.created", "record": {"id": "1"}}, "type"),
        ({"id": "e", "type": "invoice.created"}, "record"),
        ({"id": "e", "type": "invoice.created", "record": {"id": "1"}}, "record.number"),
        (
            {
                "id": "e",
                "type": "invoice.created",
                "record": {"id": "1", "number": "7", "due_date": "soon"},
            },
            "record.due_date",
        ),
        (
            {
                "id": "e",
                "type": "contact.created",
                "record": {"id": "1", "email": "not an address"},
            },
            "record.email",
        ),
        (
            {"id": "e", "type": "contact.created", "record": {"id": "1", "language": "klingon"}},
            "record.language",
        ),
        (
            {
                "id": "e",
                "type": "contact.created",
                "record": {"id": "1", "timezone": "Mars/Olympus"},
            },
            "record.timezone",
        ),
        (
            {
                "id": "e",
                "type": "invoice.created",
                "record": {"id": "1", "number": "7", "lines": [{"quantity": "lots"}]},
            },
            "record.lines[0].quantity",
        ),
        (
            {
                "id": "e",
                "type": "contact.created",
                "occurred_at": "yesterday",
                "record": {"id": "1"},
            },
            "occurred_at",
        ),
    ]
    for payload, field in cases:
        answer = post_event(payload)
        assert answer.status_code == 422, (payload, answer.text)
        assert answer.json["error"]["details"]["field"] == field, answer.json
        assert answer.json["error"]["message"].startswith(field)
    assert count(Event) == 0 and (count(Contact), count(Document)) == before


def test_text_the_database_cannot_store_is_refused_naming_where(post_event):
    cases = [
        ({"id": "e\x00", "type": "contact.created", "record": {"id": "1"}}, "id"),
        ({"id": "e", "type": "contact.created", "record": {"id": "\x00"}}, "record.id"),
        (
            {"id": "e", "type": "contact.created", "record": {"id": "1", "tags": ["a", "\ud800"]}},
            "record.tags[1]",
        ),
        ({"id": "e", "type": "contact.created", "record": {"id": "1", "x\x00": 1}}, "record.x\x00"),
    ]
    for payload, field in cases:
        answer = post_event(body=json.dumps(payload).encode())
        assert answer.status_code == 422, answer.text
        assert answer.json["error"]["details"]["field"] == field
    assert count(Event) == 0


def test_nan_and_infinity_are_not_json(post_event):
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"id": "e", "type": "contact.created", "record": {"id": "1", "n": ' + constant
        answer = post_event(body=body + b"}}")
        assert answer.status_code == 400 and answer.json["error"]["code"] == "bad_json"
    assert count(Event) == 0


def test_a_rejected_event_may_be_sent_again_with_the_same_signature(post_event):
    """A 4xx for bad content must not make the corrected retry look like a replay."""
    body = json.dumps({"id": "e", "type": "contact.created", "record": {"id": "1"}}).encode()
    now = int(time.time())
    assert post_event(body=b"{not json", timestamp=now).status_code == 400
    assert post_event(body=body, timestamp=now).status_code == 202


def test_cli_adds_a_source_whose_secret_signs_events(app, client):
    made = run_designer(app, "hooks", "add-source", "vtiger")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("whsec_") and len(secret) > 40
    body = json.dumps(
        {"id": "x1", "type": "organisation.created", "record": {"id": "O1", "name": "Acme"}}
    ).encode()
    now = int(time.time())
    answer = client.post(
        "/hooks/events",
        data=body,
        content_type="application/json",
        headers={
            "X-Designer-Timestamp": str(now),
            "X-Designer-Signature": signature(secret, now, body),
        },
    )
    assert answer.status_code == 202
    assert db.session.get(Event, answer.json["event"]).source == "vtiger"
    workflows.process_events()
    again = run_designer(app, "hooks", "add-source", "vtiger")
    assert again.returncode == 2 and "exists already" in again.stderr
    listed = run_designer(app, "hooks", "list")
    assert "vtiger" in listed.stdout and "last event: 20" in listed.stdout


def test_emit_raises_an_event_in_process(demo):
    event, duplicate = workflows.emit(
        {
            "id": "py-1",
            "type": "contact.created",
            "record": {"id": "P1", "first_name": "Piet", "email": "piet@example.nl"},
        }
    )
    assert not duplicate and event.source == "app" and event.state == "pending"
    assert (
        workflows.emit({"id": "py-1", "type": "contact.created", "record": {"id": "P1"}})[1] is True
    )


def test_record_changes_in_the_app_raise_events(demo):
    record, created = workflows.save_record(
        "contact", {"id": "C9", "first_name": "Els", "email": "els@example.nl"}
    )
    assert created
    workflows.save_record("contact", {"id": "C9", "first_name": "Els"})  # no change
    workflows.save_record("contact", {"id": "C9", "language": "nl"})
    found = db.session.scalars(
        db.select(Event).where(Event.record_id == record.id).order_by(Event.id)
    ).all()
    assert [(e.source, e.type) for e in found] == [
        ("app", "contact.created"),
        ("app", "contact.updated"),
    ]
    assert found[1].changes == {"language": {"from": "", "to": "nl"}}


def test_an_event_whose_job_was_lost_is_queued_again(post_event):
    from datetime import timedelta

    from designer.broker import PROCESS_EVENTS, WORKFLOWS, get_queue

    queue = get_queue(WORKFLOWS)
    event_id = post_event(dutch_invoice_event()).json["event"]
    assert [job.func_name for job in queue.jobs] == [PROCESS_EVENTS]
    post_event(dutch_invoice_event("evt-2", number="2026-0043"))
    assert queue.count == 1  # one processor for both: the flag was set
    queue.empty()  # the job is lost
    assert workflows.requeue_pending_events() == 0  # too early to tell
    assert queue.count == 0
    for event in db.session.scalars(db.select(Event)):
        event.received_at -= timedelta(minutes=3)
    db.session.commit()
    assert workflows.requeue_pending_events() == 2
    assert [job.func_name for job in queue.jobs] == [PROCESS_EVENTS]
    assert workflows.process_events() == 2
    assert db.session.get(Event, event_id).state == "done"
    assert workflows.requeue_pending_events() == 0


def test_a_processor_finding_another_at_work_leaves_the_events_to_it(post_event):
    """One processor at a time: a second job returns at once and the flag stays for the
    first, which looks again before it stops."""
    from designer.broker import get_redis
    from designer.workflows import processing

    post_event(dutch_invoice_event())
    redis = get_redis()
    redis.set(processing.LOCK_KEY, "another", ex=60)
    assert workflows.process_events() == 0
    assert redis.exists(processing.WAKE_KEY)
    assert db.session.scalar(db.select(Event.state)) == "received"
    redis.delete(processing.LOCK_KEY)
    assert workflows.process_events() == 1
    assert not redis.exists(processing.WAKE_KEY)


def test_an_event_racing_another_for_the_same_new_record_is_stored(app, post_event):
    """Another transaction creates the same contact while the processor writes the event's
    record: the processor waits for it, then writes the event again as an update."""
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no such race")
    answer = post_event(
        {"id": "race-1", "type": "contact.created", "record": {"id": "RACE", "last_name": "Second"}}
    )
    other = db.engine.connect()
    other.begin()
    other.execute(Contact.__table__.insert().values(external_id="RACE", first_name="First"))
    processed = []

    def process():
        with app.app_context():
            processed.append(workflows.process_events())

    thread = threading.Thread(target=process)
    thread.start()
    time.sleep(1)  # the processor's INSERT now waits on the other transaction's row
    other.commit()
    other.close()
    thread.join(30)
    assert processed == [1]
    db.session.expire_all()
    [contact] = db.session.scalars(db.select(Contact).where(Contact.external_id == "RACE"))
    assert (contact.first_name, contact.last_name) == ("First", "Second")
    event = db.session.get(Event, answer.json["event"])
    assert (event.state, event.record_id) == ("done", contact.id)


def test_the_fast_path_and_the_view_answer_alike(app, client, hook_secret, monkeypatch):
    """An event with its length is stored in front of Flask; one without (chunked) by the
    view: the same answer, the same security headers; refusals are the view's."""
    import io

    from designer.workflows import hook_fastpath

    taken = []
    accept = hook_fastpath.HookFastPath.accept

    def counting(self, environ, body):
        answer = accept(self, environ, body)
        taken.append(answer is not None)
        return answer

    monkeypatch.setattr(hook_fastpath.HookFastPath, "accept", counting)
    answers = []
    for event_id, chunked in (("fast", False), ("view", True)):
        body = json.dumps(
            {"id": event_id, "type": "contact.created", "record": {"id": event_id}}
        ).encode()
        now = int(time.time())
        headers = {
            "X-Designer-Timestamp": str(now),
            "X-Designer-Signature": signature(hook_secret, now, body),
            "Content-Type": "application/json",
        }
        if chunked:
            answers.append(
                client.post(
                    "/hooks/events",
                    input_stream=io.BytesIO(body),
                    headers={"Transfer-Encoding": "chunked", **headers},
                    environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
                )
            )
        else:
            answers.append(client.post("/hooks/events", data=body, headers=headers))
    assert taken == [True]  # the chunked one never reached the fast path's store
    fast, view = answers
    assert (fast.status_code, view.status_code) == (202, 202)
    assert fast.json["status"] == view.json["status"] == "accepted"
    assert {fast.json["type"], view.json["type"]} == {"contact.created"}
    for name in ("Content-Type", "X-Content-Type-Options", "Referrer-Policy"):
        assert fast.headers[name] == view.headers[name], name
    assert int(fast.headers["Content-Length"]) == len(fast.data)
    assert count(Event) == 2

    refused = client.post("/hooks/events", data=b"{}", headers={"X-Designer-Timestamp": "1"})
    assert taken[-1] is False and refused.status_code == 401
    assert refused.json["error"]["code"] == "stale_timestamp"  # worded by the view
