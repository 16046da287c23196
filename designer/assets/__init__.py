"""Stored assets: images and fonts uploaded to the app and served from its own URL.

Templates and PDFs may reference only these (``/assets/<id>/<name>``) and
``data:`` URIs; nothing is ever fetched from elsewhere.
"""

import hashlib
from urllib.parse import quote

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
        raise AssetRejected(f"{filename}: files of type {content_type} are not accepted")
    if len(data) > MAX_ASSET_BYTES:
        raise AssetRejected(f"{filename}: larger than {MAX_ASSET_BYTES // (1024 * 1024)} MB")
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


def get_asset(asset_id):
    return db.session.get(Asset, asset_id)


def asset_path(asset):
    """The path the app serves ``asset`` at: ``/assets/<id>/<file name>``."""
    return f"/assets/{asset.id}/{quote(asset.filename)}"


def list_assets():
    """Every stored asset, newest first (without loading their bytes twice)."""
    query = db.select(Asset).options(defer(Asset.data)).order_by(Asset.id.desc())
    return db.session.scalars(query).all()
