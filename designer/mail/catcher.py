"""The local SMTP catcher: a real SMTP server on loopback for the embedded default.

With no outgoing server configured, ``designer serve`` starts it; every
message it receives is stored as raw bytes and shown on the Outbox page.
The send path is the same SMTP client a real server gets.
"""

from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from designer.extensions import db
from designer.mail.models import OutboxMessage
from designer.templating.system import SYSTEM_MAIL_HEADER


class OutboxHandler:
    """aiosmtpd handler that writes each received message to the outbox table."""

    def __init__(self, app):
        self.app = app

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        store_received(self.app, envelope.mail_from, envelope.rcpt_tos, raw)
        return "250 2.0.0 Message accepted for delivery"


def store_received(app, mail_from, rcpt_tos, raw):
    """Keep one received message in the outbox."""
    parsed = message_from_bytes(raw, policy=policy.default)
    with app.app_context():
        db.session.add(
            OutboxMessage(
                mail_from=mail_from or "",
                rcpt_to=", ".join(rcpt_tos),
                subject=str(parsed.get("Subject", ""))[:1000],
                from_header=str(parsed.get("From", ""))[:1000],
                cc_header=str(parsed.get("Cc", ""))[:10_000],
                attachments=attachments_of(parsed),
                raw=raw,
                system_mail=parsed.get(SYSTEM_MAIL_HEADER) is not None,
            )
        )
        db.session.commit()


def attachments_of(parsed):
    """``[{"name", "type", "size"}]`` of a parsed message's attachments (size: decoded bytes)."""
    found = []
    for part in parsed.iter_attachments() if parsed.is_multipart() else ():
        found.extend(_attachment(part))
    return found


def _attachment(part):
    if part.get_content_maintype() == "multipart":  # a nested alternative or related part
        return [a for sub in part.iter_attachments() for a in _attachment(sub)]
    if part.get_content_disposition() != "attachment" and not part.get_filename():
        return []
    payload = part.get_payload(decode=True) or b""
    name = part.get_filename() or "(no name)"
    return [{"name": name[:300], "type": part.get_content_type(), "size": len(payload)}]


def start_catcher(app, port=None):
    """Start the catcher on 127.0.0.1 and return its controller (call ``.stop()``)."""
    controller = Controller(
        OutboxHandler(app),
        hostname="127.0.0.1",
        port=port or app.config["SMTP_CATCHER_PORT"],
        data_size_limit=50 * 1024 * 1024,
    )
    controller.start()
    return controller
