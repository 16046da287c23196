"""SMTP transport: one reused connection to the outgoing server, with classified outcomes.

The same client talks to a real server and to the local catcher. Outcomes
are sorted for the ledger: 2xx sent, 4xx / network trouble retried later,
5xx failed for that recipient only.
"""

import re
import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

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


class SmtpTransport:
    """Sends many messages over one connection, reconnecting when it drops."""

    def __init__(self, settings):
        self.settings = settings
        self.client = None
        #: The server announced 8BITMIME: UTF-8 bodies may go unencoded.
        self.eight_bit = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        s = self.settings
        try:
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password)
            client.ehlo_or_helo_if_needed()
            self.eight_bit = client.has_extn("8bitmime")
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot connect to {s.host}:{s.port}: {exc}") from exc
        self.client = client

    def send(self, envelope_from, recipient, data):
        """Send one message to one recipient; return the server's reply to DATA."""
        for address in (envelope_from, recipient):
            if not SAFE_ADDRESS.fullmatch(address or ""):
                raise PermanentFailure(f"not a valid e-mail address: {address!r}")
        if self.client is None:
            self.connect()
        try:
            return self._transaction(envelope_from, recipient, data)
        except smtplib.SMTPServerDisconnected as exc:
            self.client = None
            raise TemporaryFailure(f"connection lost: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except OSError as exc:
            self.client = None
            raise TemporaryFailure(f"connection lost: {exc}") from exc

    def _transaction(self, envelope_from, recipient, data):
        client = self.client
        code, reply = client.mail(envelope_from, ["BODY=8BITMIME"] if self.eight_bit else [])
        if code != 250:
            client.rset()
            raise _classify(code, reply)
        code, reply = client.rcpt(recipient)
        if code not in (250, 251):
            client.rset()
            raise _classify(code, reply)
        code, reply = client.data(data)
        if code != 250:
            raise _classify(code, reply)
        return f"{code} {_text(reply)}"

    def _reset(self):
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self):
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


def _text(reply):
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _classify(code, reply):
    message = f"{code} {_text(reply)}"
    return PermanentFailure(message) if 500 <= code < 600 else TemporaryFailure(message)
