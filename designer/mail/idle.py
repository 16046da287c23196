"""New mail noticed as it arrives: IMAP IDLE on each linked mailbox whose server offers it.

The leading scheduler (``workers.scheduler``) keeps a ``Watchers``: one thread per
linked mailbox (My mailbox, ``designer.mail.mailbox``), which logs in through
``imap.connect`` like every other reader, opens the INBOX read-only and waits in
IDLE (``imap.idle``). When the server announces new mail, the thread calls
``notify(mailbox_id)``, which queues reading that mailbox for replies at once.

A server that does not offer IDLE is left to the minute's polling
(``replies.read_all``, which reads every mailbox whatever its server offers);
so is a mailbox that cannot be reached, tried again after ``RETRY_SECONDS``.
IDLE is ended and begun again every ``IDLE_SECONDS`` (RFC 2177 asks for less
than 29 minutes). A mailbox whose settings change gets a new thread; one that
is unlinked loses its thread; a scheduler that stops leading stops them all,
so one scheduler of several watches each mailbox.

Each watcher's state ("idle", "polling", "retrying") is written to Redis for
three times ``SYNC_SECONDS``, so My mailbox can say how replies are read (``state_of``).
"""

import logging
import threading
import time

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from designer import broker
from designer.extensions import db
from designer.mail import imap
from designer.mail.models import Mailbox

#: Longest one IDLE lasts before it is ended and begun again (RFC 2177: under 29 minutes).
IDLE_SECONDS = 25 * 60
#: After a mailbox could not be watched, wait this long before trying again.
RETRY_SECONDS = 60
#: How often the leading scheduler looks at the linked mailboxes again.
SYNC_SECONDS = 30
#: After announcing new mail, a watcher waits this long before it listens again: a burst
#: of mail (or a server that never stops announcing) is read by one job, not one per mail.
NOTIFY_GAP_SECONDS = 5
STATE_KEY = "designer:idle:{}"
log = logging.getLogger(__name__)


class Watcher(threading.Thread):
    """Waits in IDLE on one mailbox's INBOX and calls ``notify(mailbox_id)`` on new mail."""

    def __init__(self, app, mailbox_id, notify, gap=NOTIFY_GAP_SECONDS):
        super().__init__(name=f"idle-mailbox-{mailbox_id}", daemon=True)
        self.app, self.mailbox_id, self.notify, self.gap = app, mailbox_id, notify, gap
        self.stopping = threading.Event()
        self.state = "starting"

    def run(self):
        while not self.stopping.is_set():
            try:
                if not self._watch():
                    self._set_state("polling")  # no IDLE here: the minute's polling reads it
                    return
            except imap.MailboxError as exc:
                log.info("mailbox %s not watched for new mail: %s", self.mailbox_id, exc)
            except Exception:  # never let one mailbox end the watching for good
                log.exception("watching mailbox %s for new mail failed", self.mailbox_id)
            if not self.stopping.is_set():
                self._set_state("retrying")
            self.stopping.wait(RETRY_SECONDS)

    def stop(self):
        self.stopping.set()

    def _watch(self):
        """Wait in IDLE until stopped; False when the server does not offer IDLE."""
        conn = self._connect()
        if conn is None:
            return True
        try:
            if "IDLE" not in imap.capabilities(conn):
                return False
            imap.examine(conn, "INBOX")
            self._set_state("idle")
            while not self.stopping.is_set():
                if imap.idle(conn, IDLE_SECONDS, self.stopping):
                    self._notify()
                    self.stopping.wait(self.gap)
        finally:
            imap.close(conn)
        return True

    def _connect(self):
        """A logged-in connection, or None (and stopped) when the mailbox is gone."""
        with self.app.app_context():
            try:
                mailbox = db.session.get(Mailbox, self.mailbox_id)
                if mailbox is None:
                    self.stop()
                    return None
                return imap.connect(mailbox)
            finally:
                db.session.remove()

    def _set_state(self, state):
        """Say how this mailbox is read now, here and (for My mailbox) in Redis."""
        self.state = state
        with self.app.app_context():
            publish_states({self.mailbox_id: state})

    def _notify(self):
        with self.app.app_context():
            try:
                self.notify(self.mailbox_id)
            except (RedisError, OSError) as exc:  # the minute's polling reads it instead
                log.warning("new mail in mailbox %s not queued: %s", self.mailbox_id, exc)


