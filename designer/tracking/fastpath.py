"""The open pixel, answered in front of Flask: the app's hottest route kept to the bone.

Every opened mail loads ``/o/<token>.gif`` once or more, in bursts when a
campaign lands. ``PixelFastPath`` wraps the app's WSGI callable and answers
those requests itself — check the token's signature, buffer the hit in Redis
(one ``RPUSH`` shared with the requests of the same moment: see
``designer.tracking.buffer`` and ``designer.tracking.pusher``), send the GIF —
without building a request context, a session or a response object, which
would cost more than the counting. Every other path goes to Flask unchanged. Any token, valid or
not, gets the same GIF: the endpoint tells nothing about which tokens exist.
"""

from designer.mail.links import signer_for
from designer.tracking import PIXEL_GIF, Hit, buffer

PREFIX, SUFFIX = "/o/", ".gif"
HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(PIXEL_GIF))),
    ("Cache-Control", "no-store, no-cache, must-revalidate, private, max-age=0"),
    ("Pragma", "no-cache"),
    ("Expires", "0"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
]


def send_gif(environ, start_response):
    """The 1x1 GIF with no-cache headers (no body for HEAD)."""
    start_response("200 OK", list(HEADERS))
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [PIXEL_GIF]


class PixelFastPath:
    """WSGI middleware: pixel requests answered here, everything else by ``wsgi_app``."""

    def __init__(self, wsgi_app, app):
        self.wsgi_app, self.app = wsgi_app, app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            return self.wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        self.count(environ, path[len(PREFIX) : -len(SUFFIX)])
        return send_gif(environ, start_response)

    def count(self, environ, token):
        message_token = signer_for(self.app).parse_pixel(token)
        if message_token is None:
            return
        hit = Hit(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("HTTP_USER_AGENT", ""),
            environ.get("REMOTE_ADDR", ""),
        )
        buffer.push("open", message_token, hit, app=self.app)  # failures are logged there


def init_app(app):
    app.wsgi_app = PixelFastPath(app.wsgi_app, app)
