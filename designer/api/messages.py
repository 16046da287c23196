"""Messages: one sent (or queued) e-mail, and its outcomes: delivery, opens and clicks."""

from flask import abort
from flask_login import current_user
from marshmallow import Schema, fields

from designer import mail, tracking
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.mail import sentcopy
from designer.mail.models import STATES
from designer.mail.views import message_json
from designer.tracking.models import CLASSES, KINDS

bp = ApiBlueprint(
    "Messages",
    __name__,
    url_prefix="/api/v1/messages",
    description="Messages: one per recipient, with delivery and tracking.",
)
protect(bp)

MESSAGE_PATH = "/<int(max=2147483647):message_id>"


class SentCopySchema(Schema):
    state = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(required=True)
    folder = fields.String(required=True)
    appended_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    next_attempt_at = fields.String(
        required=True, allow_none=True, metadata={"format": "date-time"}
    )


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    bounce = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "hard or soft when the message bounced, else null"},
    )
    recipient = fields.String(required=True)
    from_ = fields.String(required=True, data_key="from", attribute="from")
    subject = fields.String(required=True)
    template_version_id = fields.Integer(required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(required=True)
    message_id = fields.String(required=True, metadata={"description": "The Message-ID header."})
    open_count = fields.Integer(required=True)
    human_open_count = fields.Integer(required=True)
    click_count = fields.Integer(required=True)
    human_click_count = fields.Integer(required=True)
    first_opened_at = fields.String(
        required=True, allow_none=True, metadata={"format": "date-time"}
    )
    last_opened_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    sent_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    sent_copy = fields.Nested(
        SentCopySchema,
        required=True,
        allow_none=True,
        metadata={"description": "The copy kept in the sender's mailbox, when they linked one."},
    )


class EventSchema(Schema):
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    at = fields.String(required=True, metadata={"format": "date-time"})
    classification = fields.String(required=True, metadata={"enum": list(CLASSES)})
    url = fields.String(
        required=True, allow_none=True, metadata={"description": "The link clicked (clicks only)."}
    )
    user_agent = fields.String(required=True)


class OutcomesSchema(Schema):
    message = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    bounce = fields.String(required=True, allow_none=True)
    sent_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    smtp_reply = fields.String(required=True, metadata={"description": "The server's answer."})
    last_error = fields.String(required=True)
    opens = fields.Integer(required=True)
    human_opens = fields.Integer(required=True)
    clicks = fields.Integer(required=True)
    human_clicks = fields.Integer(required=True)
    events = fields.List(
        fields.Nested(EventSchema),
        required=True,
        metadata={"description": "Every open and click, oldest first."},
    )


def _message(message_id):
    message = mail.get_message(message_id)
    if message is None or (mail.is_system_mail(message) and not current_user.is_admin):
        abort(404, description=f"no message with id {message_id}")
    return message


def _iso(value):
    return value.isoformat() + "Z" if value else None


def _event(event, links):
    index = event.link_index
    clicked = event.kind == "click" and index is not None and 0 <= index < len(links)
    url = links[index]["url"] if clicked else None
    return {
        "kind": event.kind,
        "at": _iso(event.at),
        "classification": event.classification,
        "url": url,
        "user_agent": event.user_agent,
    }


@bp.route(MESSAGE_PATH)
@tracking.fresh_counts
@bp.response(200, MessageSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_message(message_id):
    """One message: recipient, state, delivery attempts, open and click counts."""
    message = _message(message_id)
    return {**message_json(message), "sent_copy": sentcopy.copy_state(message)}


@bp.route(MESSAGE_PATH + "/outcomes")
@tracking.fresh_counts
@bp.response(200, OutcomesSchema)
@bp.alt_response(404, response="NOT_FOUND")
def outcomes(message_id):
    """What became of a message: the server's answer, bounces, and every open and click."""
    message = _message(message_id)
    links = list(message.template_version.links or []) if message.template_version else []
    return {
        "message": message.id,
        "state": message.state,
        "bounce": message.bounce or None,
        "sent_at": _iso(message.sent_at),
        "smtp_reply": message.smtp_reply,
        "last_error": message.last_error,
        "opens": message.open_count,
        "human_opens": message.human_open_count,
        "clicks": message.click_count,
        "human_clicks": message.human_click_count,
        "events": [_event(e, links) for e in tracking.timeline(message.id)],
    }
