"""Compose: one e-mail to one record, written by a user on the record's page.

``Draft`` is what the compose form holds; ``plan`` checks it all against the
record, the template, the From policy and the suppression list and says what
would be sent, to whom (``Plan``), or every problem at once
(``ComposeInvalid``). Nothing is written to the ledger until ``send`` is
called with a plan the user confirmed: it keeps one-off edits of the subject
and body as a one-off template version (the template is not changed), writes
the ledger row with its To, Cc and Bcc, links the uploaded files and queues
the row now or for its time.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _

from designer.clock import utcnow
from designer.extensions import db
from designer.i18n import _l
from designer.mail import consent, copies, ledger, uploads
from designer.mail.sender import NoSystemAddress, resolve_sender
from designer.records import Recipient, RecordNotFound, get_record, recipient_of
from designer.templating import (
    Template,
    TemplateInvalid,
    list_templates,
    one_off_version,
    purpose_of,
    version_for,
)
from designer.templating.attachments import attached
from designer.templating.compiler import check_syntax, compile_source, normalise_newlines

#: Records one can write to from their page.
MODULES = ("organisation", "contact", "quote", "invoice")
#: The records' names in the page's sentences ("this contact has no e-mail address").
MODULE_NAMES = {
    "organisation": _l("organisation"),
    "contact": _l("contact"),
    "quote": _l("quote"),
    "invoice": _l("invoice"),
}
#: Who the mail is from: the user, the system (central or company address), the record's owner.
SENDERS = ("me", "system", "owner")
#: How far ahead a message may be scheduled.
LATEST = timedelta(days=365)
#: Largest id accepted from a form (ids are 32-bit integers in the database).
MAX_ID = 2**31 - 1


class ComposeInvalid(ValueError):
    """The draft cannot be sent as it is: ``problems`` maps a field to what is wrong."""

    def __init__(self, problems):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass
class Draft:
    """What the compose form holds (all text as typed, ids as given)."""

    template_id: int | None = None
    more_to: str = ""
    cc: str = ""
    bcc: str = ""
    pdf_ids: list = field(default_factory=list)
    file_ids: list = field(default_factory=list)
    sender: str = "me"
    send_at: str = ""
    subject: str | None = None
    body: str | None = None
    #: The version ``subject`` and ``body`` were taken from; another version chosen since
    #: (another template, another variant) brings its own.
    based_on: int | None = None


@dataclass
class Plan:
    """A checked draft: exactly what ``send`` will write."""

    module: str
    record: object
    template: object
    version: object
    recipient: object
    sender_user: object
    sender: object
    to_extra: list
    cc: list
    bcc: list
    pdfs: list
    files: list
    not_before: datetime | None
    subject: str
    body: str
    #: ``(address, why)`` of the copies the suppression list holds back (left out).
    held: list

    @property
    def edited(self):
        return self.subject != self.version.subject or self.body != self.version.source

    @property
    def people(self):
        """Every address that gets the mail, the record's first."""
        return [self.recipient.email, *self.to_extra, *self.cc, *self.bcc]


def record_of(module, record_id):
    """The record to write to; ``RecordNotFound`` when there is none (or the id is absurd)."""
    if module not in MODULES or not 0 < record_id <= MAX_ID:
        raise RecordNotFound(f"no {module} with id {record_id}")
    return get_record(module, record_id)


def templates_for(module):
    """The e-mail templates of ``module`` with their language variants, as
    ``(main, [variants])``, main templates without a saved version left out."""
    return [
        (t, [v for v in t.variants if v.current is not None])
        for t in list_templates(kind="email", module=module)
        if t.current is not None
    ]


def pdf_templates_for(module):
    """The PDF templates that can be rendered for a record of ``module``."""
    return list_templates(kind="pdf", module=module)


def owner_of(module, record):
    """The user who owns ``record`` (a document's, else its organisation's), or None."""
    owner = getattr(record, "owner", None)
    if owner is None and module in ("quote", "invoice", "contact"):
        organisation = record.organisation
        owner = organisation.owner if organisation is not None else None
    return owner


def recipient_for(module, record):
    """Where the record's mail goes (``records.recipient_of``); a quote or invoice of no
    contact and no organisation has no address."""
    if module in ("quote", "invoice") and record.contact is None and record.organisation is None:
        return Recipient("", "", "", None, None)
    return recipient_of(module, record)


