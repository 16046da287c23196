"""The Outbox (what the local SMTP catcher received) and message pages."""

from email import message_from_bytes, policy

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _
from flask_login import current_user

from designer import campaigns, keyset, mail, tracking
from designer.auth import protect
from designer.mail import replies, sentcopy
from designer.records import RecordNotFound
from designer.templating import MergeError
from designer.templating.attachments import attached
from designer.templating.preview import PREVIEW_CSP
from designer.tracking import without_pixel

bp = Blueprint("mail", __name__)
protect(bp)


def _outbox_or_404(outbox_id):
    item = mail.get_outbox_message(outbox_id)
    if item is None or (item.system_mail and not current_user.is_admin):
        abort(404, description=_("no outbox message with id %(id)s", id=outbox_id))
    return item


def _parts(raw):
    parsed = message_from_bytes(raw, policy=policy.default)
    html = parsed.get_body(preferencelist=("html",))
    text = parsed.get_body(preferencelist=("plain",))
    return (
        parsed,
        html.get_content() if html is not None else "",
        text.get_content() if text is not None else "",
    )


@bp.route("/outbox")
def outbox():
    page = mail.outbox_page(keyset.before_arg(), system_mail=current_user.is_admin)
    return render_template("mail/outbox.html", page=page)


@bp.route("/outbox/<int:outbox_id>")
def outbox_item(outbox_id):
    item = _outbox_or_404(outbox_id)
    parsed, _html, text = _parts(item.raw)
    raw = item.raw.decode("utf-8", "replace")
    return render_template(
        "mail/outbox_item.html", item=item, headers=list(parsed.items()), text=text, raw=raw
    )


@bp.route("/outbox/<int:outbox_id>/html")
def outbox_html(outbox_id):
    """The HTML part alone, for the sandboxed iframe on the outbox page."""
    _parsed, html, _text = _parts(_outbox_or_404(outbox_id).raw)
    return Response(without_pixel(html), headers={"Content-Security-Policy": PREVIEW_CSP})


def message_json(message):
    return {
        "id": message.id,
        "state": message.state,
        "bounce": message.bounce or None,
        "recipient": message.recipient_email,
        "to_extra": message.to_extra or [],
        "cc": message.cc or [],
        "bcc": message.bcc or [],
        "from": message.from_address,
        "subject": message.subject,
        "template_version_id": message.template_version_id,
        "purpose": message.purpose,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "message_id": message.message_id,
        "open_count": message.open_count,
        "human_open_count": message.human_open_count,
        "click_count": message.click_count,
        "human_click_count": message.human_click_count,
        "first_opened_at": _iso(message.first_opened_at),
        "last_opened_at": _iso(message.last_opened_at),
        "sent_at": _iso(message.sent_at),
        "replied_at": _iso(message.replied_at),
    }


def _iso(value):
    return value.isoformat() + "Z" if value else None


def _message_or_404(message_id):
    message = mail.get_message(message_id)
    if message is None or (mail.is_system_mail(message) and not current_user.is_admin):
        abort(404, description=_("no message with id %(id)s", id=message_id))
    return message


def _labels():
    """The words the message page shows for the states and kinds stored as codes."""
    words = {
        "state": {
            "queued": _("queued"),
            "sending": _("sending"),
            "sent": _("sent"),
            "failed": _("failed"),
            "suppressed": _("suppressed"),
            "cancelled": _("cancelled"),
        },
        "bounce": {"soft": _("soft"), "hard": _("hard")},
        "copy": {"pending": _("pending"), "done": _("done"), "failed": _("failed")},
        "event": {"open": _("open"), "click": _("click")},
        "class": {
            "human": _("human"),
            "privacy_proxy": _("privacy proxy"),
            "scanner": _("scanner"),
            "prefetch": _("prefetch"),
        },
    }

    def label(kind):
        return lambda code: words[kind].get(code, (code or "").replace("_", " "))

    return {
        "state_label": label("state"),
        "bounce_label": label("bounce"),
        "copy_state_label": label("copy"),
        "event_label": label("event"),
        "classification_label": label("class"),
    }


@bp.route("/messages/<int:message_id>")
@tracking.fresh_counts
def message_page(message_id):
    """One message: who, what, its state and history, and its sent copy."""
    message = _message_or_404(message_id)
    return render_template(
        "mail/message.html",
        message=message,
        campaign=campaigns.get_campaign(message.campaign_id),
        copy=sentcopy.copy_state(message),
        events=tracking.timeline(message.id),
        replies=replies.replies_to(message.id),
        pdfs=attached(message.template_version.template, message.attach_pdf_ids),
        **_labels(),
    )


@bp.route("/messages/<int:message_id>/html")
def message_html(message_id):
    """The message merged again for display (without pixel: viewing here is no open)."""
    message = _message_or_404(message_id)
    try:
        raw = mail.build_message(message, tracking=False, attachments=False).data
    except (MergeError, RecordNotFound) as exc:
        abort(404, description=_("the message cannot be shown: %(why)s", why=exc))
    _parsed, html, _text = _parts(raw)
    return Response(html, headers={"Content-Security-Policy": PREVIEW_CSP})
