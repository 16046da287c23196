"""Campaign lifecycle: draft → scheduled → sending ⇄ paused → done | cancelled.

Starting moves the campaign to sending, then writes one ledger row per
recipient through mail's ledger (unique per campaign and contact, so queuing
twice — or two dispatchers at once — cannot create two messages), leaving out
suppressed addresses, and queues the ids: in the start itself for a small
audience, else in a job on a worker (``queue_started``) while the campaign's
progress says how far it has come. A start gone silent is finished by the
dispatcher (``finish_interrupted_queuing``). Pausing stops workers within a
second (they ask the campaigns' gate as they go: ``designer.campaigns.gate``);
resuming queues exactly the messages not yet sent; cancelling leaves the
ledger as it is, marks the unsent messages cancelled and stops a start.
"""

from dataclasses import replace
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, update
from sqlalchemy.orm import selectinload

from designer import broker, webhooks
from designer.campaigns.audience import audience_count, audience_query
from designer.campaigns.models import (
    AUDIENCE_MODULES,
    SENDER_MODES,
    Campaign,
    Segment,
    state_label,
)
from designer.clock import utcnow
from designer.extensions import db
from designer.mail import consent, ledger, topics
from designer.mail.suppression import suppressed_set
from designer.records import recipient_of
from designer.records.models import Contact, Organisation

INSERT_CHUNK = 1000
#: A start that has written no chunk of its ledger for this long is taken to have crashed.
QUEUING_STALE_SECONDS = 300
#: States in which a started campaign's ledger is still written.
STARTED = ("sending", "paused")


class CampaignError(ValueError):
    """The campaign cannot do that in its current state (the message says why)."""


def create_segment(name, filters, module="contact"):
    """Save an audience (of contacts, or of organisations); the filters are checked by
    counting it."""
    if not (name or "").strip():
        raise CampaignError(_("the audience needs a name"))
    if module not in AUDIENCE_MODULES:
        raise CampaignError(_("an audience is of contacts or organisations"))
    audience_count(filters, module)
    segment = Segment(name=name.strip(), filters=list(filters or []), module=module)
    db.session.add(segment)
    db.session.commit()
    return segment


def create_campaign(
    name,
    *,
    template,
    segment,
    sender,
    tracking=True,
    topic_id=None,
    one_off=False,
    sender_mode="user",
):
    """A draft campaign; ``topic_id`` (an active topic, optional) leaves out whoever opted
    out of that topic. ``sender_mode`` "system" or "owner" sends from the system or each
    record's owner instead of ``sender`` (who made it); ``one_off`` marks a list send."""
    if not (name or "").strip():
        raise CampaignError(_("the campaign needs a name"))
    if template.kind != "email" or template.current is None:
        raise CampaignError(_("choose a saved e-mail template"))
    if template.archived_at is not None:
        raise CampaignError(
            _("'%(name)s' is archived: restore it in the library first", name=template.name)
        )
    if sender_mode not in SENDER_MODES:
        raise CampaignError(_("the sender is one of %(modes)s", modes=", ".join(SENDER_MODES)))
    topic = _topic(topic_id)
    campaign = Campaign(
        name=name.strip(),
        template=template,
        segment=segment,
        sender=sender,
        tracking=tracking,
        topic_id=topic.id if topic else None,
        one_off=one_off,
        sender_mode=sender_mode,
    )
    db.session.add(campaign)
    db.session.commit()
    return campaign


def _topic(topic_id):
    if not topic_id:
        return None
    try:
        return topics.active_topic(topic_id)
    except topics.TopicRefused as exc:
        raise CampaignError(str(exc)) from None


def _transition(campaign, allowed, new_state, won=None, **values):
    """Move to ``new_state`` only from ``allowed`` states, atomically; False if it lost.

    ``won``, when given, is called if the move happened, before it is committed."""
    result = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.state.in_(allowed))
        .values(state=new_state, **values),
        execution_options={"synchronize_session": False},
    )
    if won is not None and result.rowcount == 1:
        won()
    db.session.commit()
    db.session.refresh(campaign)
    return result.rowcount == 1


class NoRecipients(CampaignError):
    """Nobody would get the campaign: starting (or scheduling) it is refused."""


def reach(campaign):
    """``(recipients, left_out)``: how many of the audience's records would get the campaign
    now, and how many are left out (no address, suppressed, or opted out of the campaign's
    topic), as ``start`` counts them for a campaign that is not a one-off."""
    recipients = left_out = 0
    for reached in _reached(campaign):
        recipients += reached
        left_out += not reached
    return recipients, left_out


