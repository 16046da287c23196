"""CRM records: upsert by the CRM's own id (admins only), get with their merge data, and
the messages that went to a record."""

from datetime import date
from decimal import Decimal

from marshmallow import INCLUDE, Schema, fields, validate

from designer import records, tracking
from designer.api.cursors import CursorPageSchema, CursorQuerySchema, cursor_page
from designer.api.messages import MESSAGE_EXAMPLE, MessageSchema, message_body
from designer.api.schemas import Text
from designer.api.spec import ApiBlueprint
from designer.auth import protect, require_role
from designer.errors import ApiError
from designer.mail import history
from designer.mail.models import Message
from designer.workflows import InvalidRecord, save_record

bp = ApiBlueprint(
    "Records",
    __name__,
    url_prefix="/api/v1/records",
    description="CRM records (organisations, contacts, quotes, invoices, …).",
)
protect(bp)

#: Modules a CRM writes through the API.
UPSERT_MODULES = ("organisation", "contact", "quote", "invoice")
MODULE_PATH = "<any({}):module>"
RECORD_ID = "/<int(max=2147483647):record_id>"


class RecordUpsertSchema(Schema):
    """The CRM's view of a record: its id plus the fields to set (others are kept)."""

    class Meta:
        unknown = INCLUDE

    id = Text(
        required=True,
        validate=validate.Length(1, 100),
        metadata={"description": "The record's id in the CRM (our external id)."},
    )


class RecordSchema(Schema):
    module = fields.String(required=True)
    id = fields.Integer(required=True, metadata={"description": "Designer's id of the record."})
    external_id = fields.String(
        required=True, allow_none=True, metadata={"description": "The CRM's id, when it has one."}
    )
    data = fields.Dict(
        required=True,
        metadata={"description": "What templates see of the record (its merge data)."},
    )


class SavedRecordSchema(RecordSchema):
    created = fields.Boolean(required=True, metadata={"description": "False when updated."})


class RecordMessagesSchema(CursorPageSchema):
    messages = fields.List(
        fields.Nested(MessageSchema), required=True, metadata={"description": "Newest first."}
    )


RECORD_MESSAGES_EXAMPLE = {
    "messages": [
        {
            **MESSAGE_EXAMPLE,
            "state": "sent",
            "subject": "Your invoice 2026-0042",
            "message_id": "<1201.a1b2c3@example.com>",
            "attempts": 1,
            "open_count": 2,
            "human_open_count": 1,
            "click_count": 1,
            "human_click_count": 1,
            "first_opened_at": "2026-05-04T09:12:00Z",
            "last_opened_at": "2026-05-05T14:03:00Z",
            "sent_at": "2026-05-04T09:00:02Z",
        }
    ],
    "limit": 50,
    "next_cursor": None,
}


def plain(value):
    """Merge data as JSON: dates in ISO 8601, amounts as decimal strings."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record_json(module, record):
    return {
        "module": module,
        "id": record.id,
        "external_id": getattr(record, "external_id", None),
        "data": plain(records.merge_data(module, record)),
    }


@bp.route(MODULE_PATH.format(",".join(UPSERT_MODULES)), methods=["PUT"])
@require_role("admin")
@bp.arguments(RecordUpsertSchema)
@bp.response(200, SavedRecordSchema, description="Updated")
@bp.alt_response(201, schema=SavedRecordSchema, description="Created", success=True)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND", description="No such module")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def upsert(data, module):
    """Create or update a record by its CRM id (admins only).

    Fields left out keep their values. Related records are named by their CRM ids
    (`organisation`, `contact`) or given as nested objects; `owner` is a user's e-mail
    address; a document's `lines`, when given, replace its lines. `email_opt_out`
    (true/false) on a contact or organisation is the CRM's opt-out: true suppresses the
    address for marketing mail, false lifts a suppression only the opt-out made. Answers
    201 when the record was created, 200 when it was updated.
    """
    try:
        record, created = save_record(module, data)
    except InvalidRecord as exc:
        problem = str(exc).removeprefix(f"{exc.field}: ")
        raise ApiError(422, "invalid_record", str(exc), {"fields": {exc.field: [problem]}}) from exc
    return {**record_json(module, record), "created": created}, 201 if created else 200


@bp.route(MODULE_PATH.format(",".join(records.MODULES)) + RECORD_ID)
@bp.response(200, RecordSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_record(module, record_id):
    """One record with its merge data, by Designer's id."""
    return record_json(module, records.get_record(module, record_id))


@bp.route(MODULE_PATH.format(",".join(history.MODULES)) + RECORD_ID + "/messages")
@tracking.fresh_counts
@bp.arguments(CursorQuerySchema, location="query")
@bp.response(200, RecordMessagesSchema, example=RECORD_MESSAGES_EXAMPLE)
@bp.alt_response(404, response="NOT_FOUND")
def record_messages(query, module, record_id):
    """The messages that went to a record, newest first, with their states and counts.

    A contact's are the mail sent to it; an organisation's, the mail sent to it or its
    contacts; a quote's or an invoice's, the mail about it sent to its contact or
    organisation. Test sends and mail to colleagues are left out. In cursor pages:
    follow `next_cursor` until it is null.
    """
    record = records.get_record(module, record_id)
    page = cursor_page(history.messages_of(module, record), query, "messages", Message.id)
    return {**page, "messages": [message_body(message) for message in page["messages"]]}
