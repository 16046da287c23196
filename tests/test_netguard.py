"""The address guard: hosts users type in reach public addresses only, unless allowed."""

import socket
import time

import pytest
from support import free_port

from designer import create_app, netguard
from designer.netguard import AddressRefused, Guard, address_kind, mail_guard


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("100.127.255.254", "shared (carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of 169.254.169.254
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_address_kinds(address, kind):
    assert address_kind(address) == kind


@pytest.fixture
def listener(banner_server):
    return banner_server()


def connections(server):
    """The connections ``server`` took (a connected socket is accepted well within 0.1 s)."""
    time.sleep(0.1)
    return server.connections


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fc00::1",
    ],
)
def test_refused_before_any_connection(host):
    with pytest.raises(
        AddressRefused,
        match=rf"^{host} is an? .* address; ask an administrator "
        r"to add it to ALLOWED_MAIL_HOSTS$",
    ):
        Guard().connect(host, 993, timeout=1)


def test_a_name_resolving_to_loopback_is_refused_and_nothing_connects(listener):
    with pytest.raises(AddressRefused) as refused:
        Guard().connect("localhost", listener.port, timeout=1)
    assert str(refused.value) == (
        "localhost resolves to 127.0.0.1, a loopback address; ask an administrator to add "
        "localhost to ALLOWED_MAIL_HOSTS"
    )
    assert connections(listener) == 0


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.0/8", "127.0.0.1"),
        ("10.0.0.0/8, 127.0.0.1", "localhost"),
        ("LOCALHOST.", "localhost"),
        (["localhost"], "localhost"),
    ],
)
def test_allowed_hosts_connect(listener, allowed, host):
    guard = mail_guard({"ALLOWED_MAIL_HOSTS": allowed, "SMTP_CATCHER_PORT": 8025})
    guard.connect(host, listener.port, timeout=1).close()
    assert connections(listener) == 1


def test_connects_to_the_address_it_checked(listener, monkeypatch):
    """One resolution per connection: the name cannot point elsewhere after the check."""
    lookups = []
    real = socket.getaddrinfo

    def counted(*args, **kwargs):
        lookups.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    guard = mail_guard({"ALLOWED_MAIL_HOSTS": "127.0.0.1", "SMTP_CATCHER_PORT": 8025})
    guard.connect("localhost", listener.port, timeout=1).close()
    assert lookups == ["localhost"] and connections(listener) == 1


def test_the_catcher_port_on_loopback_only_for_smtp_and_only_with_the_catcher(listener):
    config = {"ALLOWED_MAIL_HOSTS": "", "SMTP_CATCHER": True, "SMTP_CATCHER_PORT": listener.port}
    mail_guard(config, smtp=True).connect("127.0.0.1", listener.port, timeout=1).close()
    assert connections(listener) == 1
    with pytest.raises(AddressRefused):
        mail_guard(config, smtp=True).connect("127.0.0.1", free_port(), timeout=1)
    with pytest.raises(AddressRefused):
        mail_guard(config).connect("127.0.0.1", listener.port, timeout=1)  # IMAP
    with pytest.raises(AddressRefused):
        mail_guard(dict(config, SMTP_CATCHER=False), smtp=True).connect(
            "127.0.0.1", listener.port, timeout=1
        )
    with pytest.raises(AddressRefused):
        mail_guard(config, smtp=True).connect("10.0.0.1", listener.port, timeout=1)
    assert connections(listener) == 1  # the first, allowed one only


def test_a_bad_entry_stops_the_start_and_is_named(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"ALLOWED_MAIL_HOSTS: “10\.0\.0\.0/33” is not"):
        netguard.parse_allowed("mail.example.com, 10.0.0.0/33")
    monkeypatch.setenv("ALLOWED_MAIL_HOSTS", "imap.example.com, *.internal")
    with pytest.raises(ValueError, match=r"“\*\.internal” is not a host name"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    monkeypatch.setenv("ALLOWED_MAIL_HOSTS", "imap.example.com, 10.0.5.0/24, [fd00::1]")
    config = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}).config
    names, networks = netguard.parse_allowed(config["ALLOWED_MAIL_HOSTS"])
    assert names == {"imap.example.com"} and [str(n) for n in networks] == [
        "10.0.5.0/24",
        "fd00::1/128",
    ]
