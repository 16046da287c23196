"""Campaign lifecycle: draft → scheduled → sending ⇄ paused → done | cancelled.

Starting writes one ledger row per recipient through mail's ledger (unique
per campaign and contact, so queuing twice — or two dispatchers at once —
cannot create two messages), leaving out suppressed addresses, then queues
the ids. Pausing stops workers within a second (they ask the campaigns'
gate as they go: ``designer.campaigns.gate``); resuming queues exactly the
messages not yet sent; cancelling leaves the ledger as it is and marks the
unsent messages cancelled.
"""

from dataclasses import replace
from datetime import timedelta

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import selectinload

from designer import webhooks
from designer.campaigns.audience import audience_count, audience_query
from designer.campaigns.models import AUDIENCE_MODULES, SENDER_MODES, Campaign, Segment
from designer.clock import utcnow
from designer.extensions import db
from designer.mail import consent, ledger, topics
from designer.mail.suppression import suppressed_set
from designer.records import recipient_of
from designer.records.models import Contact, Organisation

INSERT_CHUNK = 1000
#: A start still writing its ledger after this long is taken to have crashed.
QUEUING_STALE_SECONDS = 300


class CampaignError(ValueError):
    """The campaign cannot do that in its current state (the message says why)."""


def create_segment(name, filters, module="contact"):
    """Save an audience (of contacts, or of organisations); the filters are checked by
    counting it."""
    if not (name or "").strip():
        raise CampaignError("the audience needs a name")
    if module not in AUDIENCE_MODULES:
        raise CampaignError(f"an audience is of {' or '.join(AUDIENCE_MODULES)}s")
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
        raise CampaignError("the campaign needs a name")
    if template.kind != "email" or template.current is None:
        raise CampaignError("choose a saved e-mail template")
    if sender_mode not in SENDER_MODES:
        raise CampaignError(f"the sender is one of {', '.join(SENDER_MODES)}")
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
    module = campaign.segment.module or "contact"
    model = Organisation if module == "organisation" else Contact
    query = audience_query(campaign.segment.filters, module).with_only_columns(model.email)
    suppressed = suppressed_set()
    opted = topics.opted_out_set(campaign.topic_id) if campaign.topic_id else set()
    recipients = left_out = 0
    for email in db.session.scalars(query.order_by(None)):
        email = (email or "").strip()
        if email and email.lower() not in suppressed and email.lower() not in opted:
            recipients += 1
        else:
            left_out += 1
    return recipients, left_out


def reach_or_refuse(campaign):
    """``reach(campaign)``; raises ``NoRecipients`` when nobody would get it."""
    recipients, left_out = reach(campaign)
    if recipients == 0:
        raise NoRecipients(
            f"nobody would get this campaign: the audience “{campaign.segment.name}” has no "
            "contact with an e-mail address that is neither suppressed nor opted out of its "
            "topic. Nothing was sent; choose another audience or add contacts first."
        )
    return recipients, left_out


def _refuse_empty(campaign):
    """A campaign nobody would get cannot start. A one-off (a list send) is checked by its
    own confirmation, and names its suppressed recipients in rows of their own."""
    if campaign.state in ("draft", "scheduled") and not campaign.one_off:
        reach_or_refuse(campaign)


def schedule(campaign, when):
    if when <= utcnow():
        raise CampaignError("the scheduled time is in the past; start the campaign now instead")
    _refuse_empty(campaign)
    if not _transition(campaign, ("draft", "scheduled"), "scheduled", scheduled_at=when):
        raise CampaignError(f"a {campaign.state} campaign cannot be scheduled")


def start(campaign, empty_ok=False):
    """Queue every recipient and send; returns how many messages were queued. A campaign
    nobody would get is refused (``NoRecipients``) unless ``empty_ok`` (a scheduled
    campaign whose time has come: it ends at once, done, with nothing sent)."""
    if not empty_ok:
        _refuse_empty(campaign)
    if not _transition(campaign, ("draft", "scheduled"), "sending", started_at=utcnow()):
        raise CampaignError(f"a {campaign.state} campaign cannot be started")
    queued = queue_recipients(campaign)
    finish_if_done(campaign)
    return queued


