"""Outbound webhooks: CRMs and other systems hear what happened, signed per Standard Webhooks.

Administrators subscribe endpoint URLs to event types (``EVENT_TYPES``). The part
where a thing happens calls ``emit`` (or ``emit_many``) right there: with nobody
subscribed that costs a cached look-up; otherwise a delivery row is written in the
caller's transaction and queued when it commits (``emitter``). A worker signs and
POSTs it (``delivery``), retrying for a day; an endpoint that fails for a whole day
is switched off and administrators are told. Connections go only to public
addresses unless ``ALLOWED_WEBHOOK_HOSTS`` allows others (``transport``).
This part sits low: it imports only core, so every part with news can emit.
"""

from designer.webhooks.delivery import deliver_many, dispatch_due, send_test_event
from designer.webhooks.emitter import EVENT_TYPES, TEST_EVENT, emit, emit_many, subscribers
from designer.webhooks.endpoints import (
    LOG_PAGE_SIZE,
    InvalidEndpoint,
    counts,
    create_endpoint,
    delete_endpoint,
    delivery_log,
    get_endpoint,
    list_endpoints,
    switch_off_by_hand,
    switch_on,
    switched_off,
    update_endpoint,
)
from designer.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "EVENT_TYPES",
    "LOG_PAGE_SIZE",
    "TEST_EVENT",
    "InvalidEndpoint",
    "WebhookDelivery",
    "WebhookEndpoint",
    "counts",
    "create_endpoint",
    "delete_endpoint",
    "deliver_many",
    "delivery_log",
    "dispatch_due",
    "emit",
    "emit_many",
    "get_endpoint",
    "list_endpoints",
    "send_test_event",
    "subscribers",
    "switch_off_by_hand",
    "switch_on",
    "switched_off",
    "update_endpoint",
]
