"""Lists that grow come in pages: ``?page=2&per_page=50``, answered with the page's items
and ``page``, ``per_page`` and ``total`` beside them.

A resource's list schema inherits ``PageSchema`` and adds its items under the
resource's plural name (``{"segments": [...], "page": 1, "per_page": 50, "total": 3}``);
a client asks for the next page until it has ``total`` items.
"""

from marshmallow import Schema, fields, validate

from designer.api.schemas import MAX_ID
from designer.extensions import db

#: Items on a page unless ``per_page`` says otherwise, and the most it may say.
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100


class PageQuerySchema(Schema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(1, MAX_ID),
        metadata={"description": "Which page, from 1.", "example": 1},
    )
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE,
        validate=validate.Range(1, MAX_PER_PAGE),
        metadata={
            "description": f"Items per page, at most {MAX_PER_PAGE}.",
            "example": DEFAULT_PER_PAGE,
        },
    )


class PageSchema(Schema):
    page = fields.Integer(required=True, metadata={"example": 1})
    per_page = fields.Integer(required=True, metadata={"example": DEFAULT_PER_PAGE})
    total = fields.Integer(
        required=True, metadata={"description": "Items on every page together.", "example": 3}
    )


def one_page(rows, query, name):
    """The page ``query`` asks for of ``rows`` (a select, or a list a part returned)."""
    page, per_page = query["page"], query["per_page"]
    start = (page - 1) * per_page
    if isinstance(rows, list | tuple):
        total, items = len(rows), list(rows[start : start + per_page])
    else:
        total = db.session.scalar(
            db.select(db.func.count()).select_from(rows.order_by(None).subquery())
        )
        items = db.session.scalars(rows.limit(per_page).offset(start)).all()
    return {name: items, "page": page, "per_page": per_page, "total": total}
