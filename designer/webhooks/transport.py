"""The HTTP side of a delivery: one guarded POST, read no further than needed.

Endpoint URLs are typed in by administrators, so a delivery must not become a
way to reach what sits next to the product. httpx connects through a network
backend that asks ``designer.netguard`` for a checked address of the host and
connects to that very address (so the name cannot resolve elsewhere in between:
DNS rebinding); TLS still checks the certificate against the host name.
Redirects are not followed, proxies from the environment are not used, every
step has a short timeout, the whole exchange a deadline, and at most
``MAX_RESPONSE_BYTES`` of the answer are read.
"""

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from designer.netguard import AddressRefused, webhook_guard

#: Seconds to connect, and between two reads or writes.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10
#: Seconds for the whole exchange, however slowly the answer trickles in.
DEADLINE = 15
#: Bytes of an answer kept for the log (the rest is not read).
MAX_RESPONSE_BYTES = 4096
USER_AGENT = "Designer-Webhooks/1"


class BadUrl(ValueError):
    """An endpoint URL that may not be used; the message says why."""


@dataclass
class Answer:
    """What an endpoint answered (``status`` None: no answer; ``error`` says why)."""

    status: int | None
    error: str
    excerpt: str = ""

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses the guard checked."""

    def __init__(self, guard):
        self.guard = guard

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            sock = self.guard.connect(host, port, timeout)
        except AddressRefused:
            raise
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SyncStream(sock)


def check_url(url, config):
    """The URL, checked: http or https, a host, no credentials, and an address the guard
    allows (``ALLOWED_WEBHOOK_HOSTS``); ``BadUrl`` says what is wrong."""
    url = (url or "").strip()
    if len(url) > 2000:
        raise BadUrl("a URL is at most 2000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BadUrl(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUrl("the URL must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise BadUrl("the URL may not carry a user name or password")
    if not url.isascii() or any(c.isspace() for c in url):
        raise BadUrl("the URL may contain no spaces and only ASCII (punycode for a domain)")
    try:
        webhook_guard(config).addresses(parts.hostname, port)
    except AddressRefused as exc:
        raise BadUrl(str(exc)) from None
    except OSError:
        raise BadUrl(f"{parts.hostname} does not resolve to an address") from None
    return url


def client(config):
    """An httpx client whose connections go only where the guard allows."""
    transport = httpx.HTTPTransport(retries=0)
    # httpx takes no network backend of its own, so its pool is made with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=10,
        network_backend=GuardedBackend(webhook_guard(config)),
    )
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )


def post(http, url, body, headers):
    """POST ``body`` to ``url``; the ``Answer``, never an exception for network trouble."""
    started = time.monotonic()
    try:
        with http.stream(
            "POST", url, content=body, headers={"User-Agent": USER_AGENT, **headers}
        ) as response:
            excerpt = _read_some(response, started)
    except AddressRefused as exc:
        return Answer(None, f"refused: {exc}")
    except httpx.TimeoutException:
        return Answer(None, "no answer in time (the endpoint is slow or unreachable)")
    except httpx.HTTPError as exc:
        return Answer(None, f"could not connect: {exc or type(exc).__name__}")
    return Answer(response.status_code, _error_for(response), excerpt)


def _read_some(response, started):
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= MAX_RESPONSE_BYTES or time.monotonic() - started > DEADLINE:
            break
    return kept[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")


def _error_for(response):
    status = response.status_code
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        target = response.headers.get("location", "")[:200]
        where = target or "elsewhere"
        return f"answered {status}, a redirect to {where} (redirects are not followed)"
    return f"answered {status} {response.reason_phrase}".rstrip()
