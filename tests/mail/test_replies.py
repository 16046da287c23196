"""Replies read from the sender's own INBOX: a real Dovecot, mail sent through a real SMTP
server, replies APPENDed to the INBOX as a mail server would deliver them."""

import imaplib
import time

import pytest

from designer.extensions import db
from designer.mail import bounces, replies
from designer.mail.mailbox import link_mailbox, unlink_mailbox
from designer.mail.models import Reply
from workers import jobs


def reply_bytes(
    in_reply_to="",
    references="",
    subject="Re: Welcome",
    body="Thanks, see you!",
    extra="",
    content_type="text/plain; charset=utf-8",
    message_id="<r1@devries.example>",
):
    headers = [
        "From: Jan de Vries <jan@devries.example>",
        "To: Ada Admin <ada@example.com>",
        f"Subject: {subject}",
        "Date: Thu, 03 Dec 2026 10:00:00 +0000",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    if extra:
        headers.append(extra)
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def deliver(imap, raw, flags="()"):
    with imap.session("ada") as conn:
        typ, data = conn.append("INBOX", flags, imaplib.Time2Internaldate(time.time()), raw)
        assert typ == "OK", data


def inbox_flags(imap):
    return [flags for flags, _ in imap.messages("ada", "INBOX")]


def stored():
    return db.session.scalars(db.select(Reply).order_by(Reply.uid)).all()


def test_replies_are_stored_once_auto_replies_marked_and_read_state_kept(sent_message, imap):
    ours = sent_message.message_id
    deliver(
        imap,
        reply_bytes(
            in_reply_to=ours, body="Thanks, see you!\r\n\r\nOn Monday Ada wrote:\r\n> Hello Jan"
        ),
    )
    deliver(
        imap,
        reply_bytes(
            in_reply_to=ours,
            subject="Automatic reply: Welcome",
            extra="Auto-Submitted: auto-replied",
            message_id="<r2@x>",
        ),
        r"(\Seen)",
    )
    deliver(imap, reply_bytes(in_reply_to="<not-ours@elsewhere.example>", message_id="<r3@x>"))
    deliver(
        imap,
        reply_bytes(
            references=f"<older@x> {ours} <other@x>",
            subject="Re: Welcome",
            extra="Precedence: bulk",
            message_id="<r4@x>",
        ),
    )
    before = inbox_flags(imap)

    found = replies.read_all()

    assert found["mailboxes"] == 1 and found["replies"] == 3 and found["errors"] == 0
    first, auto, bulk = stored()
    assert first.message_id == sent_message.id and not first.auto
    assert first.sender_email == "jan@devries.example" and first.sender_name == "Jan de Vries"
    assert first.excerpt == "Thanks, see you!"  # the quoted message left out
    assert first.header_message_id == "<r1@devries.example>" and first.subject == "Re: Welcome"
    assert auto.auto and bulk.auto
    assert first.open_link == "message:%3Cr1@devries.example%3E"
    db.session.refresh(sent_message)
    assert sent_message.replied_at == first.received_at
    assert inbox_flags(imap) == before  # \Seen neither added nor removed
    assert len(imap.messages("ada", "INBOX")) == 4  # nothing moved or deleted

    assert replies.read_all()["replies"] == 0  # read again: nothing new, nothing twice
    deliver(imap, reply_bytes(in_reply_to=ours, message_id="<r5@x>", body="One more thing"))
    assert replies.read_all()["replies"] == 1
    assert [r.excerpt for r in stored()][-1] == "One more thing"

    # Read from the start again (the cursor lost): the unique key still stores nothing twice.
    from designer.mail.models import Mailbox

    box = db.session.scalar(db.select(Mailbox))
    box.inbox_last_uid = 0
    db.session.commit()
    assert replies.read_all()["replies"] == 0
    assert len(stored()) == 4


def test_html_replies_become_text_without_scripts_or_remote_content(sent_message, imap):
    html = (
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
        "<p>Yes <b>please</b> <img src='https://tracker.example/p.gif'>"
        "<a href='javascript:alert(1)'>call me</a></p><script>steal()</script></body></html>"
    )
    deliver(
        imap,
        reply_bytes(
            in_reply_to=sent_message.message_id, body=html, content_type="text/html; charset=utf-8"
        ),
    )
    replies.read_all()
    [reply] = stored()
    assert "Yes please" in reply.excerpt and "call me" in reply.excerpt
    for unwanted in ("alert", "steal", "<", "tracker.example", "color"):
        assert unwanted not in reply.excerpt


def test_bad_and_huge_input_does_not_stop_the_reading(sent_message, imap):
    ours = sent_message.message_id
    nested = "multipart/mixed; boundary=b0"
    body = "".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n" for i in range(300)
    )
    body += "--b300\r\nContent-Type: text/plain\r\n\r\ndeep\r\n"
    deliver(imap, reply_bytes(in_reply_to=ours, body=body, content_type=nested, message_id="<n@x>"))
    huge = "A" * 3_000_000
    deliver(imap, reply_bytes(in_reply_to=ours, body=huge, message_id="<h@x>"))
    odd = reply_bytes(
        in_reply_to=ours,
        content_type="text/plain; charset=x-unknown-42",
        subject="=?x-bogus?q?=FF=FE?= Re",
        message_id="<o@x>",
    )
    deliver(imap, odd.replace(b"Thanks, see you!", b"caf\xe9 \xff\xfe \x00 ok"))
    dsn = (
        "From: MAILER-DAEMON@devries.example\r\nTo: ada@example.com\r\nSubject: Undelivered\r\n"
        f"In-Reply-To: {ours}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=z\r\n\r\n"
        "--z\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--z\r\n"
        "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        "Final-Recipient: rfc822; jan@devries.example\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n--z--\r\n"
    )
    deliver(imap, dsn.encode())

    started = time.monotonic()
    found = replies.read_all()
    assert time.monotonic() - started < 10
    assert found["replies"] == 3  # the delivery report is left to the bounce code
    nested_reply, huge_reply, odd_reply = stored()
    assert len(huge_reply.excerpt) == replies.EXCERPT_CHARS
    assert "\x00" not in odd_reply.excerpt and "ok" in odd_reply.excerpt
    assert nested_reply.excerpt == ""  # too deep to look into, stored all the same


