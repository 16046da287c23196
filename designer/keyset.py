"""Pages of lists that grow, on the app's pages: newest first, older rows a link away.

A page is the rows with ids below the ``before`` the link carries
(``?before=<id>``), read through an index in id order: a list of a million rows
costs one page, however far back the reader goes, and rows that arrive
meanwhile never shift what the next page shows. The API's lists do the same
with signed cursors (``designer.api.cursors``).
"""

from typing import NamedTuple

from flask import request

from designer.extensions import db

PAGE_SIZE = 50
_LARGEST_ID = 2**31 - 1


class Page(NamedTuple):
    rows: list
    #: The ``before`` of the next (older) page, or None on the last.
    older: int | None
    #: Whether this is the first (newest) page.
    newest: bool


def before_arg():
    """The request's ``before``: an id, or None when missing or not one."""
    before = request.args.get("before", type=int)
    return before if before is not None and 0 < before <= _LARGEST_ID else None


def newest_first(rows, key, before=None, size=PAGE_SIZE):
    """One page of the select ``rows``, newest ``key`` (an id column) first."""
    if before is not None:
        rows = rows.where(key < before)
    found = db.session.scalars(rows.order_by(None).order_by(key.desc()).limit(size + 1)).all()
    older = getattr(found[size - 1], key.key) if len(found) > size else None
    return Page(found[:size], older, before is None)
