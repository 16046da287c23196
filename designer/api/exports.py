"""PDF exports: many records' PDFs rendered by the workers, packed as a zip or one PDF; start
one and follow its progress (the export page's progress bar)."""

from flask import url_for
from flask_login import current_user
from marshmallow import Schema, fields, validate

from designer.api.schemas import Id, Text
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.errors import ApiError
from designer.pdf import exports
from designer.pdf.export_views import export_or_404
from designer.records import MODULES

bp = ApiBlueprint(
    "Exports",
    __name__,
    url_prefix="/api/v1/exports",
    description="Batch PDF exports: yours (administrators see everyone's).",
)
protect(bp)


class NewExportSchema(Schema):
    module = Text(required=True, validate=validate.OneOf(MODULES), metadata={"example": "invoice"})
    record_ids = fields.List(
        Id(),
        required=True,
        validate=validate.Length(max=exports.MAX_RECORDS),
        metadata={
            "description": "Records of the module, in the order wanted.",
            "example": [12, 13, 14],
        },
    )
    template_id = Id(
        metadata={
            "description": "A PDF template of the module; left out: each "
            "record's default one (by its language)."
        }
    )
    packing = Text(
        load_default="zip",
        validate=validate.OneOf(exports.PACKINGS),
        metadata={"description": "zip: one PDF per record; merged: one PDF of them all, in order."},
    )


class FailureSchema(Schema):
    record = fields.String(required=True, metadata={"example": "INV-2026-0042"})
    error = fields.String(required=True, metadata={"example": "line 3: no such field"})


class ExportSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 9})
    state = fields.String(required=True, metadata={"enum": ["queued", "running", "done"]})
    total = fields.Integer(required=True, metadata={"example": 3})
    rendered = fields.Integer(required=True, metadata={"example": 2})
    failed = fields.Integer(required=True, metadata={"example": 0})
    percent = fields.Float(required=True, metadata={"example": 66.7})
    failures = fields.List(
        fields.Nested(FailureSchema),
        required=True,
        metadata={"description": "Records that could not be rendered, and why."},
    )
    download = fields.Boolean(required=True, metadata={"description": "The result is ready."})
    download_url = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Where to download it once ready (with your login), else null.",
            "example": "/exports/9/download",
        },
    )
    filename = fields.String(required=True, metadata={"example": "invoices.zip"})


def _progress(export):
    body = exports.progress(export)
    ready = body["download"]
    return {
        **body,
        "download_url": url_for("exports.download", export_id=export.id) if ready else None,
    }


@bp.route("", methods=["POST"])
@bp.arguments(NewExportSchema)
@bp.response(202, ExportSchema)
def start_export(body):
    """Start rendering the records' PDFs; follow it with its progress."""
    try:
        export = exports.start_export(
            current_user,
            body["module"],
            body["record_ids"],
            template_id=body.get("template_id"),
            packing=body["packing"],
        )
    except exports.ExportInvalid as exc:
        raise ApiError(422, "invalid_export", str(exc)) from exc
    return _progress(export)


@bp.route("/<int(max=2147483647):export_id>")
@bp.response(200, ExportSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_export(export_id):
    """How far an export is, which records failed, and whether its download is ready."""
    return _progress(export_or_404(export_id))
