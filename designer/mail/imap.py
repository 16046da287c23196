"""The IMAP client: connect and log in, find the Sent folder, look for and append a message.

Used for the copies kept in users' own mailboxes (``designer.mail.sentcopy``)
and for reading the bounce mailbox (``designer.mail.bounces``). Every
connection goes only where ``designer.netguard`` allows: a user cannot make
the product reach its own machine or private network. Errors are one
``MailboxError`` carrying the server's words cleaned and short
(``designer.mail.reasons``), never the greeting of whatever answered.

The Sent folder is the configured one, else the folder the server flags
``\\Sent`` (RFC 6154 special use), else "Sent" (created when missing).
Folder names are kept readable here and sent in modified UTF-7 (RFC 3501).

A mailbox with an OAuth2 grant logs in with SASL XOAUTH2 (OAUTHBEARER when
only that is offered) and an access token from ``designer.mail.oauth``; a
refused token is replaced once and tried again.

``idle`` waits in IMAP IDLE (RFC 2177) for new mail in the open folder; imaplib
has no IDLE before Python 3.14, so it speaks the command itself over imaplib's
public ``send`` and ``readline``, under a tag of its own.
"""

import base64
import imaplib
import re
import select
import ssl
import time
from contextlib import contextmanager, suppress
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext

from designer import netguard
from designer.crypto import SecretUnreadable, decrypt
from designer.mail import oauth
from designer.mail.reasons import cleaned

SECURITY = ("tls", "starttls", "none")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
#: Seconds to wait for the server in a worker (a web request waits less: ``mailbox``).
TIMEOUT = 30
FALLBACK_FOLDER = "Sent"

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_LIST_LINE = re.compile(
    r'\((?P<flags>[^)]*)\)\s+(?P<delim>"(?:[^"\\]|\\.)*"|NIL)\s*(?P<name>.*)', re.IGNORECASE
)
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


# Settings ---------------------------------------------------------------------------


def validate_mailbox_fields(host, port, security, username, folder=""):
    """Checked IMAP fields ``{host, port, security, username, sent_folder}``, or ``ValueError``
    (a sentence for the user)."""
    host = (host or "").strip().strip("[]")
    if not _HOST.fullmatch(host):
        raise ValueError(
            gettext("“%(host)s” is not a host name: enter one like imap.example.com.", host=host)
        )
    if security not in SECURITY:
        raise ValueError(
            gettext(
                "Security must be tls, starttls or none, not “%(security)s”.", security=security
            )
        )
    port = _port(port, security)
    username = (username or "").strip()
    if not username:
        raise ValueError(gettext("Enter the login of the mailbox (often your e-mail address)."))
    folder = (folder or "").strip()
    if len(folder) > 255 or any(ord(ch) < 32 for ch in folder):
        raise ValueError(gettext("The Sent folder name is too long or has control characters."))
    return {
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "sent_folder": folder,
    }


