"""New mail noticed as it arrives: IMAP IDLE on the real Dovecot, the watchers of the
linked mailboxes, and the leading scheduler queueing a read of the mailbox at once."""

import imaplib
import threading
import time

import pytest
from rq import Queue
from support import BannerServer, log_in, wait_for
from test_replies import deliver, reply_bytes, stored

from designer.broker import PERIODIC, READ_MAILBOX_REPLIES, get_redis
from designer.extensions import db
from designer.mail import idle, replies
from designer.mail import imap as imap_client
from designer.mail.mailbox import link_mailbox, mailbox_for, unlink_mailbox
from designer.records import User
from workers import jobs


def test_idle_waits_for_new_mail_and_leaves_the_connection_usable(sent_message, imap, people):
    conn = imap_client.connect(mailbox_for(people.admin))
    try:
        assert "IDLE" in imap_client.capabilities(conn)
        imap_client.examine(conn, "INBOX")

        started = time.monotonic()
        assert imap_client.idle(conn, 0.5) is False  # nothing came
        assert 0.4 < time.monotonic() - started < 3

        reply = reply_bytes(in_reply_to=sent_message.message_id)
        threading.Timer(0.3, deliver, (imap, reply)).start()
        started = time.monotonic()
        assert imap_client.idle(conn, 30) is True
        assert time.monotonic() - started < 5  # at once, not at the end of the 30 s

        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        assert imap_client.idle(conn, 30, stop, tick=0.1) is False
        assert time.monotonic() - started < 3

        # The connection goes on as before: the next command gets its own answer (one mail;
        # its UID depends on what earlier tests delivered to this INBOX).
        assert len(imap_client.uids_after(conn, 0)) == 1
        assert imap_client.examine(conn, "INBOX") > 0
    finally:
        imap_client.close(conn)


