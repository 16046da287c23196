"""Sent copies: every e-mail a user sends is kept in the Sent folder of their own mailbox.

The seed's "mail manager": a user links their mailbox (IMAP) once. Right after
a successful send, delivery calls ``record_copy`` with the exact bytes that
went out; it only writes a pending ``SentCopy`` row and never talks to IMAP.
The periodic ``append_sent_copies`` job then appends each due copy to the
sender's Sent folder (IMAP APPEND, flagged ``\\Seen``, dated when it was sent)
and drops the bytes. A mailbox that is down or refuses the login never fails
or repeats a send: its copies wait and are retried on their own (60 s,
doubling, at most 1 h apart; "failed" after 10 attempts), and their state is
shown on the message. Saving the mailbox settings again makes waiting and
failed copies due at once.

The Sent folder is the configured one, else the folder the server flags
``\\Sent`` (RFC 6154 special use), else "Sent" (created when missing).
Folder names are kept readable here and sent in modified UTF-7 (RFC 3501).

Every connection (a copy, a bounce-mailbox read, a "test" click) goes only
where ``designer.netguard`` allows: a user cannot make the product reach its
own machine or private network. Errors carry the server's words cleaned and
short (``designer.mail.reasons``), never the greeting of whatever answered.
"""

import base64
import imaplib
import logging
import re
import ssl
from contextlib import contextmanager, suppress
from datetime import UTC, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from designer import netguard
from designer.clock import utcnow
from designer.crypto import SecretUnreadable, decrypt, encrypt
from designer.extensions import db
from designer.mail.models import Mailbox, Message, SentCopy
from designer.mail.reasons import cleaned

log = logging.getLogger(__name__)

SECURITY = ("tls", "starttls", "none")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
#: Seconds to wait for the server: appending (worker) and testing (web request).
TIMEOUT = 30
CHECK_TIMEOUT = 15
MAX_ATTEMPTS = 10
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600
#: A claimed copy is not claimed again for this long (its worker may have died).
CLAIM_SECONDS = 600
FALLBACK_FOLDER = "Sent"

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_LIST_LINE = re.compile(r'\((?P<flags>[^)]*)\)\s+(?P<delim>"(?:[^"\\]|\\.)*"|NIL)\s*(?P<name>.*)',
                        re.IGNORECASE)
_NAMESPACE = re.compile(rb'\(\("((?:[^"\\]|\\.)*)"')


class MailboxError(Exception):
    """The mailbox cannot be reached or refused; the message says why (the server's words
    cleaned)."""

    def __init__(self, message, broken=False):
        super().__init__(message)
        #: The connection is unusable afterwards (network or TLS trouble).
        self.broken = broken


class Folder(NamedTuple):
    name: str
    flags: frozenset


# Linking the mailbox --------------------------------------------------------------


def mailbox_for(user):
    """The user's Mailbox, or None."""
    if user is None or user.id is None:
        return None
    return db.session.scalar(select(Mailbox).where(Mailbox.user_id == user.id))


def link_mailbox(user, *, host, port, security, username, password, sent_folder=""):
    """Create or update ``user``'s mailbox; an empty ``password`` keeps the stored one.

    Raises ``ValueError`` (a sentence for the user) when a field is not right.
    Copies still waiting, and those that gave up, become due at once.
    """
    values = _validated(host, port, security, username, sent_folder)
    mailbox = mailbox_for(user)
    if mailbox is None:
        if not password:
            raise ValueError("Enter the password of the mailbox: it is needed to log in.")
        mailbox = Mailbox(user_id=user.id)
        db.session.add(mailbox)
    for name, value in values.items():
        setattr(mailbox, name, value)
    if password:
        mailbox.password_encrypted = encrypt(password)
    db.session.flush()
    _make_due(mailbox)
    db.session.commit()
    return mailbox


def validate_mailbox_fields(host, port, security, username, folder=""):
    """Checked IMAP fields ``{host, port, security, username, sent_folder}``, or ``ValueError``."""
    return _validated(host, port, security, username, folder)


def close(conn):
    """Log out of an IMAP connection, ignoring a connection already gone."""
    _close(conn)


def mailbox_arg(name):
    """A folder name as an IMAP command argument (modified UTF-7, quoted)."""
    return _mailbox_arg(name)