def _reached(campaign):
    """For each record of the audience, read as a stream: whether it would get the campaign."""
    module = campaign.segment.module or "contact"
    model = Organisation if module == "organisation" else Contact
    query = audience_query(campaign.segment.filters, module).with_only_columns(model.email)
    suppressed = suppressed_set()
    opted = topics.opted_out_set(campaign.topic_id) if campaign.topic_id else set()
    emails = db.session.scalars(query.order_by(None), execution_options={"yield_per": 1000})
    with emails:
        for email in emails:
            email = (email or "").strip().lower()
            yield bool(email) and email not in suppressed and email not in opted


def reach_or_refuse(campaign):
    """``reach(campaign)``; raises ``NoRecipients`` when nobody would get it."""
    recipients, left_out = reach(campaign)
    if recipients == 0:
        raise _no_recipients(campaign)
    return recipients, left_out


def _no_recipients(campaign):
    return NoRecipients(
        _(
            "nobody would get this campaign: the audience “%(audience)s” has no contact with "
            "an e-mail address that is neither suppressed nor opted out of its topic. Nothing "
            "was sent; choose another audience or add contacts first.",
            audience=campaign.segment.name,
        )
    )


def _refuse_empty(campaign):
    """A campaign nobody would get cannot start. A one-off (a list send) is checked by its
    own confirmation, and names its suppressed recipients in rows of their own. The
    audience is read only up to its first recipient (a large one is read by the job)."""
    checked = campaign.state in ("draft", "scheduled") and not campaign.one_off
    if checked and not any(_reached(campaign)):
        raise _no_recipients(campaign)


def schedule(campaign, when):
    if when <= utcnow():
        raise CampaignError(_("the scheduled time is in the past; start the campaign now instead"))
    _refuse_empty(campaign)
    if not _transition(campaign, ("draft", "scheduled"), "scheduled", scheduled_at=when):
        raise CampaignError(
            _("a %(state)s campaign cannot be scheduled", state=state_label(campaign.state))
        )


def start(campaign, empty_ok=False):
    """Start sending: the campaign is sending at once, and every recipient is queued; returns
    how many messages are queued by now. A campaign nobody would get is refused
    (``NoRecipients``) unless ``empty_ok`` (a scheduled campaign whose time has come: it
    ends at once, done, with nothing sent).

    An audience of up to ``START_INLINE_RECIPIENTS`` records is queued here; a larger one
    by a job (``queue_started``), and 0 is returned: the campaign's ``audience_read`` of
    ``audience_size`` says how far it has come."""
    if not empty_ok:
        _refuse_empty(campaign)
    now = utcnow()
    if not _transition(
        campaign,
        ("draft", "scheduled"),
        "sending",
        started_at=now,
        audience_size=_audience_size(campaign),
        audience_read=0,
        queue_heartbeat_at=now,
    ):
        raise CampaignError(
            _("a %(state)s campaign cannot be started", state=state_label(campaign.state))
        )
    return _queue_now_or_later(campaign)


def _audience_size(campaign):
    """How many records the start will go through (one count, however large)."""
    module = campaign.segment.module or "contact"
    return audience_count(campaign.segment.filters, module, with_address_only=not campaign.one_off)


def _queue_now_or_later(campaign):
    """Queue the recipients of a started campaign here if its audience is small, else in a
    job; how many messages were queued here."""
    size = campaign.audience_size
    if size is None or size > current_app.config["START_INLINE_RECIPIENTS"]:
        broker.enqueue(broker.PERIODIC, broker.QUEUE_RECIPIENTS, campaign.id)
        return 0
    queued = queue_recipients(campaign)
    finish_if_done(campaign)
    return queued


