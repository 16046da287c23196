"""Delivery: render, build and send the messages of one claimed batch.

Called by the ``send_messages`` job with ids only, and the campaigns' gate
(``designer.mail.gate``): which campaigns may send, which go untracked, and
the finish step after the batch. The batch is loaded at once: the claimed
rows with their template versions and senders, the contact records with
their organisations, and each sender, server, DKIM key, mailbox and
campaign looked up once (``BatchContext``). Each message is then merged from
its ledger row, sent over one reused SMTP connection per server, and its
outcome committed before the next one goes out, so the only message of a
worker that can be sent without its record is the one on the wire.
"""

import hashlib
import time
from dataclasses import dataclass, replace
from html import unescape

from flask import current_app
from sqlalchemy.orm import selectinload

from designer import settings
from designer.crypto import SecretUnreadable
from designer.extensions import db
from designer.mail import bounces, consent, dkim, ledger, sentcopy, servers, suppression, uploads
from designer.mail.gate import CLOSED, sending_now
from designer.mail.lease import claim_lease
from designer.mail.links import signer_for
from designer.mail.mailbox import mailbox_for
from designer.mail.mime import build_mime, new_message_id, with_bcc
from designer.mail.models import Message
from designer.mail.recorder import Recorder
from designer.mail.sender import resolve_sender, sending_policy
from designer.mail.servers import RateLimiter
from designer.mail.tracking_policy import tracking_allowed, tracking_policy
from designer.mail.transport import PermanentFailure, SmtpTransport, TemporaryFailure
from designer.pdf.documents import PdfFailed, render_record_pdf
from designer.records import RecordNotFound, get_record, merge_data
from designer.records.models import Contact, Organisation
from designer.templating import MergeError, TemplateVersion, build_context, render_email
from designer.templating.attachments import attached
from designer.templating.render import merged_link_targets
from designer.templating.system import mail_headers, merge_values

#: What a test send's subject starts with.
TEST_MARK = "[Test] "


@dataclass(frozen=True)
class Built:
    """A message ready for the wire."""

    message_id: str
    data: bytes
    envelope_from: str


def pixel_url(token):
    return signer_for(current_app).pixel_url(token)


class BatchContext:
    """What the messages of a batch share, each looked up once: the From policy and the
    resolved senders, the company, the records, servers, DKIM keys, mailboxes, the
    tracking policy and which campaigns go untracked (asked of ``gate``).

    ``preload`` fetches the contact records and the campaigns of many messages in one
    query each. A context without preloading behaves exactly like separate lookups.
    """

    def __init__(self, gate=CLOSED):
        self.gate = gate
        self._untracked = {}
        self._tracking_policy = None
        self._policy = None
        self._company = None
        self._senders = {}
        self._records = {}
        self._servers = {}
        self._dkim = {}
        self._mailboxes = {}
        self._verp = None
        self._pdfs = {}
        self._with_files = None

    def preload(self, messages):
        self._ask_about_campaigns({m.campaign_id for m in messages if m.campaign_id})
        self._with_files = uploads.messages_with_files([m.id for m in messages])
        ids = {m.record_id for m in messages if m.record_module == "contact"}
        if not ids:
            return
        query = (
            db.select(Contact)
            .where(Contact.id.in_(ids))
            .options(selectinload(Contact.organisation).selectinload(Organisation.owner))
        )
        for contact in db.session.scalars(query):
            self._records[("contact", contact.id)] = contact

    def sender(self, user):
        key = user.id if user is not None else None
        if key not in self._senders:
            if self._policy is None:
                self._policy = sending_policy()
            self._senders[key] = resolve_sender(user, self._policy)
        return self._senders[key]

    def company(self):
        if self._company is None:
            self._company = settings.company()
        return self._company

    def record(self, module, record_id):
        key = (module, record_id)
        if key not in self._records:
            self._records[key] = get_record(module, record_id)
        return self._records[key]

    def server(self, user):
        """The user's outgoing server row (None: ``SMTP_URL``)."""
        key = user.id if user is not None else None
        if key not in self._servers:
            self._servers[key] = servers.server_for(user)
        return self._servers[key]

    def signer(self, address):
        """The DKIM signer of mail from ``address``, or None (looked up once a batch)."""
        if address not in self._dkim:
            self._dkim[address] = dkim.signer_for(address)
        return self._dkim[address]

    def verp(self):
        """Whether envelope senders name their message (a bounce mailbox is set up)."""
        if self._verp is None:
            with db.session.no_autoflush:  # the row being built must not be written here
                self._verp = bounces.configured()
        return self._verp

    def attachments(self, message, template):
        """``(file name, type, bytes)`` of the PDFs attached to ``template``, rendered for
        the message's record in its locale (each PDF once per batch for the same record),
        then the files uploaded for the message."""
        files = self._pdf_attachments(message, template)
        if self._with_files is None or message.id in self._with_files:
            files += uploads.files_of(message)
        return files

    def _pdf_attachments(self, message, template):
        if not template.attach_pdf_ids and not message.attach_pdf_ids:
            return ()
        record = self.record(message.record_module, message.record_id)
        files = []
        for pdf_template in attached(template, message.attach_pdf_ids):
            key = (pdf_template.id, message.record_module, message.record_id, message.locale)
            if key not in self._pdfs:
                pdf = render_record_pdf(
                    pdf_template,
                    message.record_module,
                    record,
                    user=message.sender,
                    locale=message.locale,
                )
                self._pdfs[key] = (pdf.filename, "application/pdf", pdf.data)
            files.append(self._pdfs[key])
        return tuple(files)

    def mailbox(self, user):
        """The mailbox of ``user`` that keeps copies of what they send, or None."""
        key = user.id if user is not None else None
        if key not in self._mailboxes:
            self._mailboxes[key] = mailbox_for(user)
        return self._mailboxes[key]

    def campaign_tracked(self, campaign_id):
        """Whether mail of ``campaign_id`` may be tracked (mail of no campaign may)."""
        if campaign_id is None:
            return True
        if campaign_id not in self._untracked:
            self._ask_about_campaigns({campaign_id})
        return not self._untracked[campaign_id]

    def _ask_about_campaigns(self, campaign_ids):
        untracked = self.gate.untracked(campaign_ids) if campaign_ids else set()
        self._untracked.update({i: i in untracked for i in campaign_ids})

    def tracking_allowed(self, message, data):
        """Not for recipients whose language or country has tracking switched off."""
        if self._tracking_policy is None:
            self._tracking_policy = tracking_policy()
        country = (data.get("organisation") or {}).get("country", "")
        return tracking_allowed(message.locale, country, self._tracking_policy)


