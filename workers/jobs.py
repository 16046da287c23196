"""RQ job functions: ids in, the part's API called, a small summary out."""

import logging

from designer import campaigns, mail, tracking
from designer.extensions import db
from designer.templating import text_parts
from workers.context import job_context


def send_messages(message_ids):
    """Send a batch of queued messages by id, campaign mail as the campaigns' gate allows."""
    with job_context():
        try:
            return mail.deliver_batch(message_ids, campaigns.sending_gate)
        finally:
            db.session.remove()


def queue_recipients(campaign_id):
    """Write and queue the ledger of a campaign just started (a large audience)."""
    with job_context():
        try:
            return {"queued": campaigns.queue_started(campaign_id)}
        finally:
            db.session.remove()


def count_report(campaign_id):
    """Count a large campaign's report and keep it for its pages."""
    from designer.campaigns import reporting

    with job_context():
        try:
            return reporting.count_and_keep(campaign_id)
        finally:
            db.session.remove()


def reap_and_dispatch():
    """Start due campaigns, requeue messages of dead workers, queue every due retry."""
    with job_context():
        try:
            return {
                "campaigns_started": campaigns.start_due_campaigns(),
                "campaigns_requeued": campaigns.finish_interrupted_queuing(),
                "requeued": mail.requeue_expired_leases(),
                "dispatched": mail.dispatch_due(campaigns.sending_gate),
            }
        finally:
            db.session.remove()


def flush_tracking():
    """Write the buffered opens and clicks to their events and counters."""
    with job_context():
        try:
            return {"counted": tracking.flush()}
        finally:
            db.session.remove()


def derive_text_part(version_id):
    """Derive and store the text part of a large template version saved without one."""
    with job_context():
        try:
            return {"derived": text_parts.derive_pending(version_id)}
        finally:
            db.session.remove()


def append_sent_copies():
    """Append the due copies of sent mail to their senders' own mailboxes (IMAP)."""
    from designer.mail import sentcopy

    with job_context():
        try:
            return {"appended": sentcopy.append_due_copies()}
        finally:
            db.session.remove()


def poll_bounces():
    """Read the bounce mailbox: record each bounce, suppress dead addresses."""
    from designer.mail import bounces, imap

    with job_context():
        try:
            return bounces.poll()
        except imap.MailboxError as exc:  # shown on Settings → Bounces when read by hand
            logging.getLogger(__name__).warning("bounce mailbox not read: %s", exc)
            return {"error": str(exc)}
        finally:
            db.session.remove()


def read_replies():
    """Read the linked mailboxes' INBOX for replies; raise the workflows' "replied" events."""
    from designer import workflows
    from designer.mail import replies

    with job_context():
        try:
            found = replies.read_all()
            found["events"] = workflows.reply_events(found.pop("new"))
            return found
        finally:
            db.session.remove()


def read_mailbox_replies(mailbox_id):
    """Read one mailbox that announced new mail (IMAP IDLE); raise its "replied" events."""
    from designer import workflows
    from designer.mail import replies

    with job_context():
        try:
            found = replies.read_one(mailbox_id)
            found["events"] = workflows.reply_events(found.pop("new"))
            return found
        finally:
            db.session.remove()


def render_export_chunk(export_id, item_ids):
    """Render one chunk of a batch PDF export (the last chunk packs the download)."""
    from designer.pdf import exports

    with job_context():
        try:
            return {"rendered": exports.render_chunk(export_id, item_ids)}
        finally:
            db.session.remove()


def process_events():
    """Process every waiting event, a batch at a time (one processor runs at once)."""
    from designer import workflows

    with job_context():
        try:
            return {"events": workflows.process_events()}
        finally:
            db.session.remove()


def process_event(event_id):
    """Run the workflows a stored event triggers (jobs queued before the processor)."""
    from designer import workflows

    with job_context():
        try:
            return {"runs": len(workflows.process_event(event_id))}
        finally:
            db.session.remove()


def push_crm_counts():
    """Write the due open counts, last opened and last sent back to vtiger."""
    from designer.crm import writeback

    with job_context():
        try:
            return writeback.run_scheduled()
        finally:
            db.session.remove()


def run_workflow_schedules():
    """Run the date-based workflows whose moment has come; queue lost events again."""
    from designer import workflows

    with job_context():
        try:
            return {
                "runs": workflows.run_due_schedules(),
                "events_requeued": workflows.requeue_pending_events(),
            }
        finally:
            db.session.remove()


def sync_crm():
    """Read what changed in vtiger since the last pass (a first import a slice at a time)."""
    from designer import crm

    with job_context():
        try:
            return crm.sync_in_background()
        finally:
            db.session.remove()


def deliver_webhooks(webhook_ids):
    """POST the due outbound webhook deliveries ``webhook_ids``, signed, to their endpoints."""
    from designer import webhooks

    with job_context():
        try:
            return webhooks.deliver_many(webhook_ids)
        finally:
            db.session.remove()


def dispatch_webhooks():
    """Queue the webhook deliveries that are due (retries, and any whose job was lost)."""
    from designer import webhooks

    with job_context():
        try:
            return {"queued": webhooks.dispatch_due()}
        finally:
            db.session.remove()
