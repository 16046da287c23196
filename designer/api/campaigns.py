"""Campaigns: create (with a saved audience or filters), start, schedule, pause, resume,
cancel, progress and report."""

from datetime import UTC, datetime

from flask import abort, jsonify
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from designer import campaigns, templating, tracking
from designer.api.cursors import CursorPageSchema, CursorQuerySchema, cursor_page
from designer.api.messages import MessageSchema, message_body
from designer.api.schemas import Id, Name, Text, UtcDateTime
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.campaigns import reporting
from designer.campaigns.audience import FIELDS, OPERATORS, SPECIAL
from designer.campaigns.models import STATES, Campaign, Segment
from designer.errors import ApiError
from designer.extensions import db
from designer.mail.models import Message

bp = ApiBlueprint(
    "Campaigns",
    __name__,
    url_prefix="/api/v1/campaigns",
    description="Campaigns: a template sent to an audience, with its progress.",
)
protect(bp)

CAMPAIGN_PATH = "/<int(max=2147483647):campaign_id>"


class FilterSchema(Schema):
    field = Text(required=True, validate=validate.OneOf([*FIELDS, *SPECIAL]))
    op = Text(load_default="eq", validate=validate.OneOf(OPERATORS))
    value = Text(
        required=True,
        validate=validate.Length(1, 500),
        metadata={
            "description": "Compared as text; `in` takes a comma-separated list; "
            "campaign filters and organisation.owner_id take an id."
        },
    )


class NewCampaignSchema(Schema):
    name = Name(required=True)
    template_id = Id(required=True, metadata={"description": "A saved e-mail template."})
    segment_id = Id(metadata={"description": "A saved audience; or give `filters`."})
    filters = fields.List(
        fields.Nested(FilterSchema),
        validate=validate.Length(max=50),
        metadata={"description": "All must hold; [] is every contact with an address."},
    )
    tracking = fields.Boolean(load_default=True)
    topic_id = Id(
        load_default=None,
        metadata={"description": "An active subscription topic: who opted out of it is left out."},
    )

    @validates_schema
    def _one_audience(self, data, **kwargs):
        if "segment_id" in data and "filters" in data:
            raise ValidationError("Give segment_id or filters, not both.", "filters")


class QueuingSchema(Schema):
    """How far a started campaign's queuing got (a campaign and its progress say it)."""

    queuing = fields.Boolean(
        required=True,
        metadata={
            "description": "Started, and its recipients still being written and queued "
            "(a large audience is queued by a worker): `audience_read` of `audience_size`."
        },
    )
    audience_read = fields.Integer(
        required=True,
        metadata={"description": "Records of the audience the start has gone through so far."},
    )
    audience_size = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Records in the audience when it started (null before)."},
    )


class ProgressSchema(QueuingSchema):
    campaign = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    total = fields.Integer(required=True)
    queued = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    suppressed = fields.Integer(required=True)
    topic_opt_outs = fields.Integer(
        required=True,
        metadata={"description": "Of `suppressed`, those who opted out of the campaign's topic."},
    )
    cancelled = fields.Integer(required=True)
    percent = fields.Float(required=True)


