"""Delivery: render, build and send the messages of one claimed batch.

Called by the ``send_messages`` job with ids only. Each message is merged
from its ledger row (template version, record, sender, locale), sent over
one reused SMTP connection and its outcome recorded at once.
"""

import time
from dataclasses import dataclass

from flask import current_app

from designer import settings
from designer.crypto import SecretUnreadable
from designer.extensions import db
from designer.mail import dkim, ledger, sentcopy, servers
from designer.mail.mime import build_mime, new_message_id
from designer.mail.models import Message
from designer.mail.sender import resolve_sender
from designer.mail.servers import RateLimiter
from designer.mail.transport import PermanentFailure, SmtpTransport, TemporaryFailure
from designer.records import RecordNotFound, get_record, merge_data
from designer.templating import MergeError, build_context, render_email
from designer.templating.render import renderer_for
from designer.tracking.links import signer_for


@dataclass(frozen=True)
class Built:
    """A message ready for the wire."""

    message_id: str
    data: bytes
    envelope_from: str


def pixel_url(token):
    return f"{current_app.config['PUBLIC_URL']}/o/{token}.gif"


def _campaigns():
    """The campaigns part, imported on use: it queues mail through this part."""
    from designer.campaigns import lifecycle, queries, suppression

    return lifecycle, queries, suppression


def message_context(message, sender):
    """The merge data of one ledger row: its record, sender, company and locale."""
    record = get_record(message.record_module, message.record_id)
    return build_context(
        merge_data(message.record_module, record),
        sender=sender.merge,
        company=settings.company(),
        locale=message.locale,
        currency=getattr(record, "currency", None),
    )


def build_message(message, *, tracking=True, eight_bit=False):
    """Merge and serialise one ledger row; raises ``MergeError`` / ``RecordNotFound``."""
    sender = resolve_sender(message.sender)
    data = message_context(message, sender)
    suppression = _campaigns()[2]
    data["unsubscribe_url"] = suppression.unsubscribe_url(message.token)
    version = message.template_version
    campaign = message.campaign
    tracking = tracking and version.template.tracking and (campaign is None or campaign.tracking)
    headers = suppression.unsubscribe_headers(message.token, sender.address) if campaign else None
    links = None
    if tracking:
        links = signer_for(current_app).urls(message.token, len(version.links or ()))
    pixel = pixel_url(message.token) if tracking else None
    rendered = render_email(version, data, tracked_links=links, pixel_url=pixel)
    message_id = message.message_id or new_message_id(sender.address)
    raw = build_mime(
        rendered,
        sender=sender,
        to_name=message.recipient_name,
        to_address=message.recipient_email,
        message_id=message_id,
        extra_headers=headers,
        eight_bit=eight_bit,
    )
    raw = dkim.sign_if_configured(raw, sender.address)
    message.subject = rendered.subject[:1000]
    return Built(message_id=message_id, data=raw, envelope_from=sender.envelope_from)


def link_target(message, index):
    """Where link ``index`` of ``message`` goes, merged for its recipient; None if none."""
    links = message.template_version.links or []
    if not 0 <= index < len(links):
        return None
    url = links[index]["url"]
    if "{" in url:
        data = message_context(message, resolve_sender(message.sender))
        url = renderer_for(message.template_version).link_targets(data)[index]
    return url if url.startswith(("https://", "http://")) else None


def deliver_batch(ids):
    """Claim ``ids`` and send each claimed message; return counts by outcome.

    Messages go through their sender's server (one reused connection per
    server in the batch); a server that cannot be reached sends its
    messages back to the queue for a later attempt.
    """
    claimed = ledger.claim(ids)
    outcome = {"sent": 0, "failed": 0, "retry": 0, "skipped": len(ids) - len(claimed),
               "suppressed": 0, "released": 0}
    lifecycle, queries, _ = _campaigns()
    routes, gate = {}, CampaignGate(queries.campaign_states)
    messages = [db.session.get(Message, message_id) for message_id in claimed]
    suppressed = queries.suppressed_among([m.recipient_email for m in messages if m.campaign_id])
    try:
        for message in messages:
            if message.campaign_id and not gate.sending(message.campaign_id):
                ledger.release(message)
                outcome["released"] += 1
                continue
            if message.campaign_id and message.recipient_email.lower() in suppressed:
                ledger.mark_suppressed(message, "address is on the suppression list")
                outcome["suppressed"] += 1
                continue
            route = _route(routes, message.sender)
            if isinstance(route, Exception):
                ledger.mark_retry(message, route)
                outcome["retry"] += 1
                continue
            route.limiter.wait()
            outcome[deliver_one(message, route.transport)] += 1
    finally:
        for route in routes.values():
            if not isinstance(route, Exception):
                route.transport.close()
    lifecycle.finish_done_campaigns(m.campaign_id for m in messages if m.campaign_id)
    return outcome


class CampaignGate:
    """Whether a campaign is still sending, looked up at most every half second."""

    def __init__(self, lookup, every=0.5):
        self.lookup, self.every, self.checked, self.states = lookup, every, 0.0, {}

    def sending(self, campaign_id):
        if time.monotonic() - self.checked > self.every or campaign_id not in self.states:
            self.states = self.lookup()
            self.checked = time.monotonic()
        return self.states.get(campaign_id) == "sending"


@dataclass
class Route:
    """An open connection to one outgoing server and its rate limit."""

    transport: SmtpTransport
    limiter: RateLimiter


def _route(routes, user):
    """The connected route for ``user``'s server (or the error connecting to it)."""
    server = servers.server_for(user)
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


def deliver_one(message, transport):
    """Send one claimed message and record what happened; return the outcome name."""
    try:
        built = build_message(message, eight_bit=transport.eight_bit)
    except (MergeError, RecordNotFound) as exc:
        ledger.mark_failed(message, f"cannot merge the template: {exc}")
        return "failed"
    except (SecretUnreadable, dkim.DkimUnusable) as exc:
        ledger.mark_retry(message, f"DKIM key cannot be used ({exc}); "
                                   "enter it again under Settings → DKIM")
        return "retry"
    message.message_id = built.message_id
    try:
        reply = transport.send(built.envelope_from, message.recipient_email, built.data)
    except TemporaryFailure as exc:
        ledger.mark_retry(message, exc)
        return "retry"
    except PermanentFailure as exc:
        ledger.mark_failed(message, exc)
        return "failed"
    ledger.mark_sent(message, built.message_id, reply)
    sentcopy.record_copy(message, built.data)  # appended to the sender's mailbox on its own
    return "sent"