def pause(campaign):
    if not _transition(campaign, ("sending",), "paused"):
        raise CampaignError(f"a {campaign.state} campaign cannot be paused")


def resume(campaign):
    if not _transition(campaign, ("paused",), "sending"):
        raise CampaignError(f"a {campaign.state} campaign cannot be resumed")
    ledger.queue_again(campaign.id)


def cancel(campaign):
    if not _transition(
        campaign, ("draft", "scheduled", "sending", "paused"), "cancelled", finished_at=utcnow()
    ):
        raise CampaignError(f"a {campaign.state} campaign cannot be cancelled")
    ledger.cancel_queued(campaign.id)


def queue_recipients(campaign):
    """Write the campaign's ledger rows (idempotent) and queue them; return how many.

    Rows are written and queued a chunk at a time, so workers start on the
    first chunk while the rest is still being written. A row committed but
    not queued (a crash in between) is queued again by the dispatcher.
    """
    rows, left_out, opted_out = _recipient_rows(campaign)
    campaign.suppressed_count = left_out
    campaign.topic_opt_out_count = opted_out
    db.session.commit()
    queued = 0
    for chunk in _chunks(rows):
        ids = ledger.write_rows(chunk)  # one insert statement per chunk
        ledger.enqueue_ids(ids)
        queued += len(ids)
    campaign.queued_at = utcnow()
    db.session.commit()
    return queued


def _chunks(rows):
    """The first chunk is small so that sending starts at once."""
    first = min(INSERT_CHUNK, 2 * current_app.config["BATCH_SIZE"])
    yield rows[:first]
    for start_at in range(first, len(rows), INSERT_CHUNK):
        yield rows[start_at : start_at + INSERT_CHUNK]


def _recipient_rows(campaign):
    """The ledger rows of the campaign's audience, how many records were left out
    (suppressed, opted out of its topic, or without an address) and how many of those
    because they opted out of its topic.

    A one-off campaign (a list send) writes its suppressed recipients as ``suppressed``
    rows with the reason, so its page and report name them; its records without an
    address are counted as left out."""
    module = campaign.segment.module or "contact"
    model = Organisation if module == "organisation" else Contact
    query = audience_query(
        campaign.segment.filters, module, with_address_only=not campaign.one_off
    ).order_by(model.id)
    owner_of = Contact.organisation if module == "contact" else Organisation.owner
    records = db.session.scalars(query.options(selectinload(owner_of))).all()
    suppressed = suppressed_set()
    opted = topics.opted_out_set(campaign.topic_id) if campaign.topic_id else set()
    senders = _SenderBuilders(campaign)
    rows, held, left_out, opted_out = [], [], 0, 0
    for record in records:
        email = (record.email or "").strip()
        if not email or (email.lower() in suppressed and not campaign.one_off):
            left_out += 1
            continue
        if email.lower() in opted:
            left_out += 1
            opted_out += 1
            continue
        recipient = recipient_of(module, record)
        if recipient.email != email:
            recipient = replace(recipient, email=email)
        row = senders.for_record(module, record).row(
            recipient,
            module=module,
            record_id=record.id,
            dedupe_key=f"campaign:{campaign.id}:{module}:{record.id}",
        )
        row["last_error"] = ""  # every row of one insert names the same columns
        rows.append(row)
        if email.lower() in suppressed:
            held.append(row)
    _mark_held(held)
    return rows, left_out, opted_out


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
    """Write and queue the rest of campaigns whose start was interrupted (a crash)."""
    stale = utcnow() - timedelta(seconds=after_seconds)
    interrupted = db.session.scalars(
        db.select(Campaign).where(
            Campaign.state.in_(("sending", "paused")),
            Campaign.queued_at.is_(None),
            Campaign.started_at <= stale,
        )
    ).all()
    for campaign in interrupted:
        queue_recipients(campaign)
        finish_if_done(campaign)
    return len(interrupted)


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
    }


def _empty_percent(campaign):
    """A campaign without messages: all done once it ended, nothing done before."""
    return 100.0 if campaign.state in ("done", "cancelled") else 0.0
