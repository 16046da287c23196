"""The logged-in user's own mailbox (IMAP), where copies of the mail they send are kept."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from designer.auth import protect
from designer.mail import idle, imap, oauth, sentcopy
from designer.mail.mailbox import check_mailbox, link_mailbox, mailbox_for, unlink_mailbox
from designer.mail.oauth_views import connect_context

bp = Blueprint("mailbox", __name__)
protect(bp)

FIELDS = ("host", "port", "security", "username", "sent_folder")


@bp.route("/settings/mailbox", methods=["GET", "POST"])
def settings():
    user = current_user._get_current_object()
    if request.method == "POST":
        return _save(user)
    return _page(user, {})


def _page(user, form, status=200):
    mailbox = mailbox_for(user)
    values = {
        name: form.get(name, getattr(mailbox, name, "") if mailbox else "") for name in FIELDS
    }
    if not values["security"]:
        values["security"] = "tls"
    if not values["port"]:
        values["port"] = imap.DEFAULT_PORTS[values["security"]]
    status_of_copies = sentcopy.mailbox_status(mailbox) if mailbox else None
    return render_template(
        "mail/mailbox.html",
        mailbox=mailbox,
        values=values,
        copies=status_of_copies,
        watched=idle.state_of(mailbox.id) if mailbox else None,
        security=imap.SECURITY,
        oauth=connect_context("mailbox", oauth.grant_for(mailbox=mailbox)),
    ), status


def _save(user):
    form = request.form
    try:
        mailbox = link_mailbox(
            user,
            host=form.get("host", ""),
            port=form.get("port", ""),
            security=form.get("security", ""),
            username=form.get("username", ""),
            password=form.get("password", ""),
            sent_folder=form.get("sent_folder", ""),
        )
    except ValueError as exc:
        flash(_("Not saved: %(error)s", error=exc), "error")
        return _page(user, form, status=400)
    if form.get("action") != "test":
        flash(_("Mailbox saved."), "success")
    else:
        try:
            flash(_("Saved.") + " " + check_mailbox(mailbox), "success")
        except imap.MailboxError as exc:
            flash(_("Saved, but the connection test failed: %(error)s", error=exc), "error")
    return redirect(url_for("mailbox.settings"))


@bp.route("/settings/mailbox/remove", methods=["POST"])
def remove():
    if unlink_mailbox(current_user._get_current_object()):
        flash(_("Mailbox removed: copies of the mail you send are no longer kept."), "success")
    else:
        flash(_("No mailbox was linked."), "info")
    return redirect(url_for("mailbox.settings"))
