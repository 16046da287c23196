"""Stored assets: images and fonts uploaded to the app and served from its own URL.

Templates and PDFs may reference only these (``/assets/<id>/<name>``) and
``data:`` URIs; nothing is ever fetched from elsewhere.
"""

import hashlib
import io
from urllib.parse import quote

from defusedxml import ElementTree
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import defer

from designer.assets.models import Asset
from designer.extensions import db

#: Types an upload may have, and the largest size accepted.
ALLOWED_TYPES = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/svg+xml",
    "font/ttf",
    "font/otf",
    "font/woff",
    "font/woff2",
}
MAX_ASSET_BYTES = 5 * 1024 * 1024
#: The format Pillow reads in a raster image of each type.
RASTER_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
#: The first bytes of each font type.
FONT_SIGNATURES = {
    "font/ttf": (b"\x00\x01\x00\x00", b"true"),
    "font/otf": (b"OTTO",),
    "font/woff": (b"wOFF",),
    "font/woff2": (b"wOF2",),
}

__all__ = [
    "ALLOWED_TYPES",
    "MAX_ASSET_BYTES",
    "Asset",
    "AssetRejected",
    "asset_path",
    "get_asset",
    "list_assets",
    "store_asset",
]


class AssetRejected(ValueError):
    """The upload is too large or of a type the app does not store."""


def store_asset(filename, content_type, data):
    """Store bytes once (deduplicated by content); return the ``Asset``."""
    if content_type not in ALLOWED_TYPES:
        raise AssetRejected(
            _(
                "%(file)s: files of type %(type)s are not accepted",
                file=filename,
                type=content_type,
            )
        )
    if len(data) > MAX_ASSET_BYTES:
        raise AssetRejected(
            _(
                "%(file)s: larger than %(size)s MB",
                file=filename,
                size=MAX_ASSET_BYTES // (1024 * 1024),
            )
        )
    if not content_matches(content_type, data):
        raise AssetRejected(
            _(
                "%(file)s: the file is not the %(type)s it says it is",
                file=filename,
                type=content_type,
            )
        )
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(db.select(Asset).where(Asset.sha256 == digest))
    if existing is not None:
        return existing
    asset = Asset(
        filename=filename, content_type=content_type, data=data, sha256=digest, size=len(data)
    )
    db.session.add(asset)
    db.session.commit()
    return asset


def content_matches(content_type, data):
    """Whether ``data`` really is a file of ``content_type`` (read by Pillow, or an SVG
    document, or a font's signature), whatever name or type the upload came with."""
    if content_type in RASTER_FORMATS:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.format == RASTER_FORMATS[content_type]
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
            return False
    if content_type == "image/svg+xml":
        try:
            root = ElementTree.fromstring(data)
        except Exception:
            return False
        return root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    return data.startswith(FONT_SIGNATURES.get(content_type, (b"\xff\xff",)))


def get_asset(asset_id):
    return db.session.get(Asset, asset_id)


def asset_path(asset):
    """The path the app serves ``asset`` at: ``/assets/<id>/<file name>``."""
    return f"/assets/{asset.id}/{quote(asset.filename)}"


def list_assets():
    """Every stored asset, newest first (without loading their bytes twice)."""
    query = db.select(Asset).options(defer(Asset.data)).order_by(Asset.id.desc())
    return db.session.scalars(query).all()
