"""Audiences: the saved ones (segments), and how many contacts a set of filters reaches."""

from marshmallow import Schema, fields, validate

from designer import campaigns
from designer.api.campaigns import FilterSchema
from designer.api.pagination import PageQuerySchema, PageSchema, one_page
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.campaigns.models import Segment
from designer.errors import ApiError
from designer.extensions import db

bp = ApiBlueprint(
    "Audiences",
    __name__,
    url_prefix="/api/v1/segments",
    description="Audiences: contacts chosen by filters, saved or counted.",
)
protect(bp)

DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]


class SegmentSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 4})
    name = fields.String(required=True, metadata={"example": "Dutch customers"})
    filters = fields.List(
        fields.Dict(), required=True, metadata={"description": "All must hold.", "example": DUTCH}
    )


class SegmentListSchema(PageSchema):
    segments = fields.List(fields.Nested(SegmentSchema), required=True)


class CountInSchema(Schema):
    filters = fields.List(
        fields.Nested(FilterSchema),
        required=True,
        validate=validate.Length(max=50),
        metadata={
            "description": "All must hold; [] is every contact with an address.",
            "example": DUTCH,
        },
    )


class CountSchema(Schema):
    count = fields.Integer(
        required=True,
        metadata={
            "description": "Contacts with an address the filters choose (suppressed addresses "
            "are left out only when a campaign starts).",
            "example": 120,
        },
    )


@bp.route("")
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, SegmentListSchema)
def list_segments(query):
    """The saved audiences, by name."""
    return one_page(db.select(Segment).order_by(Segment.name, Segment.id), query, "segments")


@bp.route("/count", methods=["POST"])
@bp.arguments(CountInSchema)
@bp.response(200, CountSchema)
def count(body):
    """How many contacts a set of filters chooses now (the new-campaign page's live count)."""
    try:
        return {"count": campaigns.audience_count(body["filters"])}
    except campaigns.FilterInvalid as exc:
        raise ApiError(
            422, "invalid_filter", f"filters: {exc}", {"fields": {"filters": [str(exc)]}}
        ) from exc