def message_context(message, sender, context=None):
    """The merge data of one ledger row: its record, sender, company and locale."""
    context = context or BatchContext()
    record = context.record(message.record_module, message.record_id)
    data = build_context(
        merge_data(message.record_module, record),
        sender=sender.merge,
        company=context.company(),
        locale=message.locale,
        currency=getattr(record, "currency", None),
    )
    data.update(merge_values(message))  # what a built-in template adds (a set-password link)
    return data


def build_message(message, *, tracking=True, eight_bit=False, context=None, attachments=True):
    """Merge and serialise one ledger row; raises ``MergeError`` / ``RecordNotFound``,
    or ``PdfFailed`` when an attached PDF cannot be rendered."""
    context = context or BatchContext()
    sender = context.sender(message.sender)
    data = message_context(message, sender, context)
    data["unsubscribe_url"] = suppression.unsubscribe_url(message.token)
    data["webview_url"] = signer_for(current_app).webview_url(message.token)
    data["preferences_url"] = signer_for(current_app).preferences_url(message.token)
    version = message.template_version
    tracking = (
        tracking
        and version.template.tracking
        and context.campaign_tracked(message.campaign_id)
        and context.tracking_allowed(message, data)
    )
    headers = (
        suppression.unsubscribe_headers(message.token, sender.address)
        if message.campaign_id
        else mail_headers(version.template)
    )
    links = None
    if tracking:
        links = signer_for(current_app).urls(
            message.token, len(version.links or ()), merged_link_targets(version, data)
        )
    pixel = pixel_url(message.token) if tracking else None
    rendered = render_email(version, data, tracked_links=links, pixel_url=pixel)
    if message.test:
        rendered = replace(rendered, subject=f"{TEST_MARK}{rendered.subject}")
    message_id = message.message_id or stable_message_id(message, sender.address)
    files = context.attachments(message, version.template) if attachments else ()
    raw = build_mime(
        rendered,
        sender=sender,
        to_name=message.recipient_name,
        to_address=message.recipient_email,
        message_id=message_id,
        extra_headers=headers,
        attachments=files,
        eight_bit=eight_bit,
        more_to=message.to_extra or (),
        cc=message.cc or (),
    )
    signer = context.signer(sender.address)
    if signer is not None:
        raw = signer.sign(raw)
    message.subject = rendered.subject[:1000]
    envelope_from = sender.envelope_from
    if context.verp():
        envelope_from = bounces.verp_address(envelope_from, message.id)
    return Built(message_id=message_id, data=raw, envelope_from=envelope_from)