def test_a_reply_to_the_verp_address_is_matched(sent_message, imap):
    verp = bounces.verp_address("bounces@designer.example", sent_message.id)
    raw = reply_bytes(message_id="<v@x>").replace(
        b"To: Ada Admin <ada@example.com>", f"To: {verp}".encode()
    )
    deliver(imap, raw)
    forged = (
        bounces.verp_address("bounces@designer.example", sent_message.id)[:-22]
        + "0" * 16
        + "@designer.example"
    )
    deliver(
        imap,
        reply_bytes(message_id="<f@x>").replace(
            b"To: Ada Admin <ada@example.com>", f"To: {forged}".encode()
        ),
    )
    assert replies.read_all()["replies"] == 1
    assert stored()[0].message_id == sent_message.id


def test_the_job_reads_replies_and_a_refused_login_is_kept(sent_message, imap, people):
    from designer.mail.models import Mailbox
    from designer.records import User

    admin_id, message_id = people.admin.id, sent_message.id
    deliver(imap, reply_bytes(in_reply_to=sent_message.message_id))
    result = jobs.read_replies()
    assert result["replies"] == 1 and result["errors"] == 0
    assert result["events"] == 1  # the contact's "replied" event for the workflows

    admin = db.session.get(User, admin_id)
    link_mailbox(
        admin, host=imap.host, port=imap.port, security="none", username="ada", password="wrong"
    )
    assert jobs.read_replies()["errors"] == 1
    assert "AUTHENTICATIONFAILED" in db.session.scalar(db.select(Mailbox)).replies_error

    assert unlink_mailbox(db.session.get(User, admin_id))
    [kept] = stored()
    assert kept.mailbox_id is None and kept.message_id == message_id


def test_a_reply_shows_on_the_message_contact_and_organisation_pages_and_in_the_api(
    sent_message, imap, client, people
):
    from support import log_in

    from designer.auth.tokens import create_token

    ours = sent_message.message_id
    body = "Sounds good <script>alert(1)</script>"
    deliver(imap, reply_bytes(in_reply_to=ours, body=body, subject="Re: Welcome, Jan!"))
    replies.read_all()
    token = create_token(people.admin, "tests")[1]
    message_id, jan_id, org_id = sent_message.id, people.jan.id, people.org.id
    log_in(client, "ada@example.com", "secret")

    page = client.get(f"/messages/{message_id}").get_data(as_text=True)
    assert "Jan de Vries" in page and "Re: Welcome, Jan!" in page
    assert "Sounds good &lt;script&gt;alert(1)&lt;/script&gt;" in page  # text, escaped
    assert 'href="message:%3Cr1@devries.example%3E"' in page
    for path in (f"/contacts/{jan_id}", f"/organisations/{org_id}"):
        shown = client.get(path).get_data(as_text=True)
        assert "Sounds good" in shown and 'class="replied"><time' in shown

    api = client.application.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    [reply] = api.get(f"/api/v1/messages/{message_id}/replies").get_json()
    assert reply["sender_email"] == "jan@devries.example" and reply["auto"] is False
    assert reply["reply_message_id"] == "<r1@devries.example>"
    assert api.get(f"/api/v1/messages/{message_id}").get_json()["replied_at"]
    assert api.get("/api/v1/messages/999999/replies").status_code == 404
    spec = api.get("/api/openapi.json").get_json()
    assert "/api/v1/messages/{message_id}/replies" in spec["paths"]


