"""The suppression list as people manage it: search it, add addresses by hand (with a reason
and a note), add many at once (an import), remove one and export it.

Removing an address is the one way to resubscribe it: nothing else (not the CRM, not a
new import) takes an address off the list. Every change is written to the audit trail
(``designer.mail.suppression_audit``) in the same commit as the change itself.
"""

import math
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.csvexport import csv_text
from designer.extensions import db
from designer.i18n import _l
from designer.i18n import number as grouped
from designer.mail import suppression_audit
from designer.mail.address_check import address_problem
from designer.mail.models import Suppression, SuppressionEvent

#: Addresses on one page of the list.
PER_PAGE = 50
#: Most lines one paste may hold.
MAX_PASTED = 1000
#: Longest note kept with a change.
MAX_NOTE = 500
#: Addresses looked up or written per statement.
CHUNK = 1000
#: Every reason an address can be on the list, in words.
REASONS = {
    "unsubscribed": _l("Unsubscribed"),
    "complained": _l("Complained (reported as spam)"),
    "bounced": _l("Bounced (the address does not exist)"),
    "soft-bounced": _l("Bounced again and again (soft bounces)"),
    "crm_opt_out": _l("Opted out in the CRM"),
    "other": _l("Other (see the note)"),
}
#: The reasons a person picks when adding addresses by hand.
CHOSEN_REASONS = ("unsubscribed", "complained", "bounced", "other")
#: Columns of the export (an import reads them back by name).
EXPORT_COLUMNS = ("email", "reason", "note", "added_by", "added_at", "campaign_id")


class ListChangeRefused(ValueError):
    """A change to the list refused, with a sentence saying why; ``problems`` lists
    ``(line number, why)`` for pasted lines that are not addresses."""

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass
class Listing:
    """One page of the list: its entries, how many match, which page of how many."""

    entries: list
    total: int
    page: int
    pages: int


@dataclass
class Added:
    """What adding addresses did: the ones added and the ones already on the list."""

    added: list = field(default_factory=list)
    already: list = field(default_factory=list)


def reason_label(reason):
    return REASONS.get(reason, reason or _("none"))


def search(text="", reason="", page=1):
    """The addresses containing ``text`` (any case) with ``reason`` (when given), newest first."""
    total = db.session.scalar(_filtered(db.select(db.func.count(Suppression.id)), text, reason))
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(page, 1), pages)
    query = (
        _filtered(db.select(Suppression), text, reason)
        .order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    return Listing(db.session.scalars(query).all(), total, page, pages)


def _filtered(query, text, reason):
    text = (text or "").strip().lower()
    if text:
        query = query.where(Suppression.email.contains(text, autoescape=True))
    if reason:
        query = query.where(Suppression.reason == reason)
    return query


def get_suppression(suppression_id):
    return db.session.get(Suppression, suppression_id)


def checked_reason(reason, allowed=CHOSEN_REASONS):
    if reason not in allowed:
        raise ListChangeRefused(_("Choose a reason from the list."))
    return reason


def checked_note(note):
    """The note on one line, or a refusal when it is too long or holds control characters."""
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE:
        raise ListChangeRefused(_("The note is longer than %(max)s characters.", max=MAX_NOTE))
    if any(ord(char) < 32 or ord(char) == 127 for char in note):
        raise ListChangeRefused(_("The note contains control characters."))
    return note


def pasted_addresses(text):
    """The addresses of ``text`` (one per line, blank lines skipped), lower-cased, or a
    refusal naming every line that is not an address."""
    lines = (text or "").splitlines()
    if sum(1 for line in lines if line.strip()) > MAX_PASTED:
        raise ListChangeRefused(
            _(
                "Paste at most %(max)s addresses; import a CSV for more.",
                max=grouped(MAX_PASTED),
            )
        )
    addresses, problems = [], []
    for number, line in enumerate(lines, start=1):
        address = line.strip().lower()
        if not address:
            continue
        why = address_problem(address)
        if why:
            problems.append((number, f"{line.strip()[:80]!r}: {why}"))
        else:
            addresses.append(address)
    if problems:
        raise ListChangeRefused(_("Nothing was added: fix these lines first."), problems)
    if not addresses:
        raise ListChangeRefused(_("Enter at least one e-mail address."))
    return list(dict.fromkeys(addresses))


def add_by_hand(text, reason, note, user):
    """Add the pasted addresses with one reason and note, by ``user``: all or none."""
    reason, note = checked_reason(reason), checked_note(note)
    addresses = pasted_addresses(text)
    entries = {address: (reason, note) for address in addresses}
    return add_many(entries, user, action="added")


def add_many(entries, user, action):
    """Add ``{address: (reason, note)}`` in one commit, each with its audit entry; addresses
    already on the list stay as they are. Returns an ``Added``."""
    for _attempt in range(3):  # an address suppressed meanwhile makes the insert clash
        already = _already_listed(list(entries))
        new = [address for address in entries if address not in already]
        try:
            _insert(new, entries, user, action)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        return Added(added=new, already=[a for a in entries if a in already])
    raise ListChangeRefused(_("The list changed while adding; nothing was added. Try again."))


def _already_listed(addresses):
    found = set()
    for start in range(0, len(addresses), CHUNK):
        chunk = addresses[start : start + CHUNK]
        query = db.select(Suppression.email).where(Suppression.email.in_(chunk))
        found.update(db.session.scalars(query))
    return found


def _insert(new, entries, user, action):
    now = utcnow()
    for start in range(0, len(new), CHUNK):
        chunk = new[start : start + CHUNK]
        rows = [{"email": a, "reason": entries[a][0], "created_at": now} for a in chunk]
        db.session.execute(db.insert(Suppression.__table__), rows)  # Core: no ORM bookkeeping
        events = suppression_audit.event_rows(user, action, chunk, entries)
        db.session.execute(db.insert(SuppressionEvent.__table__), events)


def remove(suppression_id, user, note=""):
    """Take an address off the list (it gets marketing mail again), by ``user``, logged.
    Returns the address, or None when it was not on the list (removed meanwhile)."""
    note = checked_note(note)
    suppression = get_suppression(suppression_id)
    if suppression is None:
        return None
    email = suppression.email
    suppression_audit.new_event(
        email,
        "removed",
        reason=suppression.reason,
        note=note,
        campaign_id=suppression.campaign_id,
        user=user,
    )
    db.session.delete(suppression)
    db.session.commit()
    return email


def export_csv(text="", reason=""):
    """The matching addresses as CSV text, a chunk at a time (header first); every cell is
    safe to open in a spreadsheet."""
    yield csv_text([EXPORT_COLUMNS])
    columns = (Suppression.id, Suppression.email, Suppression.reason, Suppression.created_at)
    last_id = 0
    while True:
        query = (
            _filtered(db.select(*columns, Suppression.campaign_id), text, reason)
            .where(Suppression.id > last_id)
            .order_by(Suppression.id)
            .limit(CHUNK)
        )
        chunk = db.session.execute(query).all()
        if not chunk:
            return
        last_id = chunk[-1].id
        added = suppression_audit.who_added([row.email for row in chunk])
        yield csv_text(_export_row(row, added.get(row.email)) for row in chunk)


def _export_row(row, added):
    actor, note = added or (suppression_audit.automatic_source(row.reason), "")
    when = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
    return (row.email, row.reason, note, actor, when, row.campaign_id)
