"""The one clock every part reads: naive UTC, the way every table stores time.

Going through ``utcnow`` (rather than ``datetime.now``) keeps stored times
comparable on SQLite and PostgreSQL alike.
"""

from datetime import UTC, datetime


def utcnow():
    """Now in UTC, without tzinfo."""
    return datetime.now(UTC).replace(tzinfo=None)