def _port(port, security):
    if port is None or str(port).strip() == "":
        return DEFAULT_PORTS[security]
    try:
        number = int(str(port).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise ValueError(
            gettext(
                "The port must be a number from 1 to 65535 (993 for TLS, 143 for "
                "STARTTLS), not “%(port)s”.",
                port=port,
            )
        )
    return number


# Talking to the server ------------------------------------------------------------


def connect(mailbox, timeout=TIMEOUT):
    """An IMAP connection to ``mailbox``, logged in; raises ``MailboxError`` saying why not.

    The one way to open a linked mailbox: a password, or its OAuth2 grant.
    """
    credentials = oauth.credentials_of(mailbox)
    password = None
    if credentials is None:
        try:
            password = decrypt(mailbox.password_encrypted)
        except SecretUnreadable as exc:
            raise MailboxError(f"the stored mailbox password cannot be read: {exc}") from exc
    where = f"{mailbox.host}:{mailbox.port}"
    with explained(f"cannot connect to {where}"):
        conn = _open(mailbox, timeout)
    try:
        if credentials is not None:
            _oauth_log_in(conn, credentials, mailbox, where)
        else:
            with explained(f"{where} refused the login of {mailbox.username}"):
                _log_in(conn, mailbox.username, password)
    except MailboxError:
        close(conn)
        raise
    return conn


def _oauth_log_in(conn, credentials, mailbox, where):
    """AUTHENTICATE with an access token; a refused one is replaced once and tried again."""
    offered = {c[5:] for c in conn.capabilities if c.startswith("AUTH=")}
    name = oauth.mechanism(offered)
    error_reply = oauth.error_reply(name).encode()
    for fresh in (False, True):
        try:
            token = credentials.token(fresh=fresh)
        except oauth.TokenError as exc:
            raise MailboxError(f"cannot log in to {where}: {exc}") from exc
        answer = oauth.initial_response(name, credentials, token, mailbox.host, mailbox.port)
        try:
            with explained(f"{where} refused the login of {credentials.account}"):
                conn.authenticate(
                    name, lambda challenge, a=answer: error_reply if challenge else a.encode()
                )
            return
        except MailboxError as exc:
            if fresh or exc.broken:
                raise


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
            close(conn)
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


def close(conn):
    """Log out of an IMAP connection, ignoring a connection already gone."""
    if conn is not None:
        with suppress(imaplib.IMAP4.error, OSError):
            conn.logout()


@contextmanager
def explained(action):
    """Turn what imaplib, sockets and TLS raise into one ``MailboxError``."""
    try:
        yield
    except imaplib.IMAP4.abort as exc:
        raise MailboxError(f"{action}: the connection broke ({_text(exc)})", True) from exc
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"{action}: {_text(exc)}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(
            f"{action}: the server's certificate is not trusted ({exc.verify_message})", True
        ) from exc
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
    with explained("cannot find the Sent folder"):
        folders = _list(conn, '""', '"*"')
        flagged = _flagged_sent(folders) or _flagged_sent(_list_special_use(conn))
        if flagged:
            return flagged
        fallback = _personal_prefix(conn) + FALLBACK_FOLDER
        for folder in folders:
            if folder.name.lower() == fallback.lower():
                return folder.name
        _ok(*conn.create(mailbox_arg(fallback)), f"cannot create the folder “{fallback}”")
        return fallback


def folder_exists(conn, folder):
    """Whether the server has a folder called ``folder``."""
    with explained(f"cannot look for the folder “{folder}”"):
        return bool(_list(conn, '""', mailbox_arg(folder)))


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


def mailbox_arg(name):
    """A folder name as an IMAP command argument (modified UTF-7, quoted)."""
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


# Messages ---------------------------------------------------------------------------


def has_message(conn, folder, message_id):
    """Whether ``folder`` holds a message with this Message-ID header."""
    if not message_id:
        return False
    typ, _ = conn.select(mailbox_arg(folder), readonly=True)
    if typ != "OK":
        return False
    try:
        typ, data = conn.search(None, "HEADER", "Message-ID", _quoted(message_id))
        return typ == "OK" and bool(data and data[0] and data[0].split())
    finally:
        conn.close()


def append_message(conn, folder, raw, when):
    """Store ``raw`` in ``folder`` as seen, dated ``when`` (the folder is created when the
    server asks for it)."""
    action = f"the server did not store the copy in “{folder}”"
    typ, data = conn.append(mailbox_arg(folder), r"(\Seen)", when, raw)
    if typ == "NO" and b"[TRYCREATE]" in (data[-1] or b"").upper():
        _ok(*conn.create(mailbox_arg(folder)), f"cannot create the folder “{folder}”")
        typ, data = conn.append(mailbox_arg(folder), r"(\Seen)", when, raw)
    _ok(typ, data, action)


# Reading a folder without changing it ---------------------------------------------

_FETCH_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)


def examine(conn, folder="INBOX"):
    """Open ``folder`` read-only (EXAMINE: no flag changes) and return its UIDVALIDITY."""
    with explained(f"cannot open the folder “{folder}”"):
        typ, data = conn.select(mailbox_arg(folder), readonly=True)
        _ok(typ, data, f"cannot open the folder “{folder}”")
        _, values = conn.response("UIDVALIDITY")
    try:
        return int(values[0])
    except (TypeError, ValueError, IndexError):
        raise MailboxError(f"the folder “{folder}” has no UIDVALIDITY") from None


def uids_after(conn, last_uid, since=None):
    """UIDs above ``last_uid`` in the open folder, ascending; ``since`` (a date) when the
    folder is read for the first time, so an old mailbox is not read from its start."""
    criteria = ["UID", f"{int(last_uid) + 1}:*"]
    if since is not None:
        criteria += ["SINCE", since.strftime("%d-%b-%Y")]
    with explained("cannot search the folder"):
        typ, data = conn.uid("SEARCH", None, *criteria)
        _ok(typ, data, "cannot search the folder")
    # "n:*" always matches the last message, even when it is below n (RFC 3501 6.4.8)
    return sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > last_uid)