class CampaignSchema(QueuingSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    template_id = fields.Integer(required=True)
    segment_id = fields.Integer(required=True)
    sender_id = fields.Integer(required=True)
    tracking = fields.Boolean(required=True)
    topic_id = fields.Integer(allow_none=True)
    scheduled_at = UtcDateTime(required=True, allow_none=True)
    started_at = UtcDateTime(required=True, allow_none=True)
    finished_at = UtcDateTime(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)


class CampaignListSchema(Schema):
    campaigns = fields.List(fields.Nested(CampaignSchema), required=True)


#: Times a schedule may name (a bound keeps offsets from leaving the calendar).
SCHEDULE_RANGE = validate.Range(
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(9999, 1, 1, tzinfo=UTC),
    error="Give a time from 2000 to 9998.",
)


class ScheduleSchema(Schema):
    scheduled_at = fields.AwareDateTime(
        required=True,
        default_timezone=UTC,
        validate=SCHEDULE_RANGE,
        metadata={
            "description": "When to start, in the future (ISO 8601; without an offset: UTC).",
            "example": "2026-05-04T09:00:00Z",
        },
    )


class FiguresSchema(Schema):
    sent = fields.Integer(required=True, metadata={"example": 120})
    delivered = fields.Integer(required=True, metadata={"example": 118})
    bounced = fields.Integer(required=True, metadata={"example": 2})
    unique_opens = fields.Integer(required=True, metadata={"example": 64})
    opens = fields.Integer(required=True, metadata={"example": 90})
    unique_human_opens = fields.Integer(required=True, metadata={"example": 51})
    human_opens = fields.Integer(required=True, metadata={"example": 70})
    unique_clicks = fields.Integer(required=True, metadata={"example": 12})
    clicks = fields.Integer(required=True, metadata={"example": 15})
    unique_human_clicks = fields.Integer(required=True, metadata={"example": 11})
    human_clicks = fields.Integer(required=True, metadata={"example": 14})
    click_through_rate = fields.Float(
        required=True,
        metadata={"description": "Percent of delivered messages clicked.", "example": 10.2},
    )
    open_rate = fields.Float(
        required=True,
        metadata={"description": "Percent of delivered messages opened.", "example": 54.2},
    )
    replied = fields.Integer(
        required=True,
        metadata={
            "description": "Recipients who replied (a person, not an auto-reply), once each.",
            "example": 3,
        },
    )
    reply_rate = fields.Float(
        required=True,
        metadata={"description": "Percent of delivered messages replied to.", "example": 2.5},
    )
    unsubscribes = fields.Integer(required=True, metadata={"example": 1})


class LinkClicksSchema(Schema):
    url = fields.String(required=True, metadata={"example": "https://example.com/spring"})
    clicks = fields.Integer(required=True, metadata={"example": 15})
    human_clicks = fields.Integer(required=True, metadata={"example": 14})


class HourSchema(Schema):
    hour = fields.String(
        required=True, metadata={"format": "date-time", "example": "2026-05-04T09:00:00Z"}
    )
    opens = fields.Integer(required=True, metadata={"example": 40})
    clicks = fields.Integer(required=True, metadata={"example": 6})


class ReportSchema(Schema):
    campaign = fields.Integer(required=True, metadata={"example": 5})
    counted_at = UtcDateTime(
        allow_none=True,
        metadata={
            "description": "When a worker counted this report: a large campaign's report is "
            "counted in the background and kept, and counted again when asked for a minute "
            "later. Null: counted for this answer."
        },
    )
    recounting = fields.Boolean(metadata={"description": "A newer count is on its way."})
    figures = fields.Nested(FiguresSchema, required=True)
    links = fields.List(
        fields.Nested(LinkClicksSchema),
        required=True,
        metadata={"description": "Clicks per link, in the template's order."},
    )
    activity = fields.List(
        fields.Nested(HourSchema),
        required=True,
        metadata={"description": "Opens and clicks per hour, oldest first."},
    )


class RecipientListSchema(CursorPageSchema):
    recipients = fields.List(
        fields.Nested(MessageSchema),
        required=True,
        metadata={"description": "One message per recipient, newest first."},
    )


def _campaign(campaign_id):
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404, description=f"no campaign with id {campaign_id}")
    return campaign


def _invalid(field, message):
    return ApiError(422, "invalid_request", f"{field}: {message}", {"fields": {field: [message]}})


def _audience(body):
    if "segment_id" in body:
        segment = db.session.get(Segment, body["segment_id"])
        if segment is None:
            raise _invalid("segment_id", f"no audience with id {body['segment_id']}")
        return segment
    try:
        return campaigns.create_segment(body["name"], body.get("filters", []))
    except (campaigns.FilterInvalid, campaigns.CampaignError) as exc:
        raise _invalid("filters", str(exc)) from exc


def _template(template_id):
    try:
        return templating.get_template(template_id)
    except templating.TemplateNotFound as exc:
        raise _invalid("template_id", str(exc)) from exc


@bp.route("")
@bp.response(200, CampaignListSchema)
def list_campaigns():
    """Every campaign, newest first."""
    rows = db.session.scalars(db.select(Campaign).order_by(Campaign.id.desc())).all()
    return {"campaigns": rows}


@bp.route("", methods=["POST"])
@bp.arguments(NewCampaignSchema)
@bp.response(201, CampaignSchema)
def create_campaign(body):
    """Save a draft campaign sent by you: a template and its audience."""
    template = _template(body["template_id"])
    if template.kind != "email" or template.current is None:
        raise _invalid("template_id", "choose a saved e-mail template")
    segment = _audience(body)
    try:
        return campaigns.create_campaign(
            body["name"],
            template=template,
            segment=segment,
            sender=current_user,
            tracking=body["tracking"],
            topic_id=body["topic_id"],
        )
    except campaigns.CampaignError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc


