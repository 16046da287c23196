"""Reverse proxies in front of the app: whose ``X-Forwarded-*`` headers say who the client is.

Behind nginx every request comes from nginx's address; the client's is in
``X-Forwarded-For`` (and the scheme and host the client used in
``X-Forwarded-Proto`` and ``X-Forwarded-Host``). Those headers are believed
only when the request arrives from an address in ``TRUSTED_PROXIES``; werkzeug's
``ProxyFix`` then rewrites the WSGI environ, so that pages, logins, clicks and
the open pixel (answered in front of Flask by ``designer.tracking.fastpath``,
which this middleware wraps) all see the client. From anyone else the headers
are dropped: a client cannot choose the address it is counted under.

Proxies may be chained (a CDN, then nginx): ``X-Forwarded-For`` is read from
the right, past every address that is itself a trusted proxy.
"""

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

SETTING = "TRUSTED_PROXIES"
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)


def parse_proxies(text):
    """The networks of a comma-separated ``TRUSTED_PROXIES``; ``ValueError`` names a bad one."""
    text = text if isinstance(text, str) else ",".join(text or ())
    networks = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            raise ValueError(f"{SETTING}: “{entry}” is not an address or a network") from None
    return tuple(networks)


class TrustedProxies:
    """WSGI middleware: ``ProxyFix`` for requests from trusted proxies, no forwarding otherwise."""

    def __init__(self, wsgi_app, networks):
        self.wsgi_app, self.networks = wsgi_app, networks
        self.fixes = {}  # trusted hops -> ProxyFix

    def __call__(self, environ, start_response):
        if not self.trusts(environ.get("REMOTE_ADDR", "")):
            for name in FORWARDED_HEADERS:
                environ.pop(name, None)
            return self.wsgi_app(environ, start_response)
        return self.fix(self.hops(environ))(environ, start_response)

    def trusts(self, address):
        if not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # a unix socket has no address
            return False
        ip = getattr(ip, "ipv4_mapped", None) or ip  # a dual-stack listener's IPv4 peer
        return any(ip in network for network in self.networks)

    def hops(self, environ):
        """How many ``X-Forwarded-For`` entries, from the right, trusted proxies added."""
        forwarded = [part.strip() for part in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = 1
        while hops < len(forwarded) and self.trusts(forwarded[-hops]):
            hops += 1
        return hops

    def fix(self, hops):
        if hops not in self.fixes:
            self.fixes[hops] = ProxyFix(
                self.wsgi_app, x_for=hops, x_proto=1, x_host=1, x_port=1, x_prefix=1
            )
        return self.fixes[hops]


def init_app(app):
    """Wrap the app's WSGI callable, outside every other middleware."""
    app.wsgi_app = TrustedProxies(app.wsgi_app, parse_proxies(app.config.get(SETTING) or ""))