def queue_started(campaign_id):
    """The start's job: write and queue the ledger of a started campaign; return how many
    messages it queued (none when the campaign is gone, ended, or queued already)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.state not in STARTED or campaign.queued_at is not None:
        return 0
    queued = queue_recipients(campaign)
    finish_if_done(campaign)
    return queued


def pause(campaign):
    if not _transition(campaign, ("sending",), "paused"):
        raise CampaignError(
            _("a %(state)s campaign cannot be paused", state=state_label(campaign.state))
        )


def resume(campaign):
    if not _transition(campaign, ("paused",), "sending"):
        raise CampaignError(
            _("a %(state)s campaign cannot be resumed", state=state_label(campaign.state))
        )
    ledger.queue_again(campaign.id)


def cancel(campaign):
    if not _transition(
        campaign, ("draft", "scheduled", "sending", "paused"), "cancelled", finished_at=utcnow()
    ):
        raise CampaignError(
            _("a %(state)s campaign cannot be cancelled", state=state_label(campaign.state))
        )
    ledger.cancel_queued(campaign.id)


def queue_recipients(campaign):
    """Write the campaign's ledger rows (idempotent) and queue them; return how many.

    The audience is read in id order a chunk at a time, never whole, and each
    chunk's rows are written and queued before the next is read: workers start
    on the first (small) chunk while the rest is still being written, and
    memory stays flat however large the audience. Each chunk is committed with
    the campaign's progress; a row committed but not queued (a crash in between)
    is queued again by the dispatcher. A campaign cancelled meanwhile stops it.
    """
    recipients = _Recipients(campaign)
    queued = read = 0
    for records in _record_chunks(campaign):
        read += len(records)
        if not _note_progress(campaign, read):  # cancelled: what was written is cancelled
            db.session.commit()
            ledger.cancel_queued(campaign.id)
            return queued
        ids = ledger.write_rows(recipients.rows_of(records))  # one insert per chunk
        db.session.commit()  # the progress, when the chunk had no row to write
        ledger.enqueue_written(ids)
        queued += len(ids)
    campaign.suppressed_count = recipients.left_out
    campaign.topic_opt_out_count = recipients.opted_out
    campaign.queued_at = utcnow()
    db.session.commit()
    return queued


def _note_progress(campaign, read):
    """Record (uncommitted: with the chunk's rows) that ``read`` records of the audience are
    gone through; False when the campaign is no longer started (it was cancelled). The
    campaign's row stays locked until then, so a cancel waits for the chunk."""
    result = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.state.in_(STARTED))
        .values(audience_read=read, queue_heartbeat_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def _record_chunks(campaign):
    """The campaign's audience in id order, as lists of records; the first list is small so
    that sending starts at once."""
    module = campaign.segment.module or "contact"
    model = Organisation if module == "organisation" else Contact
    owner_of = Contact.organisation if module == "contact" else Organisation.owner
    query = audience_query(
        campaign.segment.filters, module, with_address_only=not campaign.one_off
    ).options(selectinload(owner_of))
    size, last = min(INSERT_CHUNK, 2 * current_app.config["BATCH_SIZE"]), 0
    while True:
        chunk = db.session.scalars(
            query.where(model.id > last).order_by(model.id).limit(size)
        ).all()
        if not chunk:
            return
        last, size = chunk[-1].id, INSERT_CHUNK
        yield chunk


class _Recipients:
    """Turns records into the campaign's ledger rows, leaving out who may not get it and
    counting them: suppressed, opted out of its topic, or without an address.

    A one-off campaign (a list send) writes its suppressed recipients as
    ``suppressed`` rows with the reason, so its page and report name them; its
    records without an address are counted as left out."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.module = campaign.segment.module or "contact"
        self.suppressed = suppressed_set()
        self.opted = topics.opted_out_set(campaign.topic_id) if campaign.topic_id else set()
        self.senders = _SenderBuilders(campaign)
        self.left_out = self.opted_out = 0

    def rows_of(self, records):
        rows, held = [], []
        for record in records:
            email = (record.email or "").strip()
            if not email or (email.lower() in self.suppressed and not self.campaign.one_off):
                self.left_out += 1
                continue
            if email.lower() in self.opted:
                self.left_out += 1
                self.opted_out += 1
                continue
            row = self._row(record, email)
            rows.append(row)
            if email.lower() in self.suppressed:
                held.append(row)
        _mark_held(held)
        return rows

    def _row(self, record, email):
        recipient = recipient_of(self.module, record)
        if recipient.email != email:
            recipient = replace(recipient, email=email)
        row = self.senders.for_record(self.module, record).row(
            recipient,
            module=self.module,
            record_id=record.id,
            dedupe_key=f"campaign:{self.campaign.id}:{self.module}:{record.id}",
        )
        row["last_error"] = ""  # every row of one insert names the same columns
        return row


def _mark_held(rows):
    """Write the rows of suppressed addresses ``suppressed``, with the reason."""
    found = consent.suppressions_among(row["recipient_email"] for row in rows)
    for row in rows:
        reason = found.get(row["recipient_email"].lower())
        row["state"] = "suppressed"
        row["last_error"] = consent.held_back_text(*reason) if reason else "held back: suppressed"


class _SenderBuilders:
    """One ``ledger.RowBuilder`` per sender: the campaign's sender, the system, or each
    record's owner (the campaign's sender for a record without one)."""

    def __init__(self, campaign):
        self.campaign, self.builders = campaign, {}

    def for_record(self, module, record):
        mode = self.campaign.sender_mode
        user = self.campaign.sender
        if mode == "system":
            user = None
        elif mode == "owner":
            user = record_owner(module, record) or user
        key = user.id if user is not None else None
        if key not in self.builders:
            self.builders[key] = ledger.RowBuilder(
                self.campaign.template, user, self.campaign.id, self.campaign.topic_id
            )
        return self.builders[key]


def record_owner(module, record):
    """The user who owns ``record`` (a contact's: its organisation's owner), or None."""
    if module == "contact":
        return record.organisation.owner if record.organisation is not None else None
    return record.owner


def finish_if_done(campaign):
    """A sending campaign whose ledger is written and has nothing left to send is done."""
    if campaign.queued_at is None:
        return
    if not ledger.counts(campaign.id, ("queued", "sending")):
        finished_at = utcnow()
        _transition(
            campaign,
            ("sending",),
            "done",
            won=lambda: _emit_finished(campaign, finished_at),  # committed with the transition
            finished_at=finished_at,
        )


def _emit_finished(campaign, finished_at):
    if webhooks.subscribers("campaign.finished"):
        webhooks.emit("campaign.finished", _finished_data(campaign, finished_at))


def _finished_data(campaign, finished_at):
    """What ``campaign.finished`` tells: the campaign and its ledger's counts."""
    counted = ledger.counts(campaign.id)
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "finished_at": finished_at.isoformat(),
        "counts": counted,
    }


