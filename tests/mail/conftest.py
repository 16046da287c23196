"""A real Dovecot IMAP server on loopback, for the copies of sent mail.

``dovecot`` starts ``/usr/sbin/dovecot -F`` once per run from a config written
into a private temporary folder: plain IMAP and IMAPS on free ports of
127.0.0.1, STARTTLS on the plain port, a self-signed certificate for
127.0.0.1/localhost, a passwd-file with two users and maildir storage.

* ``ada`` has her Sent folder called "Sent Items", flagged ``\\Sent``
  (RFC 6154 special use), so detection is what finds it;
* ``bob`` has no special-use folders at all (a second, plain ``inbox``
  namespace is switched on for him through userdb fields).

Run as root (a developer's container), Dovecot uses its packaged
``dovecot``/``dovenull`` users and the mail is owned by ``nobody``; run as
anyone else (CI), every Dovecot process runs as that user, without chroot.
``imap`` gives each test empty mailboxes and reads messages back.
"""

import contextlib
import datetime
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import free_port, wait_for

DOVECOT = "/usr/sbin/dovecot"
USERS = {"ada": "ada-imap-pass", "bob": "bob-imap-pass"}
#: Userdb fields that give bob the namespace without special-use folders.
PLAIN_NAMESPACE = "userdb_namespace/inbox/disabled=yes userdb_namespace/plain/disabled=no"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = designer-test-{port}
protocols = imap
listen = 127.0.0.1
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
{identity}
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = 1

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
{chroot}}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{chroot}}}

namespace inbox {{
  inbox = yes
  separator = /
  mailbox "Sent Items" {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
}}
namespace plain {{
  inbox = yes
  separator = /
  disabled = yes
}}
"""


def _identity():
    """Who Dovecot's processes and the mail run as: (config lines, uid, gid, chroot line)."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return "", nobody.pw_uid, nobody.pw_gid, ""
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    lines = (
        f"default_internal_user = {user}\ndefault_login_user = {user}\n"
        f"default_internal_group = {group}"
    )
    return lines, os.getuid(), os.getgid(), "  chroot =\n"


def _write_certificate(root, with_address=True):
    """A self-signed certificate for localhost and 127.0.0.1 (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost")]
    if with_address:
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (root / "key.pem").chmod(0o600)


class Dovecot:
    """One Dovecot master process and its private folder."""

    host = "127.0.0.1"

    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.imaps_port = free_port()
        self.cafile = str(root / "cert.pem")
        self.users = dict(USERS)
        self.process = None

    def write_config(self):
        identity, uid, gid, chroot = _identity()
        _write_certificate(self.root)
        homes = self.root / "mail"
        homes.mkdir()
        lines = []
        for user, password in self.users.items():
            extra = PLAIN_NAMESPACE if user == "bob" else ""
            lines.append(f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{homes / user}::{extra}")
        (self.root / "users").write_text("\n".join(lines) + "\n")
        os.chown(homes, uid, gid)
        config = CONFIG.format(
            root=self.root,
            port=self.port,
            imaps_port=self.imaps_port,
            identity=identity,
            chroot=chroot,
        )
        (self.root / "dovecot.conf").write_text(config)

    def start(self):
        self.write_config()
        self.output = open(self.root / "master.out", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_for(self.greets, timeout=20, interval=0.1):
            log = self.log()
            self.stop()
            raise RuntimeError(f"Dovecot did not start:\n{log}")

    def greets(self):
        if self.process.poll() is not None:
            return False
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(200).startswith(b"* OK")
        except OSError:
            return False

    def log(self):
        parts = [
            path.read_text(errors="replace")
            for path in (self.root / "master.out", self.root / "dovecot.log")
            if path.exists()
        ]
        return "\n".join(parts)[-4000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.output.close()

    def log_size(self):
        return (self.root / "dovecot.log").stat().st_size

    def log_since(self, offset):
        """What Dovecot logged after ``offset`` (from ``log_size``), once it has settled."""
        path = self.root / "dovecot.log"
        sizes = []
        wait_for(
            lambda: sizes.append(path.stat().st_size) or sizes[-1:] == sizes[-2:-1],
            timeout=3,
            interval=0.2,
        )
        return path.read_bytes()[offset:].decode(errors="replace")

    # Reading back and cleaning up, as the user would in their mail program.

    @contextlib.contextmanager
    def session(self, user):
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            conn.login(user, self.users[user])
            yield conn
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    def folders(self, user):
        """{name: flags} of every folder of ``user``."""
        with self.session(user) as conn:
            _, lines = conn.list('""', "*")
        found = {}
        for line in lines:
            flags, _, rest = line.decode().partition(") ")
            name = rest.split(" ", 1)[1]
            found[name.strip('"')] = flags.lstrip("(").split()
        return found

    def messages(self, user, folder):
        """[(flags, exact bytes)] of every message in ``folder``, oldest first."""
        with self.session(user) as conn:
            typ, data = conn.select(f'"{folder}"', readonly=True)
            assert typ == "OK", f"no folder {folder!r} for {user}: {data}"
            _, found = conn.fetch("1:*", "(FLAGS BODY.PEEK[])") if int(data[0]) else ("OK", [])
        return [(imaplib.ParseFlags(item[0]), item[1]) for item in found if isinstance(item, tuple)]

    def empty(self, user):
        """Remove every message and every folder the configuration does not create."""
        with self.session(user) as conn:
            for name, flags in self.folders(user).items():
                if name == "INBOX" or any(flag in flags for flag in (r"\Sent", r"\Drafts")):
                    _, data = conn.select(f'"{name}"')
                    if int(data[0]):
                        conn.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                        conn.expunge()
                    conn.close()
                else:
                    conn.delete(f'"{name}"')


@pytest.fixture(scope="session")
def dovecot():
    """A running Dovecot on loopback (skipped only when Dovecot is not installed)."""
    if not Path(DOVECOT).exists():
        pytest.skip(f"{DOVECOT} is missing: install dovecot-imapd to run the IMAP tests")
    root = Path(tempfile.mkdtemp(prefix="designer-dovecot-"))
    root.chmod(0o755)  # the mail processes run as another user when we are root
    server = Dovecot(root)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap(dovecot):
    """The Dovecot, with empty mailboxes for this test."""
    for user in dovecot.users:
        dovecot.empty(user)
    return dovecot


@pytest.fixture
def bounce_box(smtp_app, imap):
    """ada's INBOX is the bounce mailbox; the envelope sender is bounces@designer.example."""
    from designer.mail import bounces
    from designer.mail.sender import set_sending_policy

    set_sending_policy(envelope_from="bounces@designer.example")
    bounces.save_bounce_settings(
        host=imap.host, port=imap.port, security="none", username="ada", password=imap.users["ada"]
    )
    return imap


@pytest.fixture
def mailbox_pages(app):
    """The mailbox settings pages on the test app (registered here until the app does it)."""
    from designer.mail.mailbox_views import bp

    if "mailbox" not in app.blueprints:
        app.register_blueprint(bp)
    return app


@pytest.fixture
def nothing_allowed(app):
    """``ALLOWED_MAIL_HOSTS`` unset, as on a fresh installation: loopback is refused."""
    app.config["ALLOWED_MAIL_HOSTS"] = ""
    return app


@pytest.fixture
def smtps_server(tmp_path, monkeypatch):
    """An SMTP server with implicit TLS on 127.0.0.1 whose trusted certificate names only
    ``localhost``: connecting by name works, by address fails verification."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    _write_certificate(tmp_path, with_address=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    yield controller
    controller.stop()
