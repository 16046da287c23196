"""Mail fixtures: the real Dovecot and Postfix of ``mail_servers`` and the local OAuth2
provider, started once per run; ``imap`` gives each test empty mailboxes."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from mail_servers import DOVECOT, POSTFIX, Dovecot, Postfix, Sink, write_certificate
from oauth_server import Provider
from support import free_port, send_welcome


@pytest.fixture(scope="session")
def oauth_provider():
    """The local OAuth2 authorization server (plain HTTP on loopback, which Authlib allows
    only with ``AUTHLIB_INSECURE_TRANSPORT``: set for the run, served products inherit it)."""
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    provider = Provider()
    provider.start(free_port())
    yield provider
    provider.stop()


@contextlib.contextmanager
def running_dovecot(provider, extra_config=""):
    """A Dovecot on loopback in a folder of its own (skipped when Dovecot is not installed)."""
    if not Path(DOVECOT).exists():
        pytest.skip(f"{DOVECOT} is missing: install dovecot-imapd to run the IMAP tests")
    root = Path(tempfile.mkdtemp(prefix="designer-dovecot-"))
    root.chmod(0o755)  # the mail processes run as another user when we are root
    server = Dovecot(root, provider, extra_config=extra_config)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(oauth_provider):
    """A running Dovecot on loopback."""
    with running_dovecot(oauth_provider) as server:
        yield server


@pytest.fixture
def dovecot_without_idle(oauth_provider):
    """A second Dovecot that does not offer IMAP IDLE (as some servers do not)."""
    capability = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE NAMESPACE UIDPLUS\n"
    with running_dovecot(oauth_provider, capability) as server:
        yield server


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

    write_certificate(tmp_path, with_address=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def oauth(oauth_provider):
    """The authorization server with its usual settings (an hour-long access token)."""
    oauth_provider.access_lifetime = 3600
    oauth_provider.refreshes = 0
    return oauth_provider


@pytest.fixture(scope="session")
def postfix_server(dovecot):
    """Postfix on loopback (run as root only: Postfix refuses to start otherwise)."""
    if not Path(POSTFIX).exists():
        pytest.skip(f"{POSTFIX} is missing: install postfix to run the submission tests")
    if os.geteuid() != 0:
        pytest.skip("Postfix starts only as root")
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    root = Path(tempfile.mkdtemp(prefix="designer-postfix-"))
    root.chmod(0o755)
    server = Postfix(root, dovecot, controller.port)
    server.sink = sink
    try:
        server.start()
        yield server
        server.stop()
    finally:
        controller.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postfix(postfix_server):
    """Postfix with an empty sink for this test."""
    with postfix_server.sink.lock:
        postfix_server.sink.received.clear()
    return postfix_server


@pytest.fixture
def sent_message(smtp_app, smtp_server, welcome, people, imap):
    """Welcome sent to Jan by the admin, whose mailbox is ada's on Dovecot (replies tests)."""
    from designer.mail.mailbox import link_mailbox

    link_mailbox(
        people.admin,
        host=imap.host,
        port=imap.port,
        security="none",
        username="ada",
        password=imap.users["ada"],
    )
    message = send_welcome(welcome, people)
    assert message.message_id.startswith("<")
    return message