def queue_reading(mailbox_id):
    """Queue reading ``mailbox_id`` for replies now: what a watcher does on new mail."""
    broker.enqueue(broker.PERIODIC, broker.READ_MAILBOX_REPLIES, mailbox_id)


class Watchers:
    """The watcher threads of the linked mailboxes, kept in step by ``sync``."""

    def __init__(self, app, notify=queue_reading, gap=NOTIFY_GAP_SECONDS):
        self.app, self.notify, self.gap = app, notify, gap
        self.watching = {}  # mailbox id -> (its settings when started, Watcher)
        self.synced_at = None

    def sync(self, every=SYNC_SECONDS):
        """Start a watcher for each new or changed mailbox, stop those of the unlinked and
        changed ones; at most once per ``every`` seconds. Needs the app context."""
        if self.synced_at is not None and time.monotonic() - self.synced_at < every:
            return
        self.synced_at = time.monotonic()
        try:
            wanted = _linked_mailboxes()
        except SQLAlchemyError as exc:
            log.warning("linked mailboxes not looked at: %s", exc)
            return
        for mailbox_id in [i for i, (key, _) in self.watching.items() if wanted.get(i) != key]:
            self._stop(mailbox_id)
        for mailbox_id, key in wanted.items():
            if mailbox_id not in self.watching:
                watcher = Watcher(self.app, mailbox_id, self.notify, self.gap)
                self.watching[mailbox_id] = (key, watcher)
                watcher.start()
        publish_states(self.states())

    def stop_all(self, wait=2.0):
        """Stop every watcher (a scheduler that no longer leads, or stops)."""
        stopped = [self._stop(mailbox_id) for mailbox_id in list(self.watching)]
        self.synced_at = None
        deadline = time.monotonic() + wait
        for watcher in stopped:
            watcher.join(max(0.0, deadline - time.monotonic()))

    def states(self):
        """``{mailbox id: state}`` of the watchers."""
        return {mailbox_id: watcher.state for mailbox_id, (_, watcher) in self.watching.items()}

    def _stop(self, mailbox_id):
        _, watcher = self.watching.pop(mailbox_id)
        watcher.stop()
        return watcher


def _linked_mailboxes():
    """``{id: settings}`` of every linked mailbox; changed settings mean a new login."""
    query = db.select(
        Mailbox.id,
        Mailbox.host,
        Mailbox.port,
        Mailbox.security,
        Mailbox.username,
        Mailbox.password_encrypted,
    )
    with db.engine.connect() as connection:  # its own: the caller's session is left alone
        return {row[0]: tuple(row[1:]) for row in connection.execute(query)}


def publish_states(states):
    """Write ``{mailbox id: state}`` for ``state_of``, for three sync periods."""
    try:
        pipe = broker.get_redis().pipeline()
        for mailbox_id, state in states.items():
            pipe.set(STATE_KEY.format(mailbox_id), state, ex=SYNC_SECONDS * 3)
        pipe.execute()
    except RedisError as exc:
        log.warning("watcher states not written: %s", exc)


def state_of(mailbox_id):
    """How new mail of ``mailbox_id`` is noticed: "idle", "polling", "retrying", or None
    when no scheduler has said (none running, or not yet)."""
    try:
        value = broker.get_redis().get(STATE_KEY.format(mailbox_id))
    except RedisError:
        return None
    return value.decode() if value else None
