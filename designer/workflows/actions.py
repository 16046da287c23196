"""Actions: who gets which template, from whom, in which locale — planned, then queued.

``plan`` works out every message an action would send for one record
without writing anything (the editor's "test against record" shows it);
``queue`` writes those messages to the ledger and queues them, after the
action's delay when it has one (RQ's scheduler; the ledger's due time is
the safety net). Each message's dedupe key names the run's fire key, the
action and the address, so running the same event again sends nothing new.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from designer import memo
from designer.clock import utcnow
from designer.extensions import db
from designer.mail import ledger
from designer.mail.sender import NoSystemAddress, resolve_sender
from designer.records import Recipient, recipient_of
from designer.records.models import Contact, User
from designer.templating import TemplateNotFound, choose_locale, get_template


@dataclass
class Planned:
    """One message an action sends (or would send)."""

    action: int
    template: object
    recipient: Recipient
    sender_user: User | None
    sender_label: str
    from_address: str
    locale: str
    locale_reason: str
    attach_pdf_ids: list
    delay_minutes: int
    notes: list = field(default_factory=list)


class ActionFailed(Exception):
    """An action cannot be carried out for this record (says why)."""


def admin_user():
    """The admin user workflows send as by default: the first administrator."""
    query = db.select(User).where(User.role == "admin").order_by(User.id).limit(1)
    return memo.remembered("admin_user", lambda: db.session.scalar(query))


def plan(action, index, module, record):
    """``([Planned, …], notes)`` for ``action`` (the ``index``-th) on ``record``: the
    messages, and what kept some from being sent (no owner, no address); ``ActionFailed``."""
    try:
        template = get_template(action["template_id"])
    except TemplateNotFound:
        raise ActionFailed(f"template {action['template_id']} no longer exists") from None
    notes = []
    sender_user, label = _sender_user(action, module, record, notes)
    try:
        sender = resolve_sender(sender_user)
    except NoSystemAddress as exc:
        raise ActionFailed(str(exc)) from None
    recipients = _recipients(action, module, record, notes)
    return [
        _planned(index, action, template, recipient, sender_user, label, sender, notes)
        for recipient in recipients
    ], notes


def _planned(index, action, template, recipient, sender_user, label, sender, notes):
    locale, reason = _locale(action["locale"], recipient, template, sender)
    return Planned(
        index,
        template,
        recipient,
        sender_user,
        label,
        f"{sender.name} <{sender.address}>",
        locale,
        reason,
        list(action.get("attach_pdf_ids") or []),
        action.get("delay_minutes", 0),
        list(notes),
    )


def _owner_of(module, record):
    if module == "contact":
        return record.organisation.owner if record.organisation else None
    return record.owner


def _sender_user(action, module, record, notes):
    kind = action["sender"]
    if kind == "system":
        return None, "the system"
    if kind == "owner":
        owner = _owner_of(module, record)
        if owner is not None:
            return owner, f"the record's owner, {owner.name}"
        notes.append("the record has no owner: sent as the admin user")
    if kind == "user":
        user = db.session.get(User, action.get("sender_user_id") or 0)
        if user is not None:
            return user, user.name
        notes.append("the chosen sender no longer exists: sent as the admin user")
    admin = admin_user()
    if admin is None:
        raise ActionFailed("there is no admin user to send as")
    return admin, f"the admin user, {admin.name}"


def _recipients(action, module, record, notes):
    to = action["to"]
    if to == "fixed":
        return [Recipient(address, "", "", None, None) for address in action["addresses"]]
    if to == "owner":
        owner = _owner_of(module, record)
        if owner is None or not owner.email:
            notes.append("the record has no owner to send to")
            return []
        return [Recipient(owner.email, owner.name, owner.language, None, None)]
    if to == "related_contacts":
        return _related_contacts(module, record, notes)
    if module in ("quote", "invoice") and record.contact is None and record.organisation is None:
        notes.append(f"the {module} has neither a contact nor an organisation to send to")
        return []
    recipient = recipient_of(module, record)
    if not recipient.email:
        notes.append(f"the {module} has no e-mail address")
        return []
    return [recipient]


def _related_contacts(module, record, notes):
    org = record if module == "organisation" else record.organisation
    if org is None:
        notes.append("the record has no organisation, so no related contacts")
        return []
    contacts = db.session.scalars(
        db.select(Contact)
        .where(Contact.organisation_id == org.id, Contact.email != "")
        .order_by(Contact.id)
    ).all()
    if not contacts:
        notes.append(f"{org.name} has no contacts with an e-mail address")
    return [recipient_of("contact", contact) for contact in contacts]


def _locale(policy, recipient, template, sender):
    main = template.variant_of or template
    if policy == "template":
        return choose_locale("", main.language, sender.language), "the template's language"
    if policy == "sender":
        return choose_locale("", sender.language, main.language), "the sender's language"
    if recipient.language:
        return recipient.language, "the recipient's language"
    return (
        choose_locale("", main.language, sender.language),
        "the template's language (the recipient's is not known)",
    )


def queue(planned, dedupe_prefix, module, record):
    """Write the planned messages to the ledger and queue them; the rows written (those
    the suppression list holds back are written ``suppressed``, with the reason)."""
    # an earlier, interrupted run of the same fire key wrote some of them
    done = ledger.known_dedupe_keys([dedupe_key(dedupe_prefix, item) for item in planned])
    messages = new_messages(planned, dedupe_prefix, module, record, skip=done)
    ledger.queue_messages(messages)
    return messages


def dedupe_key(prefix, item):
    """The ledger's dedupe key of planned message ``item`` of a run (``prefix``)."""
    return f"{prefix}:{item.action}:{item.recipient.email.lower()}"[:200]


def new_messages(planned, dedupe_prefix, module, record, skip=()):
    """Unsaved ledger rows of the planned messages, one per dedupe key (none for those in
    ``skip``)."""
    done, messages = set(skip), []
    for item in planned:
        key = dedupe_key(dedupe_prefix, item)
        if key in done:
            continue
        done.add(key)
        delay = item.delay_minutes
        messages.append(
            ledger.new_message(
                item.template,
                module=module,
                record=record,
                sender_user=item.sender_user,
                dedupe_key=key,
                locale=item.locale,
                to=item.recipient,
                attach_pdf_ids=item.attach_pdf_ids,
                not_before=utcnow() + timedelta(minutes=delay) if delay else None,
            )
        )
    return messages
