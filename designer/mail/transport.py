"""SMTP transport: one reused connection to the outgoing server, with classified outcomes.

The same client talks to a real server and to the local catcher. Outcomes
are sorted for the ledger: 2xx sent, 4xx / network trouble retried later,
5xx failed for that recipient only. Servers entered in the browser are reached
only where ``designer.netguard`` allows; what they answer reaches people as a
short, cleaned reason (``designer.mail.reasons``).

A server with an OAuth2 grant logs in with SASL XOAUTH2 (or OAUTHBEARER when
only that is offered) and an access token from ``designer.mail.oauth``; a
refused login is tried once more with a fresh token, and a grant that cannot
give a token (revoked, provider down) is a temporary failure: the mail waits.
"""

import re
import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from designer.mail import oauth
from designer.mail.reasons import cleaned
from designer.netguard import Guard

DEFAULT_TIMEOUT = 30
#: What may go into MAIL FROM / RCPT TO: no spaces, no controls, one @.
SAFE_ADDRESS = re.compile(r"[^\s@<>\x00-\x1f\x7f]+@[^\s@<>\x00-\x1f\x7f]+")


class TemporaryFailure(Exception):
    """Try again later: a 4xx answer, a dropped connection, a timeout."""


class PermanentFailure(Exception):
    """The server refused this recipient or message for good (5xx)."""


@dataclass(frozen=True)
class ServerSettings:
    """Where and how to connect, parsed from an ``smtp://`` / ``smtps://`` URL."""

    host: str
    port: int
    security: str = "none"
    username: str = ""
    password: str = ""
    timeout: float = DEFAULT_TIMEOUT
    #: Where connections may go; None for the operator's own ``SMTP_URL`` (trusted as is).
    guard: Guard | None = None
    #: ``oauth.Credentials`` to log in with instead of the password.
    oauth: object | None = None

    @classmethod
    def from_url(cls, url):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps:// (got {url!r})")
        query = parse_qs(parts.query)
        security = "tls" if parts.scheme == "smtps" else query.get("security", ["none"])[0]
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if security == "tls" else 25),
            security=security,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            timeout=float(query.get("timeout", [DEFAULT_TIMEOUT])[0]),
        )


class GuardedSMTP(smtplib.SMTP):
    """smtplib's client, its socket connected by the guard (None: smtplib's own way)."""

    def __init__(self, host, port, *, guard, **options):
        self.guard = guard
        super().__init__(host, port, **options)

    def _get_socket(self, host, port, timeout):
        if self.guard is None:
            return super()._get_socket(host, port, timeout)
        return self.guard.connect(host, port, timeout)


class GuardedSMTPSSL(smtplib.SMTP_SSL, GuardedSMTP):
    """Implicit TLS over the guarded socket; the certificate is checked against ``host``."""

    def __init__(self, host, port, *, guard, **options):
        self.guard = guard
        smtplib.SMTP_SSL.__init__(self, host, port, **options)


def _client(s):
    """A connected, greeted client for ``ServerSettings`` ``s``."""
    if s.security == "tls":
        return GuardedSMTPSSL(
            s.host, s.port, guard=s.guard, timeout=s.timeout, context=ssl.create_default_context()
        )
    return GuardedSMTP(s.host, s.port, guard=s.guard, timeout=s.timeout)


def _oauth_login(client, s):
    """AUTH with an access token; a refused one is replaced once and tried again."""
    client.ehlo_or_helo_if_needed()
    offered = set(client.esmtp_features.get("auth", "").upper().split())
    name = oauth.mechanism(offered)
    error_reply = oauth.error_reply(name)
    for fresh in (False, True):
        token = s.oauth.token(fresh=fresh)
        answer = oauth.initial_response(name, s.oauth, token, s.host, s.port)
        try:
            client.auth(name, lambda challenge=None, a=answer: error_reply if challenge else a)
            return
        except smtplib.SMTPAuthenticationError:
            if fresh:
                raise


