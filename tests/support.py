"""Helpers the tests share: ports, CSRF tokens, logging in, running the real CLI."""

import os
import re
import socket
import subprocess
import sys
import threading
import time


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def csrf_token(client, path="/login"):
    """The CSRF token ``client``'s session gets on ``path``."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html
    )
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client, email="admin@example.com", password="demo"):
    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def bearer_client(app, token):
    """A test client that sends ``Authorization: Bearer <token>`` with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def child_env(app):
    """Environment that points a child ``designer`` process at the test app's parts."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["DATABASE_URL"],
        REDIS_URL=app.config["REDIS_URL"],
        SECRET_KEY=app.config["SECRET_KEY"],
        PUBLIC_URL=app.config["PUBLIC_URL"],
        SMTP_URL=app.config["SMTP_URL"],
        ALLOWED_MAIL_HOSTS=app.config["ALLOWED_MAIL_HOSTS"],
        ALLOWED_WEBHOOK_HOSTS=app.config.get("ALLOWED_WEBHOOK_HOSTS", ""),
        DESIGNER_INSTANCE_PATH=app.config["INSTANCE_PATH"],
    )
    return env


def run_designer(app, *args, timeout=120):
    """Run the real ``designer`` command (as installed) against the test app's parts."""
    return subprocess.run(
        [sys.executable, "-m", "designer", *args],
        env=child_env(app),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ServedProduct:
    """``designer serve`` on embedded defaults in its own instance folder, as `make run` does."""

    def __init__(self, instance):
        self.instance = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY")
        }
        self.env.update(
            DESIGNER_INSTANCE_PATH=str(instance),
            PUBLIC_URL=self.url,
            SMTP_CATCHER_PORT=str(free_port()),
            PYTHONUNBUFFERED="1",
            # The tests' OAuth2 authorization server speaks plain HTTP on loopback.
            AUTHLIB_INSECURE_TRANSPORT="1",
        )
        self.process = None

    def designer(self, *args):
        result = subprocess.run(
            [sys.executable, "-m", "designer", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self):
        self.designer("db", "upgrade")
        self.designer("demo")
        self.log = open(self.instance / "serve.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "designer", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if not wait_for(self.healthy, timeout=150, interval=0.25):
            self.stop()
            raise AssertionError((self.instance / "serve.log").read_text()[-3000:])

    def log_text(self):
        return (self.instance / "serve.log").read_text(errors="replace")

    def healthy(self):
        import json
        from urllib.request import urlopen

        try:
            with urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                return json.load(response)["status"] == "ok"
        except OSError:
            return False

    def stop(self, sig=None):
        """Stop with ``sig`` (SIGINT, as Ctrl-C does); return the exit code."""
        import signal

        self.process.send_signal(sig or signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.log.close()


def pixel_path(app, message_token):
    """The signed pixel path of a message, as its mail carries it."""
    from designer.mail.links import signer_for

    url = signer_for(app).pixel_url(message_token)
    return url[url.index("/o/") :]


class BannerServer:
    """A TCP service on loopback that is not what the client expects.

    Each connection is counted, greeted with ``banner`` and every line it sends
    answered with ``answer(line)`` (bytes, or None to say nothing); it stands for
    whatever else listens on a machine (SSH, a database) or a server that
    answers garbage.
    """

    def __init__(self, banner=b"", answer=None):
        self.banner, self.answer = banner, answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.connections += 1
            with conn:
                self._talk(conn)

    def _talk(self, conn):
        conn.settimeout(5)
        try:
            conn.sendall(self.banner)
            for line in conn.makefile("rb"):
                reply = self.answer(line) if self.answer else None
                if reply:
                    conn.sendall(reply)
        except OSError:
            pass

    def close(self):
        self.sock.close()


def click_paths(message):
    """The ``/c/…`` paths of ``message``'s tracked links, as its built mail carries them."""
    from designer import mail

    body = mail.build_message(message).data.decode()
    return re.findall(r"/c/[A-Za-z0-9_.-]+", body)


def send_welcome(welcome, people):
    """Welcome sent to Jan by the admin (through the test SMTP server), refreshed."""
    from designer import mail
    from designer.extensions import db

    message = mail.queue_message(
        welcome.current,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        enqueue=False,
    )
    assert mail.deliver_batch([message.id])["sent"] == 1
    db.session.refresh(message)
    return message


def sent_message(template, contact, sender, ago=None):
    """A message of ``template`` to ``contact`` marked sent ``ago`` (a timedelta, an hour
    by default) without going through SMTP: the opens and clicks tests' starting point."""
    from datetime import timedelta

    from designer import mail
    from designer.clock import utcnow
    from designer.extensions import db

    message = mail.queue_message(
        template, module="contact", record=contact, sender_user=sender, enqueue=False
    )
    ago = timedelta(hours=1) if ago is None else ago
    message.state, message.sent_at = "sent", utcnow() - ago
    db.session.commit()
    return message
