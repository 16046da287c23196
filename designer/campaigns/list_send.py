"""List sends: one template to the contacts or organisations ticked in a list (or all those
matching the list's filter), as a one-off campaign.

A selection is the records' ids (at most ``MAX_IDS``) or the list's filter; both become
audience rules (``designer.campaigns.audience``), so the campaign sends to exactly the
records the confirmation counted. The review says, before anything is written, how many
people will get the mail, who is held back by the suppression list and why, and which
records have no address. Sending creates the segment and a one-off campaign and starts
it (or schedules it for a time in the user's time zone).
"""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _

from designer.campaigns import lifecycle
from designer.campaigns.audience import FilterInvalid, audience_count, audience_query
from designer.campaigns.models import AUDIENCE_MODULES, SENDER_MODES
from designer.clock import utcnow
from designer.extensions import db
from designer.i18n import MODULE_PLURALS, _l
from designer.mail import consent
from designer.mail.models import Message
from designer.mail.sender import NoSystemAddress, resolve_sender
from designer.records.models import Contact, Organisation

#: The most records one list send may name by id ("all matching" uses the filter instead).
MAX_IDS = 1000
#: How many held-back or address-less records the review names one by one.
NAMED = 200
#: Per module: the list's filter fields and the audience rule each becomes.
LIST_FILTERS = {
    "contact": {
        "q": ("contact.search", "contains"),
        "language": ("contact.language", "eq"),
        "country": ("organisation.country", "eq"),
        "tag": ("contact.tags", "has_tag"),
    },
    "organisation": {
        "q": ("organisation.search", "contains"),
        "industry": ("organisation.industry", "eq"),
        "country": ("organisation.country", "eq"),
    },
}
SENDER_LABELS = {
    "user": _l("me"),
    "system": _l("the system (the central address)"),
    "owner": _l("each record's owner"),
}
#: The modules' plurals in the names the send stores (the segment's, the campaign's).
PLURAL = {"contact": "contacts", "organisation": "organisations"}


class ListSendError(ValueError):
    """The selection, template, sender or time cannot be sent (the message says why)."""


@dataclass(frozen=True)
class Selection:
    """The records of a list send: ``ids`` ticked, or every record matching ``filters``."""

    module: str
    ids: tuple = ()
    filters: dict = field(default_factory=dict)
    everything: bool = False

    @property
    def rules(self):
        """The audience rules that pick exactly these records."""
        if self.everything:
            return list_rules(self.module, self.filters)
        return [{"field": f"{self.module}.id", "op": "in", "value": list(self.ids)}]

    @property
    def plural(self):
        return PLURAL[self.module]

    @property
    def plural_label(self):
        """``plural`` in the user's language."""
        return str(MODULE_PLURALS[self.module])


def list_rules(module, args):
    """The audience rules of a list's filter fields (``args``: the query string)."""
    rules = []
    for name, (rule_field, op) in LIST_FILTERS[module].items():
        value = str(args.get(name) or "").strip()[:200]
        if value:
            rules.append({"field": rule_field, "op": op, "value": value})
    return rules


def filter_values(module, args):
    """The list filter's fields that are set, as ``{name: value}``."""
    return {
        name: str(args.get(name)).strip()[:200]
        for name in LIST_FILTERS[module]
        if str(args.get(name) or "").strip()
    }


def selection_from(form):
    """The selection a list (or a later step) posted: ``module``, then ``scope=all`` with
    the filter fields, or the ticked ``id`` values (or ``ids``, comma-separated)."""
    module = form.get("module", "")
    if module not in AUDIENCE_MODULES:
        raise ListSendError(_("a list send goes to contacts or organisations"))
    if form.get("scope") == "all":
        return Selection(module, filters=filter_values(module, form), everything=True)
    raw = [*form.getlist("id"), *(form.get("ids") or "").split(",")]
    ids = _ids(module, [value.strip() for value in raw if value.strip()])
    return Selection(module, ids=ids)


