"""Messages: send a template to a record, one sent (or queued) e-mail, and its outcomes:
delivery, opens, clicks and replies."""

from flask import abort, url_for
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from designer import mail, records, templating, tracking
from designer.api.schemas import Id, Language, Text
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.auth.accounts import find_user
from designer.errors import ApiError
from designer.mail import history, replies, sentcopy
from designer.mail.direct import (
    MAX_EXTRA_ATTACHMENTS,
    DirectSend,
    KeyReused,
    SendRefused,
    send_to_record,
)
from designer.mail.models import STATES
from designer.mail.sender import sending_policy
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
    to_extra = fields.List(
        fields.String(), required=True, metadata={"description": "More addresses in To."}
    )
    cc = fields.List(fields.String(), required=True)
    bcc = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "In the SMTP envelope only, never in the message's headers."},
    )
    from_ = fields.String(required=True, data_key="from", attribute="from")
    subject = fields.String(required=True)
    template_version_id = fields.Integer(required=True)
    purpose = fields.String(
        required=True,
        metadata={
            "enum": ["marketing", "transactional"],
            "description": "From the template when the message was written: marketing mail "
            "is held back for every suppressed address, transactional mail only for a hard "
            "bounce.",
        },
    )
    attempts = fields.Integer(required=True)
    last_error = fields.String(
        required=True,
        metadata={
            "description": "Why it failed, or, for a suppressed message, why it was held "
            "back (e.g. `held back: unsubscribed on 3 Dec 2026`)."
        },
    )
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
    replied_at = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "format": "date-time",
            "description": "When the first reply from a person (not an auto-reply) came, "
            "read from the sender's mailbox; null when none.",
        },
    )
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


class ReplySchema(Schema):
    id = fields.Integer(required=True)
    received_at = fields.String(required=True, metadata={"format": "date-time"})
    sender_name = fields.String(required=True)
    sender_email = fields.String(required=True)
    subject = fields.String(required=True)
    excerpt = fields.String(
        required=True,
        metadata={
            "description": "The reply's own words as plain text (no markup, the quoted "
            "message left out), at most 1,000 characters."
        },
    )
    auto = fields.Boolean(
        required=True,
        metadata={"description": "An automatic answer (out of office, RFC 3834), not a person's."},
    )
    reply_message_id = fields.String(
        required=True, metadata={"description": "The reply's own Message-ID header."}
    )
    open_link = fields.String(
        required=True,
        metadata={"description": "A `message:` URL of that Message-ID, to open it in mail."},
    )


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


#: Characters of an idempotency key: visible ASCII (a UUID, ``crm:invoice:4711``).
IDEMPOTENCY_KEY = r"^[!-~]{1,100}$"


class RecordRefSchema(Schema):
    """Which record: Designer's ``id`` or the CRM's ``external_id`` (one of them)."""

    module = Text(
        validate=validate.OneOf(history.MODULES),
        metadata={"description": "The record's module; default: the template's module."},
    )
    id = Id(metadata={"description": "Designer's id of the record.", "example": 42})
    external_id = Text(
        validate=validate.Length(1, 100),
        metadata={"description": "The CRM's id of the record.", "example": "12x345"},
    )

    @validates_schema
    def _one_id(self, data, **kwargs):
        if ("id" in data) == ("external_id" in data):
            raise ValidationError("Give id or external_id (one of them).", "id")


class NewMessageSchema(Schema):
    template_id = Id(required=True, metadata={"description": "A saved e-mail template."})
    version = Id(
        metadata={
            "description": "Send this version (its number) of the template; default: the "
            "current version of the variant in the message's language."
        }
    )
    record = fields.Nested(RecordRefSchema, required=True)
    sender = Text(
        validate=validate.Length(1, 320),
        metadata={
            "description": "Send as this user (their e-mail address; the central From "
            "address stands for you), or `system`; default: you. Marketers send as "
            "themselves only. The From follows the sending policy."
        },
    )
    locale = Language(
        metadata={
            "description": "The message's language: the template's variant in it, and its "
            "formats; default: the recipient's language."
        }
    )
    attach_pdf_template_ids = fields.List(
        Id(),
        validate=validate.Length(max=MAX_EXTRA_ATTACHMENTS),
        metadata={
            "description": "PDF templates of the record's module, rendered for the record "
            "and attached besides the template's own attachments."
        },
    )
    idempotency_key = Text(
        validate=validate.Regexp(IDEMPOTENCY_KEY, error="1 to 100 visible ASCII characters."),
        metadata={
            "description": "Sends once: a request repeated with the same key answers the "
            "message the first one queued (header `Idempotent-Replayed: true`)."
        },
    )


