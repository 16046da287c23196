"""``GET /assets/<id>/<name>``: a stored asset, public (mail clients load images from here)."""

from flask import Blueprint, Response, abort

from designer.assets import get_asset

bp = Blueprint("assets", __name__)


@bp.route("/assets/<int:asset_id>/<path:name>")
def serve(asset_id, name):
    asset = get_asset(asset_id)
    if asset is None or asset.filename != name:
        abort(404, description="no such asset")
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    }
    return Response(asset.data, mimetype=asset.content_type, headers=headers)
