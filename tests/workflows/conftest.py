"""Fixtures for workflows: a hook source with its secret, signed posts, an invoice rule."""

import json
import time

import pytest
from workflow_support import signature, template_named

from designer import workflows


@pytest.fixture
def hook_secret(demo):
    _, secret = workflows.add_source("crm")
    return secret


@pytest.fixture
def post_event(client, hook_secret):
    """``post_event(payload)`` posts it signed as the CRM would; options to break it."""

    def post(payload=None, *, secret=hook_secret, timestamp=None, body=None, headers=None):
        body = body if body is not None else json.dumps(payload).encode()
        timestamp = timestamp if timestamp is not None else int(time.time())
        signed = {
            "X-Designer-Timestamp": str(timestamp),
            "X-Designer-Signature": signature(secret, timestamp, body),
        }
        signed.update(headers or {})
        return client.post(
            "/hooks/events", data=body, content_type="application/json", headers=signed
        )

    return post


@pytest.fixture
def invoice_rule(demo):
    """On invoice.created: the invoice reminder to the invoice's contact, the PDF attached."""
    return workflows.save_workflow(
        {
            "name": "New invoice to the customer",
            "enabled": True,
            "module": "invoice",
            "trigger": {"type": "created"},
            "actions": [
                {
                    "type": "send_email",
                    "template_id": template_named("Invoice reminder").id,
                    "to": "record",
                    "attach_pdf_ids": [template_named("Invoice (PDF)").id],
                }
            ],
        }
    )
