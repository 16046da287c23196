"""``GET /v/<token>``: the message in a browser, for its recipient (no login).

Anything but a valid token of a sent message is a plain 404, whatever its
bytes. The page is the mail's own HTML under a sandboxing Content Security
Policy (no scripts, no forms, a unique origin), so a template's HTML can
never act on the app's own origin; links may open in a new tab. It sends no
referrer, so the sites its links lead to never learn the page's address.
"""

from flask import Blueprint, Response
from flask_babel import gettext as _
from markupsafe import escape

from designer.i18n import ui_language
from designer.mail import webview
from designer.records import RecordNotFound
from designer.templating import MergeError

bp = Blueprint("webview", __name__)

#: Like the previews', plus what links in mail need: a new tab, or the tab itself.
WEBVIEW_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; "
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src * data:; "
    "form-action 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": WEBVIEW_CSP,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _not_found():
    title = escape(_("Message not found"))
    text = escape(
        _("This link does not lead to a message (any more). The e-mail itself still shows it.")
    )
    body = (
        f'<!doctype html><html lang="{ui_language()}"><title>{title}</title>'
        f"<h1>{title}</h1><p>{text}</p></html>"
    )
    return Response(body, status=404, mimetype="text/html", headers=HEADERS)


@bp.get("/v/<token>")
def show(token):
    """The merged message without pixel or tracked links; counts nothing."""
    try:
        message = webview.message_for(token)
        html = webview.render_webview(message)
    except (webview.NoWebView, MergeError, RecordNotFound):
        return _not_found()
    return Response(html, mimetype="text/html", headers=HEADERS)