def test_the_campaign_report_counts_each_replying_recipient_once(sent_message, imap):
    from designer.tracking import reports

    sent_message.campaign_id = 4242
    db.session.commit()
    ours = sent_message.message_id
    deliver(imap, reply_bytes(in_reply_to=ours))
    deliver(imap, reply_bytes(in_reply_to=ours, message_id="<again@x>"))
    deliver(imap, reply_bytes(in_reply_to=ours, message_id="<ooo@x>", subject="Out of office"))
    assert replies.read_all()["replies"] == 3

    figures = reports.campaign_figures(4242)
    assert figures["replied"] == 1 and figures["reply_rate"] == 100.0
    assert reports.list_figures([4242])[4242]["replied"] == 1
    assert "replied_at" in reports.outcomes_csv(4242).splitlines()[0]


def test_only_auto_replies_count_as_no_reply(sent_message, imap):
    from designer.tracking import reports

    sent_message.campaign_id = 4243
    db.session.commit()
    deliver(imap, reply_bytes(in_reply_to=sent_message.message_id, extra="X-Autoreply: yes"))
    replies.read_all()
    db.session.refresh(sent_message)
    assert sent_message.replied_at is None
    assert reports.campaign_figures(4243)["replied"] == 0


def test_a_reply_starts_a_replied_workflow_whose_condition_holds(
    sent_message, imap, welcome, people
):
    from designer import workflows
    from designer.workflows import InvalidWorkflow
    from designer.workflows.models import Event

    definition = {
        "name": "Thank the replier",
        "enabled": True,
        "module": "contact",
        "trigger": {"type": "replied", "template_id": welcome.id},
        "conditions": {"items": [{"field": "activity.replied", "op": "eq", "value": "any"}]},
        "actions": [{"type": "send_email", "template_id": welcome.id}],
    }
    flow = workflows.save_workflow(definition)
    assert flow.trigger == {"type": "replied", "template_id": welcome.id}
    with pytest.raises(InvalidWorkflow) as refused:
        workflows.save_workflow({**definition, "trigger": {"type": "replied", "template_id": 99}})
    assert refused.value.field == "trigger.template_id"
    with pytest.raises(InvalidWorkflow) as refused:
        workflows.save_workflow(
            {**definition, "conditions": {"items": [{"field": "activity.replied", "op": "gt"}]}}
        )
    assert refused.value.field == "conditions.items[0].op"

    test_run = workflows.test_workflow(flow, "contact", people.jan)
    assert test_run["matched"] is False  # not replied yet
    deliver(imap, reply_bytes(in_reply_to=sent_message.message_id))
    deliver(
        imap,
        reply_bytes(
            in_reply_to=sent_message.message_id,
            message_id="<a@x>",
            extra="Auto-Submitted: auto-replied",
        ),
    )
    found = replies.read_all()
    assert workflows.reply_events(found["new"]) == 1  # the auto-reply raises no event
    assert workflows.reply_events(found["new"]) == 0  # once per reply
    [event] = db.session.scalars(db.select(Event).where(Event.action == "replied")).all()
    assert event.type == "contact.replied" and event.record_id == people.jan.id

    [run] = workflows.process_event(event.id)
    assert run.workflow_id == flow.id
    assert run.outcome == "sent" and len(run.message_ids) == 1


def test_the_editor_offers_the_replied_trigger_and_condition(admin_client, welcome):
    from werkzeug.datastructures import MultiDict

    from designer.workflows import forms, rules

    page = admin_client.get("/workflows/new?module=contact").get_data(as_text=True)
    assert 'value="replied"' in page and 'name="replied_template_id"' in page
    assert 'value="activity.replied"' in page
    posted = MultiDict(
        {
            "name": "Replied",
            "module": "contact",
            "trigger_type": "replied",
            "replied_template_id": str(welcome.id),
            "cond-0-field": "activity.replied",
            "cond-0-op": "ne",
            "cond-0-value": "",
            "action-0-template_id": str(welcome.id),
        }
    )
    checked = rules.validate(forms.definition(posted))
    assert checked["trigger"] == {"type": "replied", "template_id": welcome.id}
    assert checked["conditions"]["items"] == [
        {"field": "activity.replied", "op": "ne", "value": "any"}
    ]


def test_a_reply_in_two_users_mailboxes_is_stored_once(sent_message, imap):
    from designer.records import User

    bob = User(name="Bob", email="bob@example.com", role="marketer", language="en")
    db.session.add(bob)
    db.session.commit()
    link_mailbox(
        bob,
        host=imap.host,
        port=imap.port,
        security="none",
        username="bob",
        password=imap.users["bob"],
    )
    raw = reply_bytes(in_reply_to=sent_message.message_id)
    deliver(imap, raw)
    with imap.session("bob") as conn:
        conn.append("INBOX", "()", imaplib.Time2Internaldate(time.time()), raw)

    found = replies.read_all()
    assert found["mailboxes"] == 2 and found["replies"] == 1
    assert len(stored()) == 1
