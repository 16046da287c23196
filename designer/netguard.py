"""Where connections to hosts that users type in may go: public addresses only.

Mailboxes (IMAP) and outgoing servers (SMTP) are entered in the browser, so a
host there must not become a way to reach what sits next to the product: the
machine itself, its private network or a cloud's metadata service. A ``Guard``
resolves the host once, refuses it when any of its addresses is loopback,
private (RFC 1918, ULA), link-local, shared (carrier-grade NAT), unspecified,
multicast or otherwise reserved, and connects to an address it checked, so
that the name cannot resolve elsewhere in between (DNS rebinding). TLS still
verifies the certificate against the host name: the callers wrap the socket.

Exceptions come from the ``ALLOWED_MAIL_HOSTS`` setting (host names, addresses
and networks, comma-separated), and for SMTP from the local catcher that
``designer serve`` runs on loopback when no ``SMTP_URL`` is set. Outbound
webhooks (URLs admins type in) have the same guard with a setting of their own,
``ALLOWED_WEBHOOK_HOSTS``.
"""

import functools
import ipaddress
import socket
from dataclasses import dataclass

#: Addresses a user's host may never reach unless allowed, by the name people know them by.
NAMED_NETWORKS = (
    ("shared (carrier-grade NAT)", ipaddress.ip_network("100.64.0.0/10")),
    ("private", ipaddress.ip_network("10.0.0.0/8")),
    ("private", ipaddress.ip_network("172.16.0.0/12")),
    ("private", ipaddress.ip_network("192.168.0.0/16")),
    ("private", ipaddress.ip_network("fc00::/7")),
)
#: IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SETTING = "ALLOWED_MAIL_HOSTS"
WEBHOOK_SETTING = "ALLOWED_WEBHOOK_HOSTS"


class AddressRefused(OSError):
    """The host resolves to an address users may not reach; the message says which and why."""


def address_kind(address):
    """What kind of non-public address ``address`` is ("loopback", …), or None when public."""
    address = _embedded_ipv4(ipaddress.ip_address(address))
    for kind, test in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
    ):
        if test:
            return kind
    for kind, network in NAMED_NETWORKS:
        if address.version == network.version and address in network:
            return kind
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def _embedded_ipv4(address):
    """The IPv4 address an IPv4-mapped or NAT64 IPv6 address stands for (else itself)."""
    if address.version == 6:
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@functools.lru_cache(maxsize=32)
def parse_allowed(text, setting=SETTING):
    """``(host names, networks)`` of a comma-separated setting; ``ValueError`` names a bad one."""
    names, networks = set(), []
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if not _looks_like_host_name(entry):
                raise ValueError(
                    f"{setting}: “{entry}” is not a host name, an address or a network"
                ) from None
            names.add(_host_key(entry))
    return frozenset(names), tuple(networks)


def _looks_like_host_name(entry):
    labels = entry.rstrip(".").split(".")
    return all(label and len(label) <= 63 and label.replace("-", "").isalnum() for label in labels)


def _host_key(host):
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class Guard:
    """Resolves, checks and connects; ``connect`` is a drop-in for ``socket.create_connection``."""

    names: frozenset = frozenset()
    networks: tuple = ()
    #: The local SMTP catcher's port: loopback is allowed there (and only there).
    catcher_port: int | None = None
    #: The setting a refusal tells the administrator to change.
    setting: str = SETTING

    def addresses(self, host, port):
        """Every address ``host`` resolves to, all checked; raises ``AddressRefused``."""
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if _host_key(host) in self.names:
            return found
        for *_, sockaddr in found:
            self._check(host, port, sockaddr[0])
        return found

    def _check(self, host, port, address):
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # no IPv6 zone
        kind = address_kind(ip)
        if kind is None or self._listed(ip) or self._listed(_embedded_ipv4(ip)):
            return
        if kind == "loopback" and port == self.catcher_port:
            return
        raise AddressRefused(_refusal(host, address, kind, self.setting))

    def _listed(self, ip):
        return any(ip in network for network in self.networks)

    def connect(self, host, port, timeout=None):
        """A connected TCP socket to a checked address of ``host`` (the first that answers)."""
        error = None
        if not isinstance(timeout, int | float):  # smtplib's "no timeout given" marker
            timeout = socket.getdefaulttimeout()
        for family, socktype, proto, _, sockaddr in self.addresses(host, port):
            sock = socket.socket(family, socktype, proto)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error


def _refusal(host, address, kind, setting=SETTING):
    article = "an" if kind[0] in "aeiou" else "a"
    if _host_key(host) == address:
        return f"{address} is {article} {kind} address; ask an administrator to add it to {setting}"
    return (
        f"{host} resolves to {address}, {article} {kind} address; ask an administrator "
        f"to add {host} to {setting}"
    )


def mail_guard(config, smtp=False):
    """The guard for mailboxes (and, with ``smtp``, outgoing servers) under ``config``."""
    allowed = config.get(SETTING) or ""
    names, networks = parse_allowed(allowed if isinstance(allowed, str) else ",".join(allowed))
    catcher = config["SMTP_CATCHER_PORT"] if smtp and config.get("SMTP_CATCHER") else None
    return Guard(names, networks, catcher)


def webhook_guard(config):
    """The guard for outbound webhook URLs under ``config`` (``ALLOWED_WEBHOOK_HOSTS``)."""
    allowed = config.get(WEBHOOK_SETTING) or ""
    text = allowed if isinstance(allowed, str) else ",".join(allowed)
    names, networks = parse_allowed(text, WEBHOOK_SETTING)
    return Guard(names, networks, setting=WEBHOOK_SETTING)