def _validated(host, port, security, username, sent_folder):
    host = (host or "").strip().strip("[]")
    if not _HOST.fullmatch(host):
        raise ValueError(f"“{host}” is not a host name: enter one like imap.example.com.")
    if security not in SECURITY:
        raise ValueError(f"Security must be tls, starttls or none, not “{security}”.")
    port = _port(port, security)
    username = (username or "").strip()
    if not username:
        raise ValueError("Enter the login of the mailbox (often your e-mail address).")
    sent_folder = (sent_folder or "").strip()
    if len(sent_folder) > 255 or any(ord(ch) < 32 for ch in sent_folder):
        raise ValueError("The Sent folder name is too long or has control characters.")
    return {"host": host, "port": port, "security": security, "username": username,
            "sent_folder": sent_folder}


def _port(port, security):
    if port is None or str(port).strip() == "":
        return DEFAULT_PORTS[security]
    try:
        number = int(str(port).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise ValueError(f"The port must be a number from 1 to 65535 (993 for TLS, 143 for "
                         f"STARTTLS), not “{port}”.")
    return number


def _make_due(mailbox):
    """Waiting copies are tried now; copies that gave up start over."""
    db.session.execute(
        update(SentCopy)
        .where(SentCopy.mailbox_id == mailbox.id, SentCopy.raw.is_not(None),
               SentCopy.state.in_(("pending", "failed")))
        .values(attempts=case((SentCopy.state == "failed", 0), else_=SentCopy.attempts),
                state="pending", next_attempt_at=None),
        execution_options={"synchronize_session": False},
    )


def unlink_mailbox(user):
    """Forget ``user``'s mailbox and its copies (waiting ones are dropped); False if none."""
    mailbox = mailbox_for(user)
    if mailbox is None:
        return False
    db.session.execute(delete(SentCopy).where(SentCopy.mailbox_id == mailbox.id),
                       execution_options={"synchronize_session": False})
    db.session.delete(mailbox)
    db.session.commit()
    return True


# Talking to the server ------------------------------------------------------------


def connect(mailbox, timeout=TIMEOUT):
    """An IMAP connection to ``mailbox``, logged in; raises ``MailboxError`` saying why not."""
    try:
        password = decrypt(mailbox.password_encrypted)
    except SecretUnreadable as exc:
        raise MailboxError(f"the stored mailbox password cannot be read: {exc}") from exc
    where = f"{mailbox.host}:{mailbox.port}"
    with _explained(f"cannot connect to {where}"):
        conn = _open(mailbox, timeout)
    try:
        with _explained(f"{where} refused the login of {mailbox.username}"):
            _log_in(conn, mailbox.username, password)
    except MailboxError:
        _close(conn)
        raise
    return conn


class GuardedIMAP4(imaplib.IMAP4):
    """imaplib's client, its socket connected by the guard."""

    def __init__(self, host, port, *, guard, timeout):
        self.guard = guard
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return self.guard.connect(self.host, self.port, timeout)


class GuardedIMAP4SSL(imaplib.IMAP4_SSL):
    """Implicit TLS over the guarded socket; the certificate is checked against ``host``."""

    def __init__(self, host, port, *, guard, timeout):
        self.guard = guard
        super().__init__(host, port, ssl_context=_tls(), timeout=timeout)

    def _create_socket(self, timeout):
        sock = self.guard.connect(self.host, self.port, timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _greeted(mailbox, timeout):
    """A connection that got an IMAP greeting; anything else is said in our words only."""
    guard = netguard.mail_guard(current_app.config)
    kind = GuardedIMAP4SSL if mailbox.security == "tls" else GuardedIMAP4
    try:
        return kind(mailbox.host, mailbox.port, guard=guard, timeout=timeout)
    except (imaplib.IMAP4.error, UnicodeError) as exc:  # another service's banner
        raise ConnectionError("the server did not answer as an IMAP server") from exc


def _open(mailbox, timeout):
    conn = _greeted(mailbox, timeout)
    if mailbox.security == "starttls":
        try:
            conn.starttls(ssl_context=_tls())
        except BaseException:
            _close(conn)
            raise
    return conn


def _tls():
    """Certificates are verified against the system's trusted authorities."""
    return ssl.create_default_context()


def _log_in(conn, username, password):
    if f"{username}{password}".isascii():
        conn.login(_quoted(username), password)
    else:  # LOGIN is ASCII only; SASL PLAIN carries UTF-8
        conn.authenticate("PLAIN", lambda _: f"\0{username}\0{password}".encode())


def _close(conn):
    if conn is not None:
        with suppress(imaplib.IMAP4.error, OSError):
            conn.logout()


@contextmanager
def _explained(action):
    """Turn what imaplib, sockets and TLS raise into one ``MailboxError``."""
    try:
        yield
    except imaplib.IMAP4.abort as exc:
        raise MailboxError(f"{action}: the connection broke ({_text(exc)})", True) from exc
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"{action}: {_text(exc)}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(f"{action}: the server's certificate is not trusted "
                           f"({exc.verify_message})", True) from exc
    except TimeoutError as exc:
        raise MailboxError(f"{action}: no answer in time ({exc})", True) from exc
    except UnicodeError as exc:  # imaplib reads some answers as ASCII only
        raise MailboxError(f"{action}: the server did not answer as an IMAP server", True) from exc
    except OSError as exc:
        raise MailboxError(f"{action}: {exc.strerror or exc}", True) from exc


def _text(exc):
    return cleaned(exc.args[0] if exc.args else "")


def _decoded(answer):
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return str(answer).strip()


def _ok(typ, data, action):
    if typ != "OK":
        raise MailboxError(f"{action}: {typ} {cleaned(data[-1] if data else '')}".rstrip())


# The Sent folder --------------------------------------------------------------------


def find_sent_folder(conn, configured=""):
    """The folder copies go to: ``configured``, else the one flagged \\Sent, else "Sent"."""
    if configured:
        return configured
    with _explained("cannot find the Sent folder"):
        folders = _list(conn, '""', '"*"')
        flagged = _flagged_sent(folders) or _flagged_sent(_list_special_use(conn))
        if flagged:
            return flagged
        fallback = _personal_prefix(conn) + FALLBACK_FOLDER
        for folder in folders:
            if folder.name.lower() == fallback.lower():
                return folder.name
        _ok(*conn.create(_mailbox_arg(fallback)), f"cannot create the folder “{fallback}”")
        return fallback


def _flagged_sent(folders):
    return next((folder.name for folder in folders if "\\sent" in folder.flags), None)


def _list(conn, directory, pattern):
    typ, data = conn.list(directory, pattern)
    _ok(typ, data, "cannot list the folders")
    return _parse_list(data)


def _list_special_use(conn):
    """``LIST (SPECIAL-USE)`` (RFC 6154); nothing when the server does not know it."""
    try:
        typ, _ = conn.xatom("LIST", "(SPECIAL-USE)", '""', '"*"')
    except imaplib.IMAP4.error:  # BAD: an unknown extension
        return []
    _, data = conn.response("LIST")
    return _parse_list(data) if typ == "OK" else []


def _parse_list(data):
    folders = []
    for item in data:
        if isinstance(item, tuple):  # the name came as a literal
            line, name = _decoded(item[0]), _decoded(item[1])
        elif item:
            line, name = _decoded(item), None
        else:
            continue
        match = _LIST_LINE.fullmatch(line)
        if match:
            name = name if name is not None else _unquoted(match["name"])
            flags = frozenset(flag.lower() for flag in match["flags"].split())
            folders.append(Folder(_from_imap_utf7(name), flags))
    return folders


def _personal_prefix(conn):
    """The personal namespace prefix ("INBOX." on some servers), else ""."""
    try:
        typ, data = conn.namespace()
    except imaplib.IMAP4.error:
        return ""
    match = _NAMESPACE.match(data[0] or b"") if typ == "OK" and data else None
    return _unquoted(f'"{match[1].decode("utf-8", "replace")}"') if match else ""


def _quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquoted(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _mailbox_arg(name):
    return _quoted(_to_imap_utf7(name))


def _to_imap_utf7(name):
    """Modified UTF-7 (RFC 3501 5.1.3): ASCII stays, "&" is "&-", the rest base64 of UTF-16."""
    out, pending = [], []
    for char in [*name, None]:
        if char is not None and not 0x20 <= ord(char) <= 0x7E:
            pending.append(char)
            continue
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + encoded.decode().replace("/", ",") + "-")
            pending = []
        if char is not None:
            out.append("&-" if char == "&" else char)
    return "".join(out)


def _from_imap_utf7(name):
    def decode(match):
        if not match[1]:
            return "&"
        chunk = match[1].replace(",", "/")
        return base64.b64decode(chunk + "=" * (-len(chunk) % 4)).decode("utf-16-be", "replace")

    return re.sub(r"&([A-Za-z0-9+,]*)-", decode, name)


def check_mailbox(mailbox):
    """Log in and find the Sent folder: a sentence for the user, or ``MailboxError``."""
    conn = connect(mailbox, timeout=CHECK_TIMEOUT)
    try:
        folder = find_sent_folder(conn, mailbox.sent_folder)
        with _explained(f"cannot look for the folder “{folder}”"):
            exists = bool(_list(conn, '""', _mailbox_arg(folder)))
    finally:
        _close(conn)
    if exists:
        return f"Connected; copies go to the folder “{folder}”."
    return f"Connected; copies go to the folder “{folder}”, created with the first copy."


# Copies -------------------------------------------------------------------------------


def record_copy(message, raw_bytes):
    """Keep the bytes just sent for the sender's mailbox; None when the sender has none.

    Never talks to IMAP and never raises: a problem here must not touch the send.
    """
    message_id = message.id
    try:
        mailbox = mailbox_for(message.sender)
        if mailbox is None or not raw_bytes:
            return None
        existing = db.session.scalar(select(SentCopy).where(SentCopy.message_id == message_id))
        if existing is not None:
            return existing
        copy = SentCopy(message_id=message_id, mailbox_id=mailbox.id, raw=bytes(raw_bytes),
                        state="pending")
        db.session.add(copy)
        db.session.commit()
        return copy
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("cannot keep the sent copy of message %s", message_id)
        return None


def retry_delay(attempts):
    """Seconds before the next try after ``attempts`` failed ones: 60, 120, … at most 3600."""
    return min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)