def finish_done_campaigns(campaign_ids):
    for campaign_id in set(campaign_ids):
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is not None and campaign.state == "sending":
            finish_if_done(campaign)


def finish_interrupted_queuing(after_seconds=QUEUING_STALE_SECONDS):
    """Write and queue the rest of campaigns whose start was interrupted (a crash: no chunk
    of the ledger written for ``after_seconds``), as the start does (here, or in a job);
    return how many. Rows written before the crash are not written twice."""
    stale = utcnow() - timedelta(seconds=after_seconds)
    interrupted = db.session.scalars(db.select(Campaign).where(*_silent(stale))).all()
    finished = 0
    for campaign in interrupted:
        if _claim_interrupted(campaign, stale):
            _queue_now_or_later(campaign)
            finished += 1
    return finished


def _silent(stale):
    """Started campaigns whose ledger is not written and was last written before ``stale``."""
    return (
        Campaign.state.in_(STARTED),
        Campaign.queued_at.is_(None),
        func.coalesce(Campaign.queue_heartbeat_at, Campaign.started_at) <= stale,
    )


def _claim_interrupted(campaign, stale):
    """Take over an interrupted start (False if another dispatcher did first)."""
    result = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, *_silent(stale))
        .values(queue_heartbeat_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    db.session.refresh(campaign)
    return result.rowcount == 1


def start_due_campaigns():
    """Start every scheduled campaign whose time has come; return how many."""
    due = db.session.scalars(
        db.select(Campaign).where(Campaign.state == "scheduled", Campaign.scheduled_at <= utcnow())
    ).all()
    started = 0
    for campaign in due:
        try:
            start(campaign, empty_ok=True)
            started += 1
        except CampaignError:
            continue  # another dispatcher started it first
    return started


def progress(campaign):
    """Counts by state, for the progress bar and the API."""
    counts = ledger.counts(campaign.id)
    total = sum(counts.values())
    done = sum(counts.get(state, 0) for state in ledger.DONE)
    return {
        "campaign": campaign.id,
        "state": campaign.state,
        "total": total,
        "queued": counts.get("queued", 0) + counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "suppressed": counts.get("suppressed", 0) + campaign.suppressed_count,
        "topic_opt_outs": campaign.topic_opt_out_count,
        "cancelled": counts.get("cancelled", 0),
        "percent": round(100 * done / total, 1) if total else _empty_percent(campaign),
        "queuing": campaign.queuing,
        "audience_read": campaign.audience_read or 0,
        "audience_size": campaign.audience_size,
    }


def _empty_percent(campaign):
    """A campaign without messages: all done once it ended, nothing done before."""
    return 100.0 if campaign.state in ("done", "cancelled") else 0.0
