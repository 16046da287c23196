"""Saved blocks: sections saved from the visual builder, offered in every template's builder."""

from flask_login import current_user
from marshmallow import Schema, fields

from designer.api.pagination import PageQuerySchema, PageSchema, one_page
from designer.api.schemas import Text
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.errors import ApiError
from designer.templating.saved_blocks import (
    BlockInvalid,
    block_json,
    create_block,
    delete_block,
    list_blocks,
)

bp = ApiBlueprint(
    "Blocks",
    __name__,
    url_prefix="/api/v1/blocks",
    description="Saved blocks: sections of MJML saved for every template.",
)
protect(bp)

SECTION = (
    "<mj-section><mj-column><mj-text>Opening hours: 8:00 to 18:00"
    "</mj-text></mj-column></mj-section>"
)


class BlockSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 2})
    name = fields.String(required=True, metadata={"example": "Opening hours"})
    mjml = fields.String(required=True, metadata={"example": SECTION})
    markup = fields.String(
        required=True,
        metadata={"description": "The section as the builder's block manager drops it."},
    )


class BlockListSchema(PageSchema):
    blocks = fields.List(fields.Nested(BlockSchema), required=True)


class NewBlockSchema(Schema):
    name = Text(
        required=True, metadata={"description": "1 to 100 characters.", "example": "Opening hours"}
    )
    mjml = Text(
        required=True,
        metadata={
            "description": "One `<mj-section>` or `<mj-wrapper>` the builder can edit and that "
            "compiles.",
            "example": SECTION,
        },
    )


@bp.route("")
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, BlockListSchema)
def list_saved_blocks(query):
    """Every saved block, oldest first."""
    page = one_page(list_blocks(), query, "blocks")
    return {**page, "blocks": [block_json(block) for block in page["blocks"]]}


@bp.route("", methods=["POST"])
@bp.arguments(NewBlockSchema)
@bp.response(201, BlockSchema)
def save_block(body):
    """Save a section as a block, for every template."""
    try:
        return block_json(create_block(body["name"], body["mjml"], user=current_user))
    except BlockInvalid as exc:
        raise ApiError(
            422,
            "block_invalid",
            f"{exc.field}: {exc.message}",
            {"fields": {exc.field: [exc.message]}},
        ) from exc


@bp.route("/<int(max=2147483647):block_id>", methods=["DELETE"])
@bp.response(204)
@bp.alt_response(404, response="NOT_FOUND")
def remove_block(block_id):
    """Delete a saved block; templates it was dropped into keep their copy."""
    if not delete_block(block_id):
        raise ApiError(404, "not_found", f"no saved block with id {block_id}")
