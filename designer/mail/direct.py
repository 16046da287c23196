"""Direct sends: one template to one record, asked for by an integration (the REST API).

Everything a send needs is checked before the ledger row is written (an e-mail
template for the record's module, the version, the recipient's address and
the suppression list for the template's purpose, the PDF attachments, the
sender), so a refusal writes nothing. The row then goes through the ledger like any send
(``ledger.new_message``, ``ledger.queue_messages``).

An idempotency key makes a send happen once: it becomes the row's dedupe key,
scoped to the user who asked, so a request repeated with the same key (a
retry after a lost answer, two at once) answers the message the first one
wrote and sends nothing more. The same key for a different send is refused.
"""

import logging
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError

from designer import templating
from designer.extensions import db
from designer.mail import consent, ledger
from designer.mail.models import Message
from designer.mail.sender import NoSystemAddress, resolve_sender
from designer.records import recipient_of

#: PDF templates one message may attach besides its template's own.
MAX_EXTRA_ATTACHMENTS = 10


class SendRefused(ValueError):
    """The send cannot be made as asked: ``field`` names the input at fault, ``code`` why."""

    def __init__(self, field, code, message, **details):
        super().__init__(message)
        self.field, self.code, self.details = field, code, details


class KeyReused(SendRefused):
    """The idempotency key was used before for another send."""


@dataclass(frozen=True)
class DirectSend:
    """What an integration asks for: ``template`` (a main template or a variant) to the
    recipient of ``record``, from ``sender_user`` (None: the system)."""

    template: object
    module: str
    record: object
    sender_user: object
    version: int | None = None
    locale: str | None = None
    attach_pdf_ids: tuple = field(default_factory=tuple)


def send_to_record(request, requested_by, idempotency_key=None):
    """Write and queue the message ``request`` (a DirectSend) asks for; ``(message,
    repeated)``, ``repeated`` True when ``idempotency_key`` had sent it already.

    ``SendRefused`` (``KeyReused``) says what is wrong with the request.
    """
    dedupe_key = f"api:{requested_by.id}:{idempotency_key}" if idempotency_key else None
    earlier = _by_key(dedupe_key)
    if earlier is not None:
        return _same_send(earlier, request, idempotency_key), True
    recipient = _recipient(request)
    message = ledger.new_message(
        _version(request, recipient.language),
        module=request.module,
        record=request.record,
        sender_user=_checked_sender(request.sender_user),
        dedupe_key=dedupe_key,
        locale=request.locale,
        to=recipient,
        attach_pdf_ids=_attachments(request),
    )
    try:
        ledger.queue_messages([message])
    except IntegrityError:  # the same key, a moment earlier, from a request running beside
        db.session.rollback()
        return _same_send(_by_key(dedupe_key), request, idempotency_key), True
    except RedisError:  # the row is written: the dispatcher queues it once Redis answers
        logging.getLogger(__name__).warning("message %s written, not queued", message.id)
    return message, False


def _by_key(dedupe_key):
    if dedupe_key is None:
        return None
    return db.session.scalar(db.select(Message).where(Message.dedupe_key == dedupe_key))


def _same_send(message, request, key):
    """``message`` when it is the send ``request`` asks for, else ``KeyReused``."""
    template = message.template_version.template
    same = (
        request.template.id in (template.id, template.variant_of_id)
        and (message.record_module, message.record_id) == (request.module, request.record.id)
        and message.sender_id == getattr(request.sender_user, "id", None)
    )
    if not same:
        raise KeyReused(
            "idempotency_key",
            "idempotency_key_reused",
            f"the idempotency key {key!r} was used for another send (message {message.id}); "
            "use a new key for a new send",
            message_id=message.id,
        )
    return message


def _version(request, recipient_language):
    """The version to send: the one asked for, else the current one of the variant in the
    message's language (the locale asked for, else the recipient's)."""
    template = request.template
    if template.kind != "email":
        raise SendRefused(
            "template_id", "not_an_email", f"template {template.id} is a PDF template"
        )
    if template.module != request.module:
        raise SendRefused(
            "record",
            "wrong_module",
            f"template {template.id} is made for {template.module} records, "
            f"not for {request.module} records",
        )
    if request.version is not None:
        try:
            return templating.get_version(template, request.version)
        except LookupError as exc:
            raise SendRefused("version", "no_such_version", str(exc)) from None
    version = templating.version_for(template, request.locale or recipient_language)
    if version is None:
        raise SendRefused("template_id", "not_saved", f"template {template.id} has no version")
    return version


def _recipient(request):
    """The record's recipient, when it has an address that is not suppressed."""
    record = request.record
    is_document = request.module in ("quote", "invoice")
    if is_document and record.contact is None and record.organisation is None:
        raise SendRefused(
            "record",
            "no_address",
            f"{request.module} {record.id} has neither a contact nor an organisation",
        )
    recipient = recipient_of(request.module, record)
    if not recipient.email:
        raise SendRefused(
            "record",
            "no_address",
            f"{request.module} {request.record.id} has no e-mail address",
        )
    found = consent.suppression_of(recipient.email)
    held = consent.hold_back_reason(templating.purpose_of(request.template), found)
    if held is not None:
        reason, since = found
        raise SendRefused(
            "record",
            "recipient_suppressed",
            f"{recipient.email} is on the suppression list, {held}: "
            f"{templating.purpose_of(request.template)} mail does not go to it",
            reason=reason,
            since=since.isoformat() + "Z" if since else None,
        )
    return recipient


def _attachments(request):
    """The PDF templates to attach besides the template's own: PDFs of the same module."""
    ids = list(dict.fromkeys(request.attach_pdf_ids))
    if len(ids) > MAX_EXTRA_ATTACHMENTS:
        raise SendRefused(
            "attach_pdf_template_ids",
            "too_many_attachments",
            f"at most {MAX_EXTRA_ATTACHMENTS} PDF templates can be attached",
        )
    for pdf_id in ids:
        try:
            pdf = templating.get_template(pdf_id)
        except templating.TemplateNotFound:
            pdf = None
        if pdf is None or pdf.kind != "pdf" or pdf.module != request.module:
            raise SendRefused(
                "attach_pdf_template_ids",
                "invalid_attachment",
                f"there is no PDF template with id {pdf_id} for {request.module} records",
            )
    return ids


def _checked_sender(user):
    """``user`` when mail can go out as them (the system needs a central address)."""
    try:
        resolve_sender(user)
    except NoSystemAddress as exc:
        raise SendRefused("sender", "no_system_address", str(exc)) from None
    return user
