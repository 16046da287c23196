"""Settings → Bounces (administrators only): the bounce mailbox and the soft bounce limit."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from designer import records
from designer.auth import protect
from designer.extensions import db
from designer.i18n import number
from designer.mail import bounces, imap, oauth, sender, suppression
from designer.mail.models import Bounce
from designer.mail.oauth_views import connect_context

bp = Blueprint("bounces", __name__, url_prefix="/settings/bounces")
protect(bp, role="admin")

FIELDS = ("host", "port", "security", "username", "folder", "soft_threshold")


def _page(form=None, status=200):
    stored = bounces.bounce_settings()
    values = {name: (form or {}).get(name, stored.get(name) or "") for name in FIELDS}
    values["security"] = values["security"] or "tls"
    values["port"] = values["port"] or imap.DEFAULT_PORTS[values["security"]]
    recent = db.session.scalars(db.select(Bounce).order_by(Bounce.id.desc()).limit(20)).all()
    policy = sender.sending_policy()
    envelope = policy["envelope_from"]
    return render_template(
        "mail/bounces.html",
        values=values,
        configured=bounces.configured(),
        security=imap.SECURITY,
        recent=recent,
        envelope=envelope,
        example=bounces.verp_address(envelope, 42) if envelope else "",
        unsubscribe_addresses=_unsubscribe_addresses(policy),
        oauth=connect_context("bounces", oauth.grant_for(bounces=True)),
    ), status


def _unsubscribe_addresses(policy):
    """Where mail programs send unsubscribe requests: ``unsubscribe@`` each From domain."""
    central = policy["central_from"]
    senders = [central] if central else [user.email for user in records.list_users()]
    return sorted({suppression.unsubscribe_address(address) for address in senders if address})


@bp.get("")
def index():
    return _page()


@bp.post("")
def save():
    form = request.form
    try:
        bounces.save_bounce_settings(
            host=form.get("host", ""),
            port=form.get("port", ""),
            security=form.get("security", ""),
            username=form.get("username", ""),
            password=form.get("password", ""),
            folder=form.get("folder", ""),
            soft_threshold=form.get("soft_threshold", ""),
        )
    except ValueError as exc:
        flash(_("Not saved: %(error)s", error=exc), "error")
        return _page(form, status=400)
    if form.get("action") == "check":
        return _check(saved=True)
    flash(_("Bounce mailbox saved. It is read every minute."), "success")
    return redirect(url_for("bounces.index"))


@bp.post("/check")
def check():
    return _check(saved=False)


def _check(saved):
    prefix = _("Saved.") + " " if saved else ""
    try:
        found = bounces.poll()
    except imap.MailboxError as exc:
        flash(prefix + _("The bounce mailbox cannot be read: %(error)s", error=exc), "error")
    else:
        flash(
            prefix
            + _(
                "Read %(read)s new mail, %(bounces)s bounces recorded, "
                "%(unsubscribes)s unsubscribed by mail.",
                read=number(found["read"]),
                bounces=number(found["bounces"]),
                unsubscribes=number(found["unsubscribes"]),
            ),
            "success",
        )
    return redirect(url_for("bounces.index"))


@bp.post("/remove")
def remove():
    bounces.remove_bounce_settings()
    flash(
        _("Bounce mailbox removed: bounces are no longer read, envelope senders are plain."),
        "success",
    )
    return redirect(url_for("bounces.index"))
