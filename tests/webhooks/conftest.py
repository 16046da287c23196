"""Fixtures for outbound webhooks: a real HTTP receiver on loopback that verifies every
delivery with the standardwebhooks package, and the app allowed to reach it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


class Receiver:
    """What the receiver got (``deliveries``: verified payloads; ``bad``: failed checks)
    and what it answers next (``answers``: status codes, then 200)."""

    def __init__(self):
        self.secret = None
        self.answers = []
        self.requests = []
        self.deliveries = []
        self.bad = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.take(dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"x" * 100_000 if status == 500 else b"ok")

            def log_message(self, *args):
                pass

        return Handler

    def take(self, headers, body):
        with self.lock:
            self.requests.append((headers, body))
            status = self.answers.pop(0) if self.answers else 200
            if status == 200:
                try:
                    self.deliveries.append((headers, Webhook(self.secret).verify(body, headers)))
                except WebhookVerificationError as exc:
                    self.bad.append(str(exc))
                    return 401
            return status


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def webhook_app(app):
    """The app allowed to deliver to loopback (the receiver) and nowhere else private."""
    app.config["ALLOWED_WEBHOOK_HOSTS"] = "127.0.0.1"
    return app