def load_batch(ids, gate=CLOSED):
    """The ledger rows ``ids`` (in that order) with what building them needs, and the
    ``BatchContext`` that holds their records and what ``gate`` said of their campaigns."""
    query = (
        db.select(Message)
        .where(Message.id.in_(ids))
        .options(
            selectinload(Message.template_version).joinedload(TemplateVersion.template),
            selectinload(Message.sender),
        )
    )
    found = {m.id: m for m in db.session.scalars(query)}
    messages = [found[i] for i in dict.fromkeys(ids) if i in found]
    context = BatchContext(gate)
    context.preload(messages)
    return messages, context


def build_batch(ids, *, eight_bit=False, tracking=True, gate=CLOSED):
    """``(message, Built)`` for each of the rows ``ids`` that can be built (benches, exports)."""
    messages, context = load_batch(ids, gate)
    built = []
    for message in messages:
        try:
            built.append(
                (
                    message,
                    build_message(message, tracking=tracking, eight_bit=eight_bit, context=context),
                )
            )
        except (MergeError, RecordNotFound):
            continue
    return built


def stable_message_id(message, address):
    """The Message-ID of a ledger row, the same however often it is built.

    A message sent again because its worker died before recording it (the one
    duplicate the ledger allows) then carries the Message-ID of the first copy,
    so receivers can tell it is one message. Derived from the row's token (which
    the message already carries in its links), on the sender's domain; a message
    not saved (a preview) gets a fresh one.
    """
    fresh = new_message_id(address)
    if message.id is None or not message.token:
        return fresh
    domain = fresh.rpartition("@")[2].rstrip(">")
    digest = hashlib.blake2b(
        message.token.encode(), digest_size=15, person=b"message-id"
    ).hexdigest()
    return f"<{digest}.{message.id}@{domain}>"


def link_target(message, index, target=None):
    """Where link ``index`` of ``message`` goes; None if nowhere.

    A link with merge fields goes to ``target``, its URL merged when the
    message was built (carried, signed, in the click token): a click never
    merges a template.
    """
    links = message.template_version.links or []
    if not 0 <= index < len(links):
        return None
    url = unescape(links[index]["url"])  # versions of old stored hrefs with &amp;
    if "{" in url:
        url = target or ""
    return url if url.startswith(("https://", "http://")) else None


def deliver_batch(ids, gate=CLOSED):
    """Claim ``ids`` and send each claimed message; return counts by outcome.

    Messages go through their sender's server (one reused connection per
    server in the batch); a server that cannot be reached sends its
    messages back to the queue for a later attempt. The lease on the rows
    not yet done is renewed as the batch goes; a row whose lease was lost is
    left alone (the reaper gives it to another worker). ``gate`` says which
    campaigns may send (asked again as the batch goes, so a pause holds
    within a second) and is told which campaigns the batch sent for.
    """
    lease = claim_lease(ids, gate)
    outcome = {
        "sent": 0,
        "failed": 0,
        "retry": 0,
        "skipped": len(ids) - len(lease.ids),
        "suppressed": 0,
        "released": 0,
    }
    if not lease.ids:
        return outcome
    routes, sending = {}, SendingCampaigns(_fresh(lambda: sending_now(gate)))
    session = db.session()
    expire_on_commit = session.expire_on_commit
    # The batch's rows, versions and records stay loaded while it runs.
    session.expire_on_commit = False
    campaign_ids = set()
    try:
        messages, context = load_batch(lease.ids, gate)
        campaign_ids = {m.campaign_id for m in messages if m.campaign_id}
        held_back = consent.hold_back_reasons(messages)
        suppressed = consent.suppressions_among(  # of the copies (cc, bcc, more To) alone:
            [address for m in messages for address in m.envelope_recipients[1:]]
        )  # the recipients' own were looked up just above
        db.session.commit()  # nothing is held open while the batch goes out
        with Recorder() as recorder:
            for position, message in enumerate(messages):
                lease.renew_if_due(lambda position=position: [m.id for m in messages[position:]])
                if not lease.holds(message.id):
                    outcome["skipped"] += 1
                    continue
                if message.campaign_id and not sending.includes(message.campaign_id):
                    ledger.release(message, recorder)
                    outcome["released"] += 1
                    continue
                held = held_back(message)
                if held is not None:  # suppressed (or opted out) after the row was queued
                    ledger.mark_suppressed(message, held, recorder)
                    outcome["suppressed"] += 1
                    continue
                route = _route(routes, context.server(message.sender))
                if isinstance(route, Exception):
                    ledger.mark_retry(message, route, recorder)
                    outcome["retry"] += 1
                    continue
                route.limiter.wait()
                copies = consent.copies_going(message, suppressed)
                outcome[deliver_one(message, route.transport, context, recorder, copies)] += 1
    finally:
        for route in routes.values():
            if not isinstance(route, Exception):
                route.transport.close()
        session.expire_on_commit = expire_on_commit
        db.session.expire_all()
    gate.finish(campaign_ids)
    return outcome