class SmtpTransport:
    """Sends many messages over one connection, reconnecting when it drops."""

    def __init__(self, settings):
        self.settings = settings
        self.client = None
        #: The server announced 8BITMIME: UTF-8 bodies may go unencoded.
        self.eight_bit = False
        #: The server announced PIPELINING: MAIL, RCPT and DATA go in one write.
        self.pipelining = False
        #: The server announced SMTPUTF8: international addresses may go.
        self.utf8 = False
        #: (from, to) of a transaction ``prepare`` opened, its answers not read yet.
        self.opened = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        s = self.settings
        try:
            client = _client(s)
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.oauth is not None:
                _oauth_login(client, s)
            elif s.username:
                client.login(s.username, s.password)
            client.ehlo_or_helo_if_needed()
            self.eight_bit = client.has_extn("8bitmime")
            self.pipelining = client.has_extn("pipelining")
            self.utf8 = client.has_extn("smtputf8")
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, f"{s.host}:{s.port}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot connect to {s.host}:{s.port}: {exc}") from exc
        except oauth.TokenError as exc:
            client.close()
            raise TemporaryFailure(f"cannot log in to {s.host}:{s.port}: {exc}") from exc
        self.client, self.opened = client, None

    def prepare(self, envelope_from, recipient):
        """Open the next transaction ahead of its message, when the server pipelines.

        MAIL, RCPT and DATA go out now; ``send`` with the same addresses reads
        their answers and sends the message. Nothing is delivered until it does
        (a connection that drops before is a transaction the server discards),
        so the caller may still be recording the message before, meanwhile.
        """
        if self.client is None or self.opened is not None or not self.pipelining:
            return
        try:
            commands = self._commands(envelope_from, recipient)
        except PermanentFailure:
            return  # ``send`` says why
        try:
            self.client.send(commands)
        except (smtplib.SMTPException, OSError):
            self._drop()
            return
        self.opened = (envelope_from, recipient)

    def send(self, envelope_from, recipient, data):
        """Send one message to ``recipient`` (an address, or a tuple of them: the first is
        the one the message is for, the others its copies); return the server's reply to
        DATA, with the copies the server refused named after it. A copy refused does not
        stop the message; the first address refused does."""
        if self.opened is not None and self.opened != (envelope_from, recipient):
            self._drop()  # opened for another message: abandon it, never deliver it
        _check_addresses(envelope_from, *_listed(recipient))
        if self.client is None:
            self.connect()
        try:
            commands = self._commands(envelope_from, recipient)
            return self._transaction(commands, data)
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise TemporaryFailure(f"connection lost: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except OSError as exc:
            self._drop()
            raise TemporaryFailure(f"connection lost: {exc}") from exc

    def _commands(self, envelope_from, recipient):
        """MAIL, RCPT and DATA for one message, as they go on the wire."""
        recipients = _listed(recipient)
        _check_addresses(envelope_from, *recipients)
        options = " BODY=8BITMIME" if self.eight_bit else ""
        if not all(address.isascii() for address in (envelope_from, *recipients)):
            if not self.utf8:
                if self.opened is not None:
                    self._drop()
                raise PermanentFailure(
                    f"the server does not take international addresses (SMTPUTF8): {recipient!r}"
                )
            options += " SMTPUTF8"
        # The addresses passed SAFE_ADDRESS (no spaces, brackets or controls): they go
        # as <address> without smtplib's full RFC 822 parse, which costs more than the rest.
        rcpts = "".join(f"RCPT TO:<{address}>\r\n" for address in recipients)
        return f"MAIL FROM:<{envelope_from}>{options}\r\n{rcpts}DATA\r\n".encode()

    def _transaction(self, commands, data):
        """MAIL, RCPT and DATA (in one write when the server pipelines, RFC 2920, or
        already written by ``prepare``), then the message: CRLF MIME, dot-stuffed."""
        client = self.client
        lines = commands.splitlines(keepends=True)
        copies = len(lines) - 3  # RCPT lines after the first
        expected = ((250,), (250, 251), *((250, 251),) * copies, (354,))
        if self.pipelining:
            if self.opened is None:
                client.send(commands)
            self.opened = None
            replies = [client.getreply() for _ in expected]
        else:
            replies = []
            for index, (command, wanted) in enumerate(zip(lines, expected, strict=True)):
                client.send(command)
                replies.append(client.getreply())
                if replies[-1][0] not in wanted and not _is_copy(index, copies):
                    break
        refused = []
        for index, ((code, reply), wanted) in enumerate(zip(replies, expected, strict=False)):
            if code in wanted:
                continue
            if _is_copy(index, copies) and code != 421:
                address = lines[index].decode()[9:].strip().strip("<>")
                refused.append(f"{address}: {_answer(code, reply)}")
                continue
            if replies[-1][0] == 354:  # DATA taken after all: end it empty
                client.send(b".\r\n")
                client.getreply()
            if code == 421:  # the server is closing the connection
                self.close()
            else:
                self._reset()
            raise _classify(code, reply)
        client.send(_data_block(data))
        code, reply = client.getreply()
        if code != 250:
            if code == 421:
                self.close()
            raise _classify(code, reply)
        answer = _answer(code, reply)
        return f"{answer} (copies not accepted: {'; '.join(refused)})" if refused else answer

    def _reset(self):
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def _drop(self):
        """Hang up without a word (an opened transaction is discarded by the server)."""
        if self.client is not None:
            self.client.close()
        self.client, self.opened = None, None

    def close(self):
        if self.opened is not None:  # in DATA: QUIT would be taken for the message
            self._drop()
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


def _listed(recipient):
    """The envelope recipients of ``send``: one address or a tuple of them."""
    return (recipient,) if isinstance(recipient, str) else tuple(recipient)


def _is_copy(index, copies):
    """Whether command ``index`` (MAIL, RCPT…, DATA) is the RCPT of a copy (not the first)."""
    return 2 <= index < 2 + copies


def _check_addresses(*addresses):
    for address in addresses:
        if not SAFE_ADDRESS.fullmatch(address or ""):
            raise PermanentFailure(f"not a valid e-mail address: {address!r}")


def _data_block(data):
    """The message as it goes after DATA: leading dots doubled, then the ``.`` line.

    Bytes go as they are otherwise (built MIME ends its lines in CRLF), as with
    ``smtplib``; text gets its line breaks made CRLF first.
    """
    if isinstance(data, str):
        data = re.sub(r"\r\n|\n|\r", "\r\n", data).encode("utf-8")
    if data.startswith(b"."):
        data = b"." + data
    if b"\n." in data:  # split and join: a scan in C; smtplib's regex costs 7 times more
        data = b"\n..".join(data.split(b"\n."))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _answer(code, reply):
    """``"250 2.0.0 OK …"``: the code and the server's words, cleaned and short."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return cleaned(f"{code} {text}")


def _classify(code, reply, where="the server"):
    """The failure for an SMTP answer, with the server's words cleaned (never a banner)."""
    if not 200 <= code < 600:  # smtplib's -1: the line was no SMTP reply at all
        return TemporaryFailure(f"{where} did not answer as an SMTP server")
    message = _answer(code, reply)
    return PermanentFailure(message) if 500 <= code < 600 else TemporaryFailure(message)
