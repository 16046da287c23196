"""``GET /o/<token>.gif``: count an open, answer the pixel."""

from flask import Blueprint, Response

from designer import mail
from designer.extensions import csrf
from designer.tracking import PIXEL_GIF

bp = Blueprint("tracking", __name__)
csrf.exempt(bp)

NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}


@bp.route("/o/<token>.gif")
def pixel(token):
    if 16 <= len(token) <= 64:
        mail.record_open(token)
    return Response(PIXEL_GIF, mimetype="image/gif", headers=NO_CACHE)
