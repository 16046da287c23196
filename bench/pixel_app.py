"""The product's WSGI app with one extra path for ``pixel.py``: the same GIF, no storage.

``GET /bench/bare.gif`` is answered at the same place as ``/o/<token>.gif``
(in front of Flask, by ``designer.tracking.fastpath.send_gif``: same body,
same headers) but records nothing, so the ratio between the two is the cost
of checking the token and counting the hit.

``GET /bench/none`` is wrk's filler once a thread has sent its share: an empty
404, also in front of Flask, so that the filler costs the server next to nothing.
"""

import gc

from designer import create_app
from designer.tracking.fastpath import send_gif

BARE = "/bench/bare.gif"
NONE = "/bench/none"


class BareRoute:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == BARE:
            return send_gif(environ, start_response)
        if environ.get("PATH_INFO") == NONE:
            start_response("404 Not Found", [("Content-Length", "0")])
            return []
        return self.wsgi_app(environ, start_response)


app = create_app()
app.wsgi_app = BareRoute(app.wsgi_app)
gc.collect()  # as designer.wsgi does
gc.freeze()