@bp.route(CAMPAIGN_PATH)
@bp.response(200, CampaignSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_campaign(campaign_id):
    """One campaign."""
    return _campaign(campaign_id)


@bp.route(CAMPAIGN_PATH + "/progress")
@bp.response(200, ProgressSchema)
@bp.alt_response(404, response="NOT_FOUND")
def progress(campaign_id):
    """Messages by state, and how far the campaign is."""
    return campaigns.progress(_campaign(campaign_id))


def _act(action, campaign_id):
    campaign = _campaign(campaign_id)
    try:
        action(campaign)
    except campaigns.CampaignError as exc:
        raise ApiError(409, "invalid_state", str(exc)) from exc
    return campaigns.progress(campaign)


@bp.route(CAMPAIGN_PATH + "/start", methods=["POST"])
@bp.response(200, ProgressSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def start(campaign_id):
    """Start sending a draft or scheduled campaign. Its recipients are queued at once, or,
    for a large audience, by a worker: `queuing` is true until they all are."""
    return _act(campaigns.start, campaign_id)


@bp.route(CAMPAIGN_PATH + "/schedule", methods=["POST"])
@bp.arguments(ScheduleSchema)
@bp.response(200, ProgressSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def schedule(body, campaign_id):
    """Start a draft (or scheduled) campaign at a later time."""
    moment = body["scheduled_at"].astimezone(UTC).replace(tzinfo=None)
    return _act(lambda campaign: campaigns.schedule(campaign, moment), campaign_id)


@bp.route(CAMPAIGN_PATH + "/pause", methods=["POST"])
@bp.response(200, ProgressSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def pause(campaign_id):
    """Pause sending; workers stop within a second."""
    return _act(campaigns.pause, campaign_id)


@bp.route(CAMPAIGN_PATH + "/resume", methods=["POST"])
@bp.response(200, ProgressSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def resume(campaign_id):
    """Send exactly what is left of a paused campaign."""
    return _act(campaigns.resume, campaign_id)


@bp.route(CAMPAIGN_PATH + "/cancel", methods=["POST"])
@bp.response(200, ProgressSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def cancel(campaign_id):
    """Cancel; the ledger is kept and unsent messages are cancelled."""
    return _act(campaigns.cancel, campaign_id)


@bp.route(CAMPAIGN_PATH + "/report")
@tracking.fresh_counts
@bp.response(200, ReportSchema)
@bp.alt_response(
    202,
    description="A large campaign's first count is running: ask again after `Retry-After` seconds.",
)
@bp.alt_response(404, response="NOT_FOUND")
def report(campaign_id):
    """Delivery, opens (all and human), clicks per link and activity per hour."""
    campaign = _campaign(campaign_id)
    body = reporting.report_of(campaign)
    if body is None:
        return _being_counted(campaign)
    return {
        "campaign": campaign.id,
        "counted_at": body.counted_at,
        "recounting": body.recounting,
        "figures": body.figures,
        "links": [
            {"url": link.url, "clicks": link.clicks, "human_clicks": link.human_clicks}
            for link in body.links
        ],
        "activity": [
            {"hour": hour.isoformat() + "Z", "opens": opens, "clicks": clicks}
            for hour, opens, clicks in body.activity
        ],
    }


def _being_counted(campaign):
    answer = jsonify(
        campaign=campaign.id,
        message="This campaign's report is being counted; ask again in a few seconds.",
    )
    answer.status_code = 202
    answer.headers["Retry-After"] = "5"
    return answer


@bp.route(CAMPAIGN_PATH + "/recipients")
@tracking.fresh_counts
@bp.arguments(CursorQuerySchema, location="query")
@bp.response(200, RecipientListSchema)
@bp.alt_response(404, response="NOT_FOUND")
def recipients(query, campaign_id):
    """The campaign's messages, one per recipient, with their states and counts, in
    cursor pages (follow `next_cursor`; a page costs the same however deep it is)."""
    campaign = _campaign(campaign_id)
    rows = db.select(Message).where(Message.campaign_id == campaign.id)
    page = cursor_page(rows, query, "recipients", Message.id)
    return {**page, "recipients": [message_body(m) for m in page["recipients"]]}