def imap_server(answer_idle):
    """An IMAP server on loopback that answers IDLE with ``answer_idle(tag)``."""

    def answer(line):
        tag = line.split(b" ", 1)[0]
        if line.upper().startswith(tag + b" CAPABILITY"):
            return b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag + b" OK done\r\n"
        if line.upper().startswith(tag + b" IDLE"):
            return answer_idle(tag)
        return None

    return BannerServer(b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n", answer)


@pytest.mark.parametrize(
    "first", [b"+ idling\r\n", b"", b"+ idling\r\n* OK noise\r\n" * 3000], ids=str
)
def test_a_server_that_never_stops_talking_is_cut_off(first):
    server = imap_server(lambda tag: first + b"* 1 EXISTS\r\n* OK still here\r\n" * 20_000)
    conn = imaplib.IMAP4("127.0.0.1", server.port, timeout=5)
    try:
        started = time.monotonic()
        with pytest.raises(imap_client.MailboxError, match="more while waiting"):
            imap_client.idle(conn, 30)
        assert time.monotonic() - started < 5
    finally:
        conn.shutdown()
        server.close()


def test_a_refused_idle_is_said(app):
    server = imap_server(lambda tag: b"* 3 EXISTS\r\n" + tag + b" BAD IDLE\x1b[31m not here\r\n")
    conn = imaplib.IMAP4("127.0.0.1", server.port, timeout=5)
    try:
        with pytest.raises(imap_client.MailboxError, match="refused IDLE: BAD IDLE not here"):
            imap_client.idle(conn, 30)
    finally:
        conn.shutdown()
        server.close()


def test_a_watcher_reports_new_mail_and_stops_with_its_mailbox(app, sent_message, imap, people):
    mailbox_id = mailbox_for(people.admin).id
    announced = []
    watchers = idle.Watchers(app, notify=lambda i: announced.append((i, time.monotonic())), gap=2)
    try:
        watchers.sync(every=0)
        assert wait_for(lambda: watchers.states() == {mailbox_id: "idle"}, timeout=10)
        assert idle.state_of(mailbox_id) == "idle"  # for My mailbox

        deliver(imap, reply_bytes(in_reply_to=sent_message.message_id))
        assert wait_for(lambda: len(announced) == 1, timeout=5), announced
        assert announced[0][0] == mailbox_id
        # A burst of mail is announced once per gap, however many mails it holds.
        for number in range(5):
            deliver(imap, reply_bytes(message_id=f"<burst{number}@x>"))
        assert wait_for(lambda: len(announced) == 2, timeout=6), announced
        time.sleep(1)
        assert len(announced) == 2, announced
        assert announced[1][1] - announced[0][1] >= 2

        [(_, watcher)] = watchers.watching.values()
        watchers.sync(every=0)  # nothing changed: the same thread goes on
        assert watchers.watching[mailbox_id][1] is watcher

        assert unlink_mailbox(people.admin)
        db.session.commit()
        watchers.sync(every=0)
        assert watchers.watching == {}
        watcher.join(5)
        assert not watcher.is_alive()
    finally:
        watchers.stop_all()


def test_a_watcher_retries_a_mailbox_it_cannot_log_in_to(app, sent_message, imap, people):
    mailbox = mailbox_for(people.admin)
    mailbox.username = "nobody"
    db.session.commit()
    watchers = idle.Watchers(app, notify=lambda mailbox_id: None)
    try:
        watchers.sync(every=0)
        assert wait_for(lambda: watchers.states() == {mailbox.id: "retrying"}, timeout=10)
        [(_, watcher)] = watchers.watching.values()
        assert watcher.is_alive()  # it tries again later; the minute's polling reads meanwhile
    finally:
        watchers.stop_all()
    assert not watcher.is_alive()  # a stop wakes it from its wait


def test_a_server_without_idle_is_left_to_the_minutes_polling(app, people, dovecot_without_idle):
    server = dovecot_without_idle
    link_mailbox(
        people.admin,
        host=server.host,
        port=server.port,
        security="none",
        username="ada",
        password=server.users["ada"],
    )
    mailbox_id = mailbox_for(people.admin).id
    watchers = idle.Watchers(app, notify=lambda mailbox_id: None)
    try:
        watchers.sync(every=0)
        assert wait_for(lambda: watchers.states() == {mailbox_id: "polling"}, timeout=10)
        [(_, watcher)] = watchers.watching.values()
        watcher.join(5)
        assert not watcher.is_alive()  # no connection held open, no retrying
        assert idle.state_of(mailbox_id) == "polling"
        watchers.sync(every=0)
        assert watchers.watching[mailbox_id][1] is watcher  # not started again
    finally:
        watchers.stop_all()
    assert replies.read_all()["mailboxes"] == 1  # read all the same, every minute


def test_the_leading_scheduler_queues_a_read_as_soon_as_mail_arrives(
    app, sent_message, imap, people, designer_process
):
    mailbox_id, message_id = mailbox_for(people.admin).id, sent_message.id
    scheduler = designer_process("scheduler")
    assert wait_for(lambda: idle.state_of(mailbox_id) == "idle", timeout=30), (
        scheduler.log.read_text()[-2000:]
    )

    deliver(imap, reply_bytes(in_reply_to=sent_message.message_id))
    queue = Queue(PERIODIC, connection=get_redis())

    def queued_reads():
        return [job for job in queue.get_jobs() if job.func_name == READ_MAILBOX_REPLIES]

    assert wait_for(queued_reads, timeout=5), [job.func_name for job in queue.get_jobs()]
    [job] = queued_reads()
    assert job.args == (mailbox_id,)

    found = jobs.read_mailbox_replies(*job.args)
    assert found["replies"] == 1 and found["errors"] == 0
    assert [reply.message_id for reply in stored()] == [message_id]


def test_my_mailbox_says_how_replies_are_read(app, client, sent_message, people):
    mailbox_id = mailbox_for(people.admin).id
    log_in(client, "ada@example.com", "secret")

    def said():
        return " ".join(client.get("/settings/mailbox").text.split())

    assert "INBOX every minute (read-only" in said()  # no scheduler has said more
    get_redis().set(idle.STATE_KEY.format(mailbox_id), "idle")
    assert "INBOX as they arrive (your mail server tells Designer of new mail" in said()
    get_redis().set(idle.STATE_KEY.format(mailbox_id), "polling")
    assert "every minute (your mail server does not offer IMAP IDLE" in said()


def test_the_job_reads_one_mailbox_and_nothing_once_it_is_unlinked(sent_message, imap, people):
    mailbox_id, admin_id = mailbox_for(people.admin).id, people.admin.id
    deliver(imap, reply_bytes(in_reply_to=sent_message.message_id))
    assert jobs.read_mailbox_replies(mailbox_id)["replies"] == 1
    assert jobs.read_mailbox_replies(mailbox_id)["replies"] == 0  # read once
    assert unlink_mailbox(db.session.get(User, admin_id))
    db.session.commit()
    assert jobs.read_mailbox_replies(mailbox_id) == {
        "mailboxes": 0,
        "replies": 0,
        "errors": 0,
        "events": 0,
    }
