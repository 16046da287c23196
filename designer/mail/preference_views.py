"""``/p/<token>``: the recipient's preference page (no login).

Anything but a valid token of a message is a plain 404. The form posts back to the same
address: the token in it is the proof (see ``designer.mail.preferences``), so the page
is exempt from the session's CSRF token and works without cookies or JavaScript.
"""

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from designer import settings
from designer.extensions import csrf
from designer.mail import preferences, topics

bp = Blueprint("preferences", __name__)
csrf.exempt(bp)  # the signed token in the address is the proof; recipients have no session

#: More checkbox values than any form of ours sends.
MAX_VALUES = 2 * topics.MAX_ACTIVE
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _not_found():
    return render_template("mail/preferences.html", state="unknown"), 404, HEADERS


def _wanted_topics(form):
    values = form.getlist("topic")
    if len(values) > MAX_VALUES:
        abort(400, description=_("Too many topics in the form."))
    return {int(v) for v in values if v.isascii() and v.isdigit() and len(v) < 10}


@bp.route("/p/<token>", methods=["GET", "POST"])
def page(token):
    """The recipient's topics and the "all" switch; a POST saves them."""
    try:
        message = preferences.message_for(token)
    except preferences.NoPreferences:
        return _not_found()
    saved = None
    if request.method == "POST":
        saved = preferences.save_choices(
            message, _wanted_topics(request.form), bool(request.form.get("unsubscribe_all"))
        )
    return (
        render_template(
            "mail/preferences.html",
            state="saved" if saved is not None else "choose",
            saved=saved,
            choices=preferences.choices_of(message.recipient_email),
            company=settings.company(),
        ),
        200,
        HEADERS,
    )
