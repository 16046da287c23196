"""Helpers of the workflow tests: a CRM's signature and signed headers of either scheme,
templates by name, a Dutch invoice event, the welcome workflow."""

import hashlib
import hmac

from designer.extensions import db
from designer.templating import Template
from designer.workflows import sources


def signature(secret, timestamp, body):
    """The signature a CRM computes: HMAC-SHA256 of "<timestamp>.<body>", hex."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def our_headers(secret, timestamp, body):
    """The headers of a request signed with our scheme (``X-Designer-*``)."""
    return {
        "X-Designer-Timestamp": str(timestamp),
        "X-Designer-Signature": signature(secret, timestamp, body),
    }


def standard_headers(secret, msg_id, timestamp, body, signatures=None):
    """The headers of a Standard Webhooks request; ``signatures`` in place of the real one."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures or sources.sign_standard(secret, msg_id, timestamp, body),
    }


def template_named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


def welcome_workflow(trigger="created"):
    """On ``contact.<trigger>``, once per contact: the (marketing) Welcome template to it."""
    from designer import workflows

    return workflows.save_workflow(
        {
            "name": "Welcome new contacts",
            "enabled": True,
            "module": "contact",
            "trigger": {"type": trigger},
            "actions": [{"template_id": template_named("Welcome").id, "to": "record"}],
        }
    )


def dutch_invoice_event(event_id="evt-1", number="2026-0042", due="2026-12-04"):
    """``invoice.created`` for a Dutch contact at a Dutch organisation, two lines."""
    return {
        "id": event_id,
        "type": "invoice.created",
        "occurred_at": "2026-11-27T10:00:00Z",
        "record": {
            "id": f"INV-{number}",
            "number": number,
            "subject": "Onderhoud",
            "status": "sent",
            "issue_date": "2026-11-20",
            "due_date": due,
            "currency": "EUR",
            "organisation": {
                "id": "ORG-77",
                "name": "Kaasboerderij Hendriks",
                "language": "nl",
                "country": "Netherlands",
                "timezone": "Europe/Amsterdam",
                "email": "info@hendriks.example",
            },
            "contact": {
                "id": "CON-77",
                "first_name": "Sanne",
                "last_name": "Hendriks",
                "email": "sanne@hendriks.example",
                "language": "nl",
                "organisation": "ORG-77",
            },
            "owner": "admin@example.com",
            "lines": [
                {
                    "description": "Onderhoudscontract",
                    "quantity": 1,
                    "unit_price": "1000.00",
                    "tax_rate": "21",
                },
                {
                    "description": "Voorrijkosten",
                    "quantity": 2,
                    "unit_price": "10.33",
                    "tax_rate": "0",
                },
            ],
        },
    }
