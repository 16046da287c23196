"""Sending (admins only): the From policy and the outgoing servers, with a test message."""

from flask import abort
from flask_login import current_user
from marshmallow import Schema, fields, validate

from designer import records
from designer.api.pagination import PageQuerySchema, PageSchema, one_page
from designer.api.schemas import MAX_ID, Id, Name, Text
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.crypto import SecretUnreadable
from designer.errors import ApiError
from designer.mail import servers
from designer.mail.sender import sending_policy, set_sending_policy
from designer.mail.transport import PermanentFailure, TemporaryFailure

bp = ApiBlueprint(
    "Sending",
    __name__,
    url_prefix="/api/v1/sending",
    description="Where mail goes out and whose address it carries (admins only).",
)
protect(bp, role="admin")

#: A plain ``int``: with a ``max``, werkzeug answers 405 (not 404) to PUT of a too-large id,
#: as the GET rule of the same path still matches; ``_server`` says 404.
SERVER_PATH = "/servers/<int:server_id>"
#: A host name (labels of letters, digits and hyphens) or an IPv6 address.
HOST = (
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^[0-9A-Fa-f:]{2,39}$"
)
ADDRESS = validate.Length(max=320)


class PolicySchema(Schema):
    central_from = Text(
        load_default="",
        validate=ADDRESS,
        metadata={
            "description": "Every message's From (Reply-To: the sending user); empty: each "
            "user's own address.",
            "example": "crm@company.example",
        },
    )
    envelope_from = Text(
        load_default="",
        validate=ADDRESS,
        metadata={
            "description": "The envelope sender (where bounces go); empty: the From address.",
            "example": "bounces@company.example",
        },
    )


class ServerSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 1})
    name = fields.String(required=True, metadata={"example": "Office 365"})
    host = fields.String(required=True, metadata={"example": "smtp.office365.com"})
    port = fields.Integer(required=True, metadata={"example": 587})
    security = fields.String(required=True, metadata={"enum": list(servers.SECURITY)})
    username = fields.String(required=True, metadata={"example": "crm@company.example"})
    timeout = fields.Integer(required=True, metadata={"description": "Seconds.", "example": 30})
    rate_limit = fields.Float(
        required=True,
        metadata={
            "description": "Messages per second at most, across all workers; 0: no limit.",
            "example": 10,
        },
    )
    is_default = fields.Boolean(
        required=True, metadata={"description": "Used by every user without a server of their own."}
    )
    user_id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The user whose mail goes through it, or null."},
    )
    has_password = fields.Function(
        lambda server: bool(server.password_encrypted),
        required=True,
        metadata={"type": "boolean", "description": "A password is stored (never shown)."},
    )


class ServerListSchema(PageSchema):
    servers = fields.List(fields.Nested(ServerSchema), required=True)


class ServerInSchema(Schema):
    name = Name(required=True, metadata={"example": "Office 365"})
    host = Text(
        required=True,
        validate=validate.Regexp(
            HOST, error="Give a host name such as smtp.example.com, or an address."
        ),
        metadata={"example": "smtp.office365.com"},
    )
    port = fields.Integer(
        required=True, validate=validate.Range(1, 65535), metadata={"example": 587}
    )
    security = Text(load_default="starttls", validate=validate.OneOf(servers.SECURITY))
    username = Text(load_default="", validate=validate.Length(max=255))
    password = Text(
        validate=validate.Length(max=1000),
        metadata={"description": "Left out or empty: the stored one is kept."},
    )
    timeout = fields.Integer(load_default=30, validate=validate.Range(1, 300))
    rate_limit = fields.Float(load_default=0, validate=validate.Range(0, 100_000))
    is_default = fields.Boolean(
        load_default=False,
        metadata={"description": "Make it the default server (the one before stops being it)."},
    )
    user_id = Id(allow_none=True, metadata={"description": "Only this user's mail."})


class ServerTestInSchema(Schema):
    to = Text(
        validate=[validate.Length(3, 320), validate.Regexp(r"^[^@\s]+@[^@\s]+$")],
        metadata={"description": "Left out: your own address.", "example": "me@company.example"},
    )


class ServerTestSchema(Schema):
    accepted = fields.Boolean(
        required=True, metadata={"description": "The server took the message."}
    )
    answer = fields.String(
        required=True,
        metadata={
            "description": "The server's answer, or why it could not be reached.",
            "example": "250 2.0.0 OK queued",
        },
    )


def _server(server_id):
    server = servers.get_server(server_id) if server_id <= MAX_ID else None
    if server is None:
        abort(404, description=f"no outgoing server with id {server_id}")
    return server


def _invalid(field, message):
    return ApiError(422, "invalid_server", f"{field}: {message}", {"fields": {field: [message]}})


def _save(body, server=None):
    if body.get("user_id") is not None:
        try:
            records.get_record("user", body["user_id"])
        except records.RecordNotFound as exc:
            raise _invalid("user_id", str(exc)) from exc
    values = {
        key: value if isinstance(value, bool) else str(value)
        for key, value in body.items()
        if value is not None
    }
    try:
        return servers.save_server(values, server)
    except servers.ServerInvalid as exc:
        field, named, message = str(exc).partition(": ")
        raise (_invalid(field, message) if named else _invalid("body", str(exc))) from exc


@bp.route("/policy")
@bp.response(200, PolicySchema)
@bp.alt_response(403, response="FORBIDDEN")
def get_policy():
    """Whose address mail carries: each user's own, or a central one (admins only)."""
    return sending_policy()


@bp.route("/policy", methods=["PUT"])
@bp.arguments(PolicySchema)
@bp.response(200, PolicySchema)
@bp.alt_response(403, response="FORBIDDEN")
def set_policy(body):
    """Set the central From address and the envelope sender; empty values mean each user's
    own address (admins only)."""
    try:
        set_sending_policy(body["central_from"], body["envelope_from"])
    except ValueError as exc:
        raise ApiError(422, "invalid_policy", str(exc)) from exc
    return sending_policy()


@bp.route("/servers")
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, ServerListSchema)
@bp.alt_response(403, response="FORBIDDEN")
def list_servers(query):
    """The outgoing servers, by name (admins only)."""
    return one_page(servers.list_servers(), query, "servers")


@bp.route("/servers", methods=["POST"])
@bp.arguments(ServerInSchema)
@bp.response(201, ServerSchema)
@bp.alt_response(403, response="FORBIDDEN")
def create_server(body):
    """Add an outgoing server; its password is stored encrypted (admins only)."""
    return _save(body)


@bp.route(SERVER_PATH)
@bp.response(200, ServerSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def get_server(server_id):
    """One outgoing server (admins only)."""
    return _server(server_id)


@bp.route(SERVER_PATH, methods=["PUT"])
@bp.arguments(ServerInSchema)
@bp.response(200, ServerSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def change_server(body, server_id):
    """Change an outgoing server (admins only)."""
    return _save(body, _server(server_id))


@bp.route(SERVER_PATH + "/test", methods=["POST"])
@bp.arguments(ServerTestInSchema, required=False)
@bp.response(200, ServerTestSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def test_server(body, server_id):
    """Send a test message through the server and give its answer, or why it refused or could
    not be reached (admins only)."""
    server = _server(server_id)
    try:
        answer = servers.send_test(server, body.get("to") or current_user.email)
    except (TemporaryFailure, PermanentFailure, SecretUnreadable) as exc:
        return {"accepted": False, "answer": str(exc)}
    return {"accepted": True, "answer": answer}
