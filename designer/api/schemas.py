"""Schema pieces every API resource shares: ids, text, languages, times, the error body.

Input is checked here before it reaches the parts' Python API: ids fit the
database's integers, text has no NUL characters (PostgreSQL refuses them)
and a bounded length, a language is one Babel knows.
"""

import re

from babel import Locale, UnknownLocaleError
from marshmallow import Schema, ValidationError, fields, validate

#: The largest id the database's integer columns hold.
MAX_ID = 2**31 - 1
LANGUAGE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,6})?$")


class Text(fields.String):
    """A string without NUL characters or lone surrogates."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Must be valid Unicode text.") from None
        return text


def not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


def Name(**kwargs):
    """A name people read: 1 to 200 characters, not only spaces."""
    return Text(validate=[validate.Length(1, 200), not_blank], **kwargs)


def Id(**kwargs):
    """A database id: a whole number from 1 to 2**31 - 1."""
    return fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), **kwargs)


def QueryId(**kwargs):
    """A database id given in the query string (digits, so not strict)."""
    return fields.Integer(validate=validate.Range(1, MAX_ID), **kwargs)


def _known_language(value):
    try:
        Locale.parse(value.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        raise ValidationError(f"Unknown language {value!r}; use a code such as en or nl.") from None


def Language(**kwargs):
    """A language code Babel knows (``en``, ``nl``, ``pt_BR``)."""
    checks = [
        validate.Length(max=10),
        validate.Regexp(LANGUAGE, error="Use a code such as en, nl or pt_BR."),
        _known_language,
    ]
    return Text(validate=checks, **kwargs)


class UtcDateTime(fields.DateTime):
    """A stored naive UTC time, written as ISO 8601 with ``Z``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.isoformat() + ("Z" if value.tzinfo is None else "")


class ErrorDetail(Schema):
    code = fields.String(
        required=True,
        metadata={
            "description": "Stable, machine-readable: not_found, invalid_request, invalid_state, …"
        },
    )
    message = fields.String(required=True, metadata={"description": "A sentence for people."})
    details = fields.Dict(
        required=True,
        metadata={"description": "More about the error; invalid fields are listed in `fields`."},
    )


class ErrorSchema(Schema):
    """Every API error: ``{"error": {"code", "message", "details"}}``."""

    error = fields.Nested(ErrorDetail, required=True)