def _ids(module, values):
    if not values:
        raise ListSendError(
            _(
                "tick at least one of the %(things)s, or choose all matching",
                things=MODULE_PLURALS[module],
            )
        )
    if len(values) > MAX_IDS:
        raise ListSendError(
            _(
                "%(count)s %(things)s are ticked; a list send names at most %(max)s. Narrow the "
                "list with its filter and choose “all matching this filter” instead",
                count=len(values),
                things=MODULE_PLURALS[module],
                max=MAX_IDS,
            )
        )
    bad = [v for v in values if not v.isdigit() or len(v) > 12]
    if bad:
        raise ListSendError(
            _("record ids are whole numbers (got %(value)s)", value=repr(bad[0][:20]))
        )
    ids = tuple(sorted({int(v) for v in values}))
    model = _model(module)
    found = set(
        db.session.scalars(
            db.select(model.id).where(model.id.in_(ids), model.archived_at.is_(None))
        )
    )
    missing = [str(i) for i in ids if i not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        message = (
            _("no contact with id %(ids)s: reload the list and tick again", ids=shown)
            if module == "contact"
            else _("no organisation with id %(ids)s: reload the list and tick again", ids=shown)
        )
        raise ListSendError(message)
    return ids


def _model(module):
    return Organisation if module == "organisation" else Contact


def _name_order(module):
    if module == "organisation":
        return (Organisation.name, Organisation.id)
    return (Contact.last_name, Contact.first_name, Contact.id)


def count(selection):
    """How many records the selection holds (with or without an address)."""
    return audience_count(selection.rules, selection.module, with_address_only=False)


def record_at(selection, index):
    """The ``index``-th record of the selection in name order (for the preview), or None."""
    query = audience_query(selection.rules, selection.module, with_address_only=False)
    query = query.order_by(*_name_order(selection.module)).offset(max(index, 0)).limit(1)
    return db.session.scalars(query).first()


def checked_template(selection, template):
    """``template`` when a list send of ``selection`` may use it; else why not."""
    if template.kind != "email":
        raise ListSendError(
            _("“%(name)s” is a PDF template; choose an e-mail template", name=template.name)
        )
    if template.module != selection.module:
        made_for = MODULE_PLURALS.get(template.module, f"{template.module}s")
        raise ListSendError(
            _(
                "“%(name)s” is a template for %(made_for)s; choose one for %(things)s",
                name=template.name,
                made_for=made_for,
                things=selection.plural_label,
            )
        )
    if template.current is None:
        raise ListSendError(_("“%(name)s” has no saved version yet", name=template.name))
    return template


def checked_sender(mode):
    """``mode`` when mail can be sent that way; ``ListSendError`` saying why not."""
    if mode not in SENDER_MODES:
        raise ListSendError(_("choose who the mail is from: me, the system or each record's owner"))
    if mode == "system":
        try:
            resolve_sender(None)
        except NoSystemAddress as exc:
            raise ListSendError(str(exc)) from None
    return mode


def send_time(value, timezone):
    """The naive UTC moment of ``value`` (``YYYY-MM-DDTHH:MM`` in ``timezone``), or None
    for "now"; ``ListSendError`` when it is malformed or not in the future."""
    if not (value or "").strip():
        return None
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ListSendError(
            _("give the time as a date and a time, e.g. 2026-12-24 09:00")
        ) from None
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    moment = local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    if moment <= utcnow():
        raise ListSendError(_("the send time is in the past; leave it empty to send now"))
    return moment


@dataclass
class Review:
    """What a list send will do: who gets the mail, who is held back and why, who has no
    address (each named up to ``NAMED``)."""

    total: int = 0
    going: int = 0
    held: list = field(default_factory=list)
    held_count: int = 0
    no_address: list = field(default_factory=list)
    no_address_count: int = 0


def review(selection):
    """Count the selection's recipients; nothing is written.

    A list send is a campaign, so its mail is marketing: every address on the suppression
    list is held back, whatever the template's purpose (as for campaigns)."""
    query = audience_query(selection.rules, selection.module, with_address_only=False)
    records = db.session.scalars(query.order_by(*_name_order(selection.module))).all()
    found = consent.suppressions_among(r.email for r in records if r.email)
    result = Review(total=len(records))
    for record in records:
        email = (record.email or "").strip()
        name = _name(record)
        if not email:
            result.no_address_count += 1
            if len(result.no_address) < NAMED:
                result.no_address.append({"name": name, "id": record.id})
            continue
        listed = found.get(email.lower())
        if listed is not None:
            result.held_count += 1
            if len(result.held) < NAMED:
                reason = consent.hold_back_reason(consent.MARKETING, listed)
                result.held.append({"name": name, "email": email, "reason": reason})
            continue
        result.going += 1
    return result


def _name(record):
    return record.name if isinstance(record, Organisation) else (record.full_name or record.email)


def send(selection, template, *, sender_mode, user, send_at=None):
    """Create the one-off campaign of ``selection`` and start it (or schedule it for
    ``send_at``, naive UTC); return the campaign."""
    checked_template(selection, template)
    checked_sender(sender_mode)
    how_many = count(selection)
    if not how_many:
        raise ListSendError(
            _("no %(things)s match the selection any more", things=selection.plural_label)
        )
    label = (
        f"{template.name} to {how_many} {selection.plural if how_many > 1 else selection.module}"
    )
    try:
        segment = lifecycle.create_segment(
            f"List send: {how_many} {selection.plural}", selection.rules, selection.module
        )
    except FilterInvalid as exc:
        raise ListSendError(str(exc)) from None
    campaign = lifecycle.create_campaign(
        label,
        template=template,
        segment=segment,
        sender=user,
        tracking=template.tracking,
        one_off=True,
        sender_mode=sender_mode,
    )
    if send_at is not None:
        lifecycle.schedule(campaign, send_at)
    else:
        lifecycle.start(campaign)
    return campaign


def held_back_of(campaign_id, limit=NAMED):
    """The named recipients a campaign left out: its ``suppressed`` ledger rows."""
    query = (
        db.select(Message)
        .where(Message.campaign_id == campaign_id, Message.state == "suppressed")
        .order_by(Message.id)
        .limit(limit)
    )
    return db.session.scalars(query).all()