def chosen_version(template, recipient):
    """The version a template sends to ``recipient``: a main template's in the recipient's
    language, a variant chosen on purpose its own."""
    if template.variant_of_id is not None:
        return template.current
    return version_for(template, recipient.language)


def plan(module, record, draft, user, now=None):
    """Check ``draft`` for ``record`` as ``user`` writes it; return the ``Plan``, or raise
    ``ComposeInvalid`` naming every problem."""
    problems = {}
    recipient = recipient_for(module, record)
    if not recipient.email:
        problems["to"] = _(
            "this %(module)s has no e-mail address to send to", module=_module_name(module)
        )
    template, version = _template(module, draft.template_id, recipient, problems)
    addresses = {
        name: _addresses(getattr(draft, name), label, problems, name)
        for name, label in (("more_to", "To"), ("cc", "Cc"), ("bcc", "Bcc"))
    }
    sender_user, sender = _sender(module, record, draft.sender, user, problems)
    pdfs = _pdfs(module, draft.pdf_ids, problems)
    files = uploads.pending(draft.file_ids, user)
    not_before = _send_at(draft.send_at, user, problems, now or utcnow())
    subject, body = text_of(version, draft)
    if version is not None and not subject.strip():
        problems["subject"] = _("the e-mail needs a subject")
    if len(subject) > 500:
        problems["subject"] = _("the subject is longer than %(max)s characters", max=500)
    if version is not None and "subject" not in problems:
        _check_edits(version, subject, body, problems)
    held = []
    if template is not None and recipient.email:
        held = _held(template, recipient, addresses, problems)
    if problems:
        raise ComposeInvalid(problems)
    return Plan(
        module=module,
        record=record,
        template=template,
        version=version,
        recipient=recipient,
        sender_user=sender_user,
        sender=sender,
        to_extra=addresses["more_to"],
        cc=addresses["cc"],
        bcc=addresses["bcc"],
        pdfs=pdfs,
        files=files,
        not_before=not_before,
        subject=subject,
        body=body,
        held=held,
    )


def _module_name(module):
    return MODULE_NAMES.get(module, module)


def text_of(version, draft):
    """``(subject, body)`` of the draft: as typed when typed on ``version``, else the
    version's own."""
    if version is None:
        return "", ""
    if draft.based_on != version.id or draft.subject is None or draft.body is None:
        return version.subject, version.source
    # Browsers send a textarea's line breaks as CRLF: unchanged text must compare equal.
    return draft.subject, normalise_newlines(draft.body)


def editing(module, record, draft):
    """``(template, version, subject, body)`` the form shows for ``draft``, whatever else
    is wrong with it (no template: Nones and empty text)."""
    recipient = recipient_for(module, record)
    template, version = _template(module, draft.template_id, recipient, {})
    return (template, version, *text_of(version, draft))


def email_template(template_id):
    """The e-mail template with that id (not a built-in one), or None."""
    template = db.session.get(Template, template_id) if 0 < template_id <= MAX_ID else None
    if template is None or template.system_key is not None or template.kind != "email":
        return None
    return template


def _template(module, template_id, recipient, problems):
    if not template_id:
        problems["template"] = _("choose a template")
        return None, None
    template = email_template(template_id)
    if template is None:
        problems["template"] = _("there is no e-mail template with id %(id)s", id=template_id)
        return None, None
    if template.module != module:
        problems["template"] = _(
            "“%(name)s” is made for %(their)s records, not for a %(module)s",
            name=template.name,
            their=_module_name(template.module),
            module=_module_name(module),
        )
        return None, None
    version = chosen_version(template, recipient)
    if version is None:
        problems["template"] = _("“%(name)s” has no saved version yet", name=template.name)
        return None, None
    return template, version


def _check_edits(version, subject, body, problems):
    """One-off edits must compile as a save of the template would."""
    if subject == version.subject and body == version.source:
        return
    try:
        compile_source(version.template.source_type, body, "email", text_part=False)
    except TemplateInvalid as exc:
        if exc.line:
            problems["body"] = _(
                "the text cannot be used (line %(line)s): %(why)s", line=exc.line, why=exc.message
            )
        else:
            problems["body"] = _("the text cannot be used: %(why)s", why=exc.message)
    try:
        check_syntax(subject, "subject")
    except TemplateInvalid as exc:
        problems["subject"] = exc.message


