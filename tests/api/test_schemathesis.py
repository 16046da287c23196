"""The OpenAPI document against the running API: schemathesis tries every operation.

For each operation, requests generated from the document (valid ones, invalid
ones, and valid ones whose path names real records) are sent with the demo
admin's token; no answer may be a server error or contradict the document
(status codes, content types, response bodies).
"""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from designer import campaigns
from designer.extensions import db
from designer.mail.models import Message
from designer.records import Contact, Document, User
from designer.templating import Template

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Examples per operation and run: keeps the whole test well under a minute.
EXAMPLES = 12
PATH_PARAMETER = re.compile(r"{(\w+)}")


@pytest.fixture
def api_schema(app, demo):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture
def real_ids(demo):
    """Path parameters naming real records: a started campaign, its message, a contact, …"""
    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    segment = campaigns.create_segment(
        "Dutch", [{"field": "contact.language", "op": "eq", "value": "nl"}]
    )
    sender = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    campaign = campaigns.create_campaign(
        "Spring", template=template, segment=segment, sender=sender
    )
    campaigns.start(campaign)
    invoice = db.session.scalar(db.select(Document).where(Document.kind == "invoice"))
    return {
        "template_id": template.id,
        "campaign_id": campaign.id,
        "message_id": db.session.scalar(db.select(db.func.min(Message.id))),
        "/records/": {
            "module": "contact",
            "record_id": db.session.scalar(db.select(db.func.min(Contact.id))),
        },
        "/pdfs/": {"module": "invoice", "record_id": invoice.id},
    }


def _pinned(operation, real_ids):
    """The operation's path parameters set to real ids, or None when it has none."""
    names = PATH_PARAMETER.findall(operation.path)
    if not names:
        return None
    values = {name: real_ids[name] for name in names if name in real_ids}
    for marker in ("/records/", "/pdfs/"):
        if marker in operation.path:
            values.update({k: v for k, v in real_ids[marker].items() if k in names})
    return values


def _failures(operation, strategy, label, headers):
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every failure is reported below
        return [f"{operation.label} ({label}): {exc}"]
    return []


def _runs(operation, real_ids):
    yield "valid", operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    yield "invalid", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    pinned = _pinned(operation, real_ids)
    if pinned:
        yield "real ids", operation.as_strategy(path_parameters=pinned)


def test_every_operation_keeps_to_the_document(api_schema, real_ids, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 18
    failures = [
        failure
        for operation in operations
        for label, strategy in _runs(operation, real_ids)
        for failure in _failures(operation, strategy, label, headers)
    ]
    assert not failures, "\n\n".join(failures)
