"""The real mail servers of the tests, on loopback: Dovecot (IMAP, with an OAuth2 passdb)
and a private Postfix relaying to an aiosmtpd sink (``tests/mail/conftest.py`` starts them
as fixtures; browser tests start their own).

``dovecot`` starts ``/usr/sbin/dovecot -F`` once per run from a config written
into a private temporary folder: plain IMAP and IMAPS on free ports of
127.0.0.1, STARTTLS on the plain port, a self-signed certificate for
127.0.0.1/localhost, a passwd-file with two users and maildir storage.

* ``ada`` has her Sent folder called "Sent Items", flagged ``\\Sent``
  (RFC 6154 special use), so detection is what finds it;
* ``bob`` has no special-use folders at all (a second, plain ``inbox``
  namespace is switched on for him through userdb fields);
* ``carol@example.test`` signs in with OAuth2 (SASL XOAUTH2 / OAUTHBEARER):
  Dovecot's ``oauth2`` passdb asks the local authorization server
  (``oauth_server.Provider``) whether her token is active (RFC 7662
  introspection, ``introspection_mode = post``).

``postfix`` runs a private Postfix (its own config and queue folders) whose
submission port authenticates through Dovecot's SASL socket and relays
everything to a loopback aiosmtpd sink, where tests read what arrived.

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
import threading
from email import message_from_bytes, policy

from oauth_server import DOVECOT_ID, DOVECOT_SECRET, OAUTH_USER
from support import free_port, wait_for

DOVECOT = "/usr/sbin/dovecot"
POSTFIX = "/usr/sbin/postfix"
USERS = {"ada": "ada-imap-pass", "bob": "bob-imap-pass", OAUTH_USER: "carol-imap-pass"}
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
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = 1

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
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
service auth {{
  unix_listener {root}/auth-postfix {{
    mode = 0666
  }}
}}
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

OAUTH2_CONFIG = """\
introspection_mode = post
introspection_url = {url}/introspect
username_attribute = username
active_attribute = active
active_value = true
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


def write_certificate(root, with_address=True):
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

    def __init__(self, root, provider, extra_config=""):
        self.root = root
        self.provider = provider
        self.extra_config = extra_config
        self.port = free_port()
        self.imaps_port = free_port()
        self.cafile = str(root / "cert.pem")
        self.users = dict(USERS)
        self.process = None

    def write_config(self):
        identity, uid, gid, chroot = _identity()
        write_certificate(self.root)
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
        (self.root / "dovecot.conf").write_text(config + self.extra_config)
        url = self.provider.url.replace("://", f"://{DOVECOT_ID}:{DOVECOT_SECRET}@")
        (self.root / "oauth2.conf").write_text(OAUTH2_CONFIG.format(url=url))

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


# Postfix ---------------------------------------------------------------------------------

POSTFIX_MAIN = """\
compatibility_level = 3.7
queue_directory = {root}/queue
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-designer-test
maillog_file_prefixes = {root}
maillog_file = {root}/postfix.log
myhostname = designer-test.localhost
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {auth_socket}
smtpd_sasl_mechanism_filter = {mechanisms}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_tls_security_level = none
smtp_tls_security_level = none
"""
POSTFIX_MASTER = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


class Sink:
    """An aiosmtpd handler keeping every message Postfix relays to it."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(envelope)
        return "250 2.0.0 OK"

    def messages(self):
        with self.lock:
            found = list(self.received)
        return [message_from_bytes(e.original_content, policy=policy.default) for e in found]


class Postfix:
    """A private Postfix instance: submission on ``port`` (SASL through Dovecot), relaying
    to ``sink``. Only the mechanisms in ``mechanisms`` are announced."""

    host = "127.0.0.1"

    def __init__(self, root, dovecot, sink_port, mechanisms="oauthbearer"):
        self.root, self.port = root, free_port()
        self.sink_port, self.dovecot, self.mechanisms = sink_port, dovecot, mechanisms

    def start(self):
        (self.root / "queue").mkdir()
        (self.root / "data").mkdir()
        shutil.chown(self.root / "data", "postfix")
        (self.root / "main.cf").write_text(
            POSTFIX_MAIN.format(
                root=self.root,
                sink_port=self.sink_port,
                auth_socket=self.dovecot.root / "auth-postfix",
                mechanisms=self.mechanisms,
            )
        )
        (self.root / "master.cf").write_text(POSTFIX_MASTER.format(port=self.port))
        result = self._postfix("start")
        if result.returncode or not wait_for(self.greets, timeout=20, interval=0.1):
            raise RuntimeError(f"Postfix did not start:\n{result.stdout}\n{self.log()}")

    def _postfix(self, command):
        return subprocess.run(
            [POSTFIX, "-c", str(self.root), command],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def greets(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(200).startswith(b"220")
        except OSError:
            return False

    def log(self):
        path = self.root / "postfix.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self):
        self._postfix("stop")