def _addresses(text, label, problems, name):
    try:
        return copies.parse_addresses(text, label)
    except copies.AddressesInvalid as exc:
        problems[name] = str(exc)
        return []


def _sender(module, record, choice, user, problems):
    """``(sending user or None, resolved Sender)``: always through the From policy."""
    if choice not in SENDERS:
        problems["sender"] = _("choose who the e-mail is from")
        return user, None
    sender_user = {"me": user, "system": None, "owner": owner_of(module, record)}[choice]
    if choice == "owner" and sender_user is None:
        problems["sender"] = _(
            "this %(module)s has no owner; send it as yourself or the system",
            module=_module_name(module),
        )
        return user, None
    try:
        return sender_user, resolve_sender(sender_user)
    except NoSystemAddress as exc:
        problems["sender"] = str(exc)
        return sender_user, None


def _pdfs(module, pdf_ids, problems):
    pdfs = []
    for value in pdf_ids:
        template = db.session.get(Template, value) if 0 < value <= MAX_ID else None
        if template is None or template.kind != "pdf" or template.system_key is not None:
            problems["pdfs"] = _("there is no PDF template with id %(id)s", id=value)
        elif template.module != module:
            problems["pdfs"] = _(
                "“%(name)s” is made for %(module)s records",
                name=template.name,
                module=_module_name(template.module),
            )
        elif template not in pdfs:
            pdfs.append(template)
    return pdfs


def _send_at(text, user, problems, now):
    """The send time typed in the user's time zone, as naive UTC; None: now."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        zone = ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        problems["send_at"] = _(
            "“%(text)s” is not a date and time (such as 2026-12-24T09:00)", text=text[:40]
        )
        return None
    when = local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    if when <= now:
        problems["send_at"] = _(
            "%(time)s (%(zone)s) has passed; choose a later time",
            time=f"{local:%Y-%m-%d %H:%M}",
            zone=zone.key,
        )
    elif when > now + LATEST:
        problems["send_at"] = _("a message can be scheduled at most a year ahead")
    return when


def _held(template, recipient, addresses, problems):
    """Refuse when the record's address is suppressed for the template's purpose; take out
    the copies that are, and return them with why."""
    purpose = purpose_of(template)
    everyone = [recipient.email, *(a for found in addresses.values() for a in found)]
    suppressed = consent.suppressions_among(everyone)
    why = consent.hold_back_reason(purpose, suppressed.get(recipient.email.lower()))
    if why is not None:
        if purpose == "marketing":
            problems["to"] = _(
                "%(address)s does not get marketing mail (%(why)s): this e-mail cannot be sent "
                "to it",
                address=recipient.email,
                why=why,
            )
        else:
            problems["to"] = _(
                "%(address)s does not get transactional mail (%(why)s): this e-mail cannot be "
                "sent to it",
                address=recipient.email,
                why=why,
            )
    held = []
    for found in addresses.values():
        for address in list(found):
            why = consent.hold_back_reason(purpose, suppressed.get(address.lower()))
            if why is not None:
                found.remove(address)
                held.append((address, why))
    return held


def template_attachments(plan):
    """The PDF templates the chosen template attaches by itself, then those chosen."""
    return attached(plan.version.template, [p.id for p in plan.pdfs])


def send(plan, user, dedupe_key=None):
    """Write what ``plan`` says to the ledger and queue it (now, or for its time); return
    the message. ``dedupe_key`` makes a confirmation sent twice write one message."""
    if dedupe_key is not None and ledger.known_dedupe_keys([dedupe_key]):
        return db.session.scalar(
            db.select(ledger.Message).where(ledger.Message.dedupe_key == dedupe_key)
        )
    version = plan.version
    if plan.edited:
        version = one_off_version(version, subject=plan.subject, source=plan.body, user=user)
    message = ledger.new_message(
        version,
        module=plan.module,
        record=plan.record,
        sender_user=plan.sender_user,
        dedupe_key=dedupe_key,
        to=plan.recipient,
        attach_pdf_ids=[p.id for p in plan.pdfs],
        not_before=plan.not_before,
        to_extra=plan.to_extra,
        cc=plan.cc,
        bcc=plan.bcc,
    )
    db.session.add(message)
    db.session.flush()
    uploads.link(plan.files, message)
    ledger.queue_messages([message])
    return message


__all__ = [
    "ComposeInvalid",
    "Draft",
    "Plan",
    "TemplateInvalid",
    "plan",
    "record_of",
    "send",
]