def fetch_parts(conn, uids, item):
    """``{uid: bytes}`` of the fetch ``item`` (say ``BODY.PEEK[]<0.262144>``) of ``uids``;
    the flags of the messages stay as they were (PEEK, and a folder opened by ``examine``)."""
    if not uids:
        return {}
    with explained("cannot read the messages"):
        typ, data = conn.uid("FETCH", ",".join(str(uid) for uid in uids), f"(UID {item})")
        _ok(typ, data, "cannot read the messages")
    found = {}
    for part in data:
        if isinstance(part, tuple) and len(part) == 2:
            uid = _FETCH_UID.search(part[0] or b"")
            if uid:
                found[int(uid[1])] = part[1] or b""
    return found


# Waiting for new mail (IDLE, RFC 2177) ----------------------------------------------

IDLE_TAG = b"DSGN1"
#: Lines a server may send in one IDLE (a few per new or changed mail); one that never
#: stops talking is cut off rather than read for ever.
MAX_IDLE_LINES = 2000
_NEW_MAIL = re.compile(rb"^\* \d+ EXISTS\b", re.IGNORECASE)


def capabilities(conn):
    """The server's capabilities once logged in (they may differ from its greeting's)."""
    with explained("cannot ask the server what it offers"):
        typ, data = conn.capability()
        _ok(typ, data, "cannot ask the server what it offers")
    return frozenset(_decoded(data[-1]).upper().split())


def idle(conn, seconds, stop=None, tick=1.0):
    """Wait in IDLE on the folder open on ``conn`` until new mail arrives (True), or
    ``seconds`` pass or the event ``stop`` is set (False); the connection stays usable.

    ``stop`` is looked at every ``tick`` seconds. ``MailboxError`` when the server
    refuses IDLE or the connection breaks.
    """
    lines = _Lines(conn)
    with explained("waiting for new mail failed"):
        conn.send(IDLE_TAG + b" IDLE\r\n")
        arrived = _until_continuation(lines)
        deadline = time.monotonic() + seconds
        while not arrived and not (stop is not None and stop.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if _readable(conn, min(tick, left)):
                arrived = bool(_NEW_MAIL.match(lines.next()))
        conn.send(b"DONE\r\n")
        return _until_done(lines) or arrived


class _Lines:
    """The server's lines during one IDLE, at most ``MAX_IDLE_LINES`` of them."""

    def __init__(self, conn):
        self.conn, self.left = conn, MAX_IDLE_LINES

    def next(self):
        self.left -= 1
        if self.left < 0:
            raise MailboxError("the server sent more while waiting than any mailbox would", True)
        line = self.conn.readline()
        if not line:
            raise imaplib.IMAP4.abort("the server closed the connection")
        return line.rstrip(b"\r\n")


def _until_continuation(lines):
    """Read up to the server's "+" (IDLE accepted); True if new mail was announced first."""
    arrived = False
    while not (line := lines.next()).startswith(b"+"):
        if line.startswith(IDLE_TAG + b" "):
            raise MailboxError(f"the server refused IDLE: {cleaned(line[len(IDLE_TAG) :])}")
        arrived = arrived or bool(_NEW_MAIL.match(line))
    return arrived


def _until_done(lines):
    """Read up to IDLE's tagged answer after DONE; True if new mail was announced meanwhile."""
    arrived = False
    while not (line := lines.next()).startswith(IDLE_TAG + b" "):
        arrived = arrived or bool(_NEW_MAIL.match(line))
    if not line[len(IDLE_TAG) :].strip().upper().startswith(b"OK"):
        raise MailboxError(f"IDLE ended badly: {cleaned(line[len(IDLE_TAG) :])}")
    return arrived


def _readable(conn, seconds):
    """Whether a line has begun to arrive within ``seconds``: bytes imaplib already holds,
    or new ones on the socket (a TLS record that is not data counts as nothing)."""
    sock, timeout = conn.sock, conn.sock.gettimeout()
    deadline = time.monotonic() + seconds
    try:
        while True:
            sock.settimeout(0.0)
            try:
                if conn.file.peek(1):  # buffered, or what one read that cannot wait gets
                    return True
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                return False
    finally:
        sock.settimeout(timeout)
