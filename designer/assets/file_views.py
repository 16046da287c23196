"""The Files page: upload images and fonts for templates and PDFs, and copy their URLs."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from designer.assets import (
    ALLOWED_TYPES,
    MAX_ASSET_BYTES,
    AssetRejected,
    asset_path,
    list_assets,
    store_asset,
)
from designer.auth import protect

bp = Blueprint("files", __name__)
protect(bp)


@bp.route("/files", methods=["GET", "POST"])
def page():
    status = 200
    if request.method == "POST":
        uploads = [f for f in request.files.getlist("file") if f and f.filename]
        if not uploads:
            flash(_("Choose one or more files to upload."), "error")
            status = 400
        for upload in uploads:
            try:
                asset = store_asset(upload.filename, _type(upload), upload.read())
            except AssetRejected as exc:
                flash(_("Not stored: %(error)s", error=exc), "error")
                status = 400
            else:
                flash(
                    _("Stored %(file)s: %(url)s", file=asset.filename, url=asset_path(asset)),
                    "success",
                )
        if status == 200:
            return redirect(url_for("files.page"))
    rows = [(asset, asset_path(asset)) for asset in list_assets()]
    return render_template(
        "assets/files.html",
        rows=rows,
        types=sorted(ALLOWED_TYPES),
        max_mb=MAX_ASSET_BYTES // (1024 * 1024),
    ), status


#: What browsers send for fonts varies (``application/octet-stream``, ``application/x-font-ttf``).
FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}


def _type(upload):
    if upload.mimetype in ALLOWED_TYPES:
        return upload.mimetype
    extension = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    return FONT_TYPES.get(extension, upload.mimetype)