def append_copy(copy_id, connections=None):
    """Append one pending, due copy to its Sent folder; return its state afterwards.

    ``connections`` (from ``append_due_copies``) shares one login per mailbox.
    """
    if not _claim(copy_id):
        copy = db.session.get(SentCopy, copy_id, populate_existing=True)
        if copy is None:
            raise LookupError(f"no sent copy with id {copy_id}")
        return copy.state
    copy = db.session.get(SentCopy, copy_id, populate_existing=True)
    own = connections is None
    connections = connections or _Connections()
    try:
        folder = _append(copy, connections)
    except MailboxError as exc:
        _record_failure(copy, exc)
    else:
        _record_success(copy, folder)
    finally:
        if own:
            connections.close()
    return copy.state


def _due(now):
    return or_(SentCopy.next_attempt_at.is_(None), SentCopy.next_attempt_at <= now)


def _claim(copy_id):
    """Atomically take a pending, due copy (counting the attempt); False if not ours."""
    now = utcnow()
    result = db.session.execute(
        update(SentCopy)
        .where(SentCopy.id == copy_id, SentCopy.state == "pending", _due(now))
        .values(attempts=SentCopy.attempts + 1,
                next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount == 1


def _append(copy, connections):
    mailbox = db.session.get(Mailbox, copy.mailbox_id)
    message = db.session.get(Message, copy.message_id)
    conn, folder = connections.get(mailbox)
    try:
        with _explained(f"cannot store the copy in “{folder}”"):
            if not (_tried_before(copy) and _already_there(conn, folder, message.message_id)):
                _append_bytes(conn, folder, copy.raw, _sent_time(message, copy))
    except MailboxError as exc:
        if exc.broken:
            connections.forget(mailbox, exc)
        raise
    return folder


def _tried_before(copy):
    """An earlier try may have stored the copy before its answer was lost."""
    return copy.attempts > 1 or bool(copy.last_error)


def _already_there(conn, folder, message_id):
    if not message_id:
        return False
    typ, _ = conn.select(_mailbox_arg(folder), readonly=True)
    if typ != "OK":
        return False
    try:
        typ, data = conn.search(None, "HEADER", "Message-ID", _quoted(message_id))
        return typ == "OK" and bool(data and data[0] and data[0].split())
    finally:
        conn.close()


def _append_bytes(conn, folder, raw, when):
    action = f"the server did not store the copy in “{folder}”"
    typ, data = conn.append(_mailbox_arg(folder), r"(\Seen)", when, raw)
    if typ == "NO" and b"[TRYCREATE]" in (data[-1] or b"").upper():
        _ok(*conn.create(_mailbox_arg(folder)), f"cannot create the folder “{folder}”")
        typ, data = conn.append(_mailbox_arg(folder), r"(\Seen)", when, raw)
    _ok(typ, data, action)


def _sent_time(message, copy):
    return (message.sent_at or copy.created_at or utcnow()).replace(tzinfo=UTC)


def _record_success(copy, folder):
    copy.state = "done"
    copy.folder = folder
    copy.appended_at = utcnow()
    copy.raw = None
    copy.last_error = ""
    copy.next_attempt_at = None
    db.session.commit()


def _record_failure(copy, error):
    copy.last_error = str(error)[:2000]
    if copy.attempts >= MAX_ATTEMPTS:
        copy.state = "failed"
        copy.next_attempt_at = None
    else:
        copy.next_attempt_at = utcnow() + timedelta(seconds=retry_delay(copy.attempts))
    db.session.commit()
    log.info("sent copy %s not stored (attempt %s): %s", copy.id, copy.attempts, error)


class _Connections:
    """One login per mailbox during a run; a mailbox that failed is not tried again in it."""

    def __init__(self):
        self.opened = {}  # mailbox id -> (connection, Sent folder)
        self.failed = {}  # mailbox id -> MailboxError

    def get(self, mailbox):
        if mailbox.id in self.failed:
            raise self.failed[mailbox.id]
        if mailbox.id not in self.opened:
            try:
                self.opened[mailbox.id] = _connect_with_folder(mailbox)
            except MailboxError as exc:
                self.failed[mailbox.id] = exc
                raise
        return self.opened[mailbox.id]

    def forget(self, mailbox, error):
        conn, _ = self.opened.pop(mailbox.id, (None, None))
        _close(conn)
        self.failed[mailbox.id] = error

    def close(self):
        for conn, _ in self.opened.values():
            _close(conn)
        self.opened.clear()


def _connect_with_folder(mailbox):
    conn = connect(mailbox)
    try:
        return conn, find_sent_folder(conn, mailbox.sent_folder)
    except MailboxError:
        _close(conn)
        raise


def append_due_copies(limit=200):
    """Append every pending copy that is due (at most ``limit``); return how many were stored."""
    query = (select(SentCopy.id).where(SentCopy.state == "pending", _due(utcnow()))
             .order_by(SentCopy.id).limit(limit))
    ids = list(db.session.scalars(query))
    connections = _Connections()
    stored = 0
    try:
        for copy_id in ids:
            with suppress(LookupError):  # its mailbox was removed meanwhile
                stored += append_copy(copy_id, connections) == "done"
    finally:
        connections.close()
    return stored


# Reading the state ------------------------------------------------------------------


def copy_state(message):
    """The sent copy of ``message`` (a Message or its id) for pages and the API, or None."""
    message_id = getattr(message, "id", message)
    copy = db.session.scalar(select(SentCopy).where(SentCopy.message_id == message_id))
    if copy is None:
        return None
    return {
        "state": copy.state,
        "attempts": copy.attempts,
        "last_error": copy.last_error,
        "folder": copy.folder,
        "appended_at": _iso(copy.appended_at),
        "next_attempt_at": _iso(copy.next_attempt_at) if copy.state == "pending" else None,
    }


def mailbox_status(mailbox):
    """How the copies of ``mailbox`` are doing: counts by state and the latest problem."""
    counts = dict(db.session.execute(
        select(SentCopy.state, func.count()).where(SentCopy.mailbox_id == mailbox.id)
        .group_by(SentCopy.state)).all())
    problem = db.session.scalar(
        select(SentCopy.last_error)
        .where(SentCopy.mailbox_id == mailbox.id, SentCopy.state != "done",
               SentCopy.last_error != "")
        .order_by(SentCopy.id.desc()).limit(1))
    return {"pending": counts.get("pending", 0), "done": counts.get("done", 0),
            "failed": counts.get("failed", 0), "last_error": problem or ""}


def _iso(value):
    return value.isoformat() + "Z" if value else None
