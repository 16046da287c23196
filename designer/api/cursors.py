"""Lists without bound come in cursor pages: ``?limit=50``, then ``?cursor=<next_cursor>``.

A record's messages, a campaign's recipients, a message's events and a
workflow's runs can run to millions of rows, where ``?page=`` would make the
database count and skip every row before the page. These lists are read
newest first by id instead: a page is the ``limit`` rows below the last id
the client saw, so each page costs the same however deep it is (an index
range scan, no ``OFFSET``, no ``COUNT``).

The answer holds the items under the list's name, ``limit``, and
``next_cursor``: an opaque signed string for the next page, or ``null`` on
the last one. A cursor is only good for the list that gave it out; anything
else is refused with 422 and says so.
"""

from itsdangerous import BadSignature
from marshmallow import Schema, fields, validate

from designer.errors import ApiError
from designer.extensions import db
from designer.signing import serializer

#: Items on a page unless ``limit`` says otherwise, and the most it may say.
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
#: Cursors this API hands out are about 40 characters; anything much longer is not one.
MAX_CURSOR = 200


class CursorQuerySchema(Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Items per page, at most {MAX_LIMIT}.", "example": 50},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(1, MAX_CURSOR),
        metadata={
            "description": "The `next_cursor` of the previous page; leave out for the first."
        },
    )


class CursorPageSchema(Schema):
    limit = fields.Integer(required=True, metadata={"example": DEFAULT_LIMIT})
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Pass as `cursor` for the next page; null on the last page.",
            "example": None,
        },
    )


def _signer(name):
    return serializer(f"api-cursor:{name}")


def _last_id(query, name):
    if query.get("cursor") is None:
        return None
    try:
        last = _signer(name).loads(query["cursor"])
    except BadSignature:
        last = None
    if not isinstance(last, int) or isinstance(last, bool) or last < 1:
        message = "not a cursor this list gave out; start again without one."
        details = {"fields": {"cursor": [message]}}
        raise ApiError(422, "invalid_request", f"cursor: {message}", details)
    return last


def cursor_page(rows, query, name, key):
    """The page ``query`` asks for of the select ``rows``, newest ``key`` (an id column)
    first; a cursor this list did not give out is refused (422)."""
    limit = query["limit"]
    last = _last_id(query, name)
    if last is not None:
        rows = rows.where(key < last)
    items = db.session.scalars(rows.order_by(None).order_by(key.desc()).limit(limit + 1)).all()
    more = len(items) > limit
    items = items[:limit]
    following = _signer(name).dumps(getattr(items[-1], key.key)) if more else None
    return {name: items, "limit": limit, "next_cursor": following}