NEW_MESSAGE_EXAMPLE = {
    "template_id": 3,
    "record": {"module": "invoice", "external_id": "7x1001"},
    "sender": "ann@example.com",
    "locale": "nl",
    "attach_pdf_template_ids": [5],
    "idempotency_key": "crm-invoice-1001-reminder-1",
}
MESSAGE_EXAMPLE = {
    "id": 1201,
    "state": "queued",
    "bounce": None,
    "recipient": "jan@devries.example",
    "to_extra": [],
    "cc": ["ann@example.com"],
    "bcc": [],
    "from": "Ann Marketing <ann@example.com>",
    "subject": "",
    "template_version_id": 17,
    "purpose": "marketing",
    "attempts": 0,
    "last_error": "",
    "message_id": "",
    "open_count": 0,
    "human_open_count": 0,
    "click_count": 0,
    "human_click_count": 0,
    "first_opened_at": None,
    "last_opened_at": None,
    "sent_at": None,
    "replied_at": None,
    "sent_copy": None,
}


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
    return message_body(_message(message_id))


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


@bp.route(MESSAGE_PATH + "/replies")
@bp.response(200, ReplySchema(many=True))
@bp.alt_response(404, response="NOT_FOUND")
def message_replies(message_id):
    """The replies to a message, oldest first, read from the sender's mailbox (auto-replies
    included, marked `auto`)."""
    return [_reply(reply) for reply in replies.replies_to(_message(message_id).id)]


def _reply(reply):
    return {
        "id": reply.id,
        "received_at": _iso(reply.received_at),
        "sender_name": reply.sender_name,
        "sender_email": reply.sender_email,
        "subject": reply.subject,
        "excerpt": reply.excerpt,
        "auto": reply.auto,
        "reply_message_id": reply.header_message_id,
        "open_link": reply.open_link,
    }


def message_body(message):
    """A message as the API answers it (``MessageSchema``)."""
    return {**message_json(message), "sent_copy": sentcopy.copy_state(message)}


def _refused(status, code, field, message, **details):
    return ApiError(status, code, f"{field}: {message}", {"fields": {field: [message]}, **details})


def _template(template_id):
    try:
        return templating.get_template(template_id)
    except templating.TemplateNotFound as exc:
        raise _refused(422, "unknown_template", "template_id", str(exc)) from None


def _record(ref, template):
    module = ref.get("module") or template.module
    if module not in history.MODULES:
        message = f"{module} records receive no mail; name the record's module"
        raise _refused(422, "unknown_record", "record", message)
    try:
        if "id" in ref:
            return module, records.get_record(module, ref["id"])
        return module, records.get_record_by_external_id(module, ref["external_id"])
    except records.RecordNotFound as exc:
        raise _refused(422, "unknown_record", "record", str(exc)) from None


def _sender_user(address):
    """The user ``address`` names as the sender (None: the system), if you may send as them."""
    me = current_user._get_current_object()
    address = (address or "").strip().lower()
    if not address or address == sending_policy()["central_from"].strip().lower():
        return me
    if address == "system":
        user = None
    else:
        user = find_user(address)
        if user is None or not user.is_active:
            message = f"no active user has the address {address}"
            raise _refused(422, "unknown_sender", "sender", message)
    if getattr(user, "id", None) != me.id and not me.is_admin:
        message = "marketers send as themselves; only administrators send as someone else"
        raise _refused(403, "forbidden", "sender", message)
    return user


@bp.route("", methods=["POST"])
@bp.arguments(NewMessageSchema, example=NEW_MESSAGE_EXAMPLE)
@bp.response(
    202,
    MessageSchema,
    description="Queued (or queued before, for this key)",
    example=MESSAGE_EXAMPLE,
)
@bp.alt_response(403, response="FORBIDDEN", description="You may not send as that sender")
@bp.alt_response(
    409, response="CONFLICT", description="The idempotency key was used for another send"
)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def send_message(body):
    """Send a template to a record's recipient.

    The message goes through the ledger like every send: written, then queued for the
    workers; follow it with `GET /api/v1/messages/{id}`. Refused with 422 (naming the field)
    for an unknown template, record or sender, a record without an e-mail address, a
    suppressed recipient (`recipient_suppressed`, with the `reason` and `since`: a
    marketing template is held back for every suppression, a transactional one only for a
    hard bounce), a version or attachment the template does not have; 403 when a marketer
    names another sender; 409 when the idempotency key was used for another send.
    """
    template = _template(body["template_id"])
    module, record = _record(body["record"], template)
    request = DirectSend(
        template,
        module,
        record,
        _sender_user(body.get("sender")),
        version=body.get("version"),
        locale=body.get("locale"),
        attach_pdf_ids=tuple(body.get("attach_pdf_template_ids", ())),
    )
    try:
        message, repeated = send_to_record(request, current_user, body.get("idempotency_key"))
    except KeyReused as exc:
        raise _refused(409, exc.code, exc.field, str(exc), **exc.details) from None
    except SendRefused as exc:
        raise _refused(422, exc.code, exc.field, str(exc), **exc.details) from None
    headers = {"Location": url_for("Messages.get_message", message_id=message.id)}
    if repeated:
        headers["Idempotent-Replayed"] = "true"
    return message_body(message), 202, headers