def _fresh(lookup):
    """``lookup`` run in a transaction of its own, not left open afterwards."""

    def run():
        try:
            return lookup()
        finally:
            db.session.commit()

    return run


class SendingCampaigns:
    """The campaigns that may send now, looked up again at most every half second."""

    def __init__(self, lookup, every=0.5):
        self.lookup, self.every, self.checked, self.ids = lookup, every, 0.0, frozenset()

    def includes(self, campaign_id):
        if time.monotonic() - self.checked > self.every:
            self.ids = self.lookup()
            self.checked = time.monotonic()
        return campaign_id in self.ids


@dataclass
class Route:
    """An open connection to one outgoing server and its rate limit."""

    transport: SmtpTransport
    limiter: RateLimiter


def _route(routes, server):
    """The connected route to ``server`` (None: ``SMTP_URL``), or the error connecting to it."""
    key = f"server-{server.id}" if server is not None else "env"
    if key not in routes:
        routes[key] = _connect(server, key)
    return routes[key]


def _connect(server, key):
    try:
        transport = SmtpTransport(servers.transport_settings(server))
        transport.connect()
    except (TemporaryFailure, PermanentFailure, SecretUnreadable) as exc:
        return TemporaryFailure(str(exc))
    return Route(transport, RateLimiter(key, server.rate_limit if server else 0))


def deliver_one(message, transport, context=None, recorder=None, copies=None):
    """Send one claimed message and record what happened; return the outcome name.

    The message goes to its recipient and ``copies`` (its other To, Cc and Bcc
    addresses that may get it; None: all of them) in one SMTP transaction.

    With a ``recorder`` the outcome may still be on its way to the database when
    this returns; the next message goes on the wire only once it is committed.
    So a worker killed at any moment has at most one message sent and not
    recorded, left in ``sending`` for the reaper: the one possible duplicate.
    """
    context = context or BatchContext()
    try:
        built = build_message(message, eight_bit=transport.eight_bit, context=context)
    except (MergeError, RecordNotFound) as exc:
        ledger.mark_failed(message, f"cannot merge the template: {exc}", recorder)
        return "failed"
    except PdfFailed as exc:
        ledger.mark_failed(message, f"cannot render the attached PDF: {exc}", recorder)
        return "failed"
    except (SecretUnreadable, dkim.DkimUnusable) as exc:
        ledger.mark_retry(
            message,
            f"DKIM key cannot be used ({exc}); enter it again under Settings → DKIM",
            recorder,
        )
        return "retry"
    message.message_id = built.message_id
    copies = message.envelope_recipients[1:] if copies is None else copies
    to = (message.recipient_email, *copies) if copies else message.recipient_email
    if recorder is not None:
        # The envelope may go ahead (nothing is delivered without the message); the
        # message itself waits until the one before it is recorded.
        transport.prepare(built.envelope_from, to)
        recorder.wait()
    try:
        reply = transport.send(built.envelope_from, to, built.data)
    except TemporaryFailure as exc:
        ledger.mark_retry(message, exc, recorder)
        return "retry"
    except PermanentFailure as exc:
        hard = bounces.classify_reply(str(exc))
        ledger.mark_failed(message, exc, recorder, bounce="hard" if hard else "soft")
        if recorder is not None:
            recorder.wait()
        bounces.record_send_failure(message, str(exc), hard)  # suppresses a dead address
        return "failed"
    ledger.mark_sent(message, built.message_id, reply, recorder)
    copies_to = context.mailbox(message.sender)
    if copies_to is not None:  # appended to the sender's mailbox on its own
        sentcopy.record_copy(message, with_bcc(built.data, message.bcc), copies_to)
    return "sent"
