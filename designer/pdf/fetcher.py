"""The only way a PDF template reaches outside its own HTML: ``data:`` URIs and stored assets.

WeasyPrint hands every URL it wants (images, stylesheets, ``@import``,
``@font-face``, attachments, SVG ``<image>``) to a URL fetcher. ``AssetFetcher``
answers two kinds and refuses the rest without any I/O:

* ``data:`` URIs, decoded here (no ``urllib`` handler involved);
* the app's stored assets, ``/assets/<id>/<name>``, either relative (WeasyPrint
  resolves them against the base URL the renderer passes) or absolute on the
  app's ``PUBLIC_URL`` origin. Their bytes come from a ``lookup`` callable,
  never over HTTP, so no request (nor a redirect to a loopback or metadata
  address) can ever leave the process.

Refused URLs are collected in ``refused`` so the editor can list what was not loaded.
"""

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

#: Largest ``data:`` payload or stored asset a template may load (decoded bytes).
MAX_RESOURCE_BYTES = 10 * 1024 * 1024
#: Path of a stored asset as the app serves it.
ASSET_PATH = re.compile(r"/assets/([0-9]{1,18})/[^/]+")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Refused URLs are listed at most this long (``data:`` URIs can be megabytes).
SHOWN_URL_CHARS = 120
#: An asset reference anywhere in HTML or CSS, relative or absolute.
ASSET_REFERENCE = re.compile(r"assets/([0-9]{1,18})/")
#: At most this many distinct stored assets are read for one render.
MAX_PREFETCHED_ASSETS = 200


class Refused(ValueError):
    """A template asked for a URL it may not load."""


def stored_asset(asset_id):
    """``(bytes, content_type)`` of a stored asset, or ``None``: the app's lookup.

    Needs an application context (it reads the database).
    """
    from designer.assets import get_asset

    asset = get_asset(asset_id)
    return None if asset is None else (asset.data, asset.content_type)


def prefetch_assets(lookup, *sources):
    """``{asset_id: (bytes, content_type) | None}`` for the assets ``sources`` name.

    Called in the caller's thread before rendering, so the render reads a
    dict and never the caller's database session. The scan is generous (any
    ``assets/<id>/``); the fetcher still decides which URLs count as assets.
    Assets past ``MAX_PREFETCHED_ASSETS`` are not read (and then refused).
    """
    if lookup is None:
        return {}
    found = {}
    for source in sources:
        # not mutated: any text without "assets/" in place of "" names no asset either
        for match in ASSET_REFERENCE.finditer(source or ""):  # pragma: no mutate
            asset_id = int(match[1])
            if asset_id not in found and len(found) < MAX_PREFETCHED_ASSETS:
                found[asset_id] = lookup(asset_id)
    return found


def origin(url):
    """``(scheme, host, port)`` of an http(s) URL, or ``None`` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme]


def decode_data_uri(url):
    """``(bytes, content_type)`` of a ``data:`` URI (RFC 2397); ``ValueError`` if malformed."""
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise ValueError("malformed data: URI")
    params = [param.strip() for param in header.split(";")]
    encoded = params[-1].lower() == "base64"
    if encoded:
        params.pop()
    data = unquote_to_bytes(payload)
    if encoded:
        try:
            data = base64.b64decode(data)
        except binascii.Error as error:
            raise ValueError("malformed base64 in data: URI") from error
    content_type = ";".join(params) if params[0] else "text/plain;charset=US-ASCII"
    return data, content_type


def shown(url):
    """``url`` shortened for a warning."""
    return url if len(url) <= SHOWN_URL_CHARS else url[:SHOWN_URL_CHARS] + "…"


class AssetFetcher(URLFetcher):
    """WeasyPrint URL fetcher serving ``data:`` URIs and stored assets only.

    ``lookup(asset_id) -> (bytes, content_type) | None`` reads an asset
    (``None``: no assets at all); ``public_url`` and ``base_url`` are the origins
    whose ``/assets/<id>/<name>`` paths count as stored assets. Every other URL
    raises (WeasyPrint then leaves the image, font or stylesheet out) and is
    added to ``refused``.
    """

    def __init__(
        self,
        lookup=None,
        public_url="",
        base_url="",  # pragma: no mutate (any default naming no origin is the same)
        max_resource_bytes=MAX_RESOURCE_BYTES,
    ):
        # No protocol is allowed to the inherited urllib opener: it is never used (so
        # not mutated: no test can tell what it would allow).
        super().__init__(allowed_protocols=(), allow_redirects=False)  # pragma: no mutate
        self.lookup = lookup
        self.origins = {found for found in map(origin, (public_url, base_url)) if found}
        self.max_resource_bytes = max_resource_bytes
        self.refused = []
        self._assets = {}

    def fetch(self, url, headers=None):
        """The resource at ``url`` as a ``URLFetcherResponse``; ``Refused`` if not allowed."""
        if url[:5].lower() == "data:":
            data, content_type = self._data(url)
        else:
            data, content_type = self._asset(url)
        # not mutated: header names are case-blind, "content-type" is the same header
        headers = {"Content-Type": content_type or "application/octet-stream"}  # pragma: no mutate
        return URLFetcherResponse(url, data, headers)

    def asset_id(self, url):
        """The stored asset id ``url`` names, or ``None`` if it is not an asset URL."""
        if origin(url) not in self.origins:
            return None
        found = ASSET_PATH.fullmatch(urlsplit(url).path)
        return int(found[1]) if found else None

    def refuse(self, url, reason):
        """Record ``url`` as not loaded; return the exception to raise."""
        url = shown(url)
        if url not in self.refused:
            self.refused.append(url)
        return Refused(f"{reason}: {url}")

    def _data(self, url):
        # Percent-encoding triples a byte at most: reject hopeless URIs before decoding.
        if len(url) > 3 * self.max_resource_bytes + 1024:
            raise self.refuse(url, "data: URI too large")
        try:
            data, content_type = decode_data_uri(url)
        except ValueError as error:
            raise self.refuse(url, str(error)) from None
        if len(data) > self.max_resource_bytes:
            raise self.refuse(url, "data: URI too large")
        return data, content_type

    def _asset(self, url):
        asset_id = self.asset_id(url)
        if asset_id is None or self.lookup is None:
            raise self.refuse(url, "only data: URIs and stored assets may be loaded")
        if asset_id not in self._assets:
            self._assets[asset_id] = self.lookup(asset_id)
        found = self._assets[asset_id]
        if found is None:
            raise self.refuse(url, "no such asset")
        data, content_type = found
        if len(data) > self.max_resource_bytes:
            raise self.refuse(url, "asset too large")
        return data, content_type
