"""Templates: list, get, create, save a new version, preview merged for a record (saved
or unsaved, e-mail or PDF), PDF attachments, and the blocks the visual builder edits."""

import base64

from flask_login import current_user
from marshmallow import Schema, fields, validate

from designer import isolation, records, templating
from designer.api.schemas import MAX_ID, Id, Language, Name, QueryId, Text, UtcDateTime
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.errors import ApiError
from designer.pdf.documents import PdfFailed
from designer.pdf.views import page_picture
from designer.templating.attachments import AttachmentInvalid, attached, set_attachments
from designer.templating.blocks import BlocksUnavailable
from designer.templating.builder_views import document_for
from designer.templating.models import KINDS, PURPOSES, SOURCE_TYPES
from designer.templating.preview import preview_html
from designer.templating.versions import MAX_SOURCE_CHARS

bp = ApiBlueprint(
    "Templates",
    __name__,
    url_prefix="/api/v1/templates",
    description="E-mail and PDF templates and their versions.",
)
protect(bp)

#: Longest template source accepted (characters).
MAX_SOURCE = MAX_SOURCE_CHARS
TEMPLATE_PATH = "/<int(max=2147483647):template_id>"
#: Paths with two methods take a plain ``int``: with a ``max``, werkzeug answers 405 (not 404)
#: to the second method for a too-large id; ``_template`` says 404.
SHARED_PATH = "/<int:template_id>"


class VariantSchema(Schema):
    id = fields.Integer(required=True)
    language = fields.String(required=True)


class TemplateSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    source_type = fields.String(required=True, metadata={"enum": list(SOURCE_TYPES)})
    module = fields.String(required=True, metadata={"description": "Whose records it merges."})
    language = fields.String(required=True)
    tracking = fields.Boolean(required=True)
    purpose = fields.Function(
        templating.purpose_of,
        required=True,
        metadata={
            "enum": list(PURPOSES),
            "description": "Marketing mail is held back for every suppressed address, "
            "transactional mail only for a hard bounce (a variant follows its main "
            "template; PDF templates are not mail and ignore it).",
        },
    )
    variant_of = fields.Integer(
        required=True,
        allow_none=True,
        attribute="variant_of_id",
        metadata={"description": "The main template of a variant."},
    )
    variants = fields.List(fields.Nested(VariantSchema), required=True)
    version = fields.Integer(
        required=True,
        allow_none=True,
        attribute="current.number",
        metadata={"description": "Number of the current version."},
    )
    subject = fields.String(required=True, attribute="current.subject")
    updated_at = UtcDateTime(required=True)


class TemplateDetailSchema(TemplateSchema):
    source = fields.String(required=True, attribute="current.source")


class TemplateListSchema(Schema):
    templates = fields.List(fields.Nested(TemplateSchema), required=True)


class TemplateQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS))


class NewTemplateSchema(Schema):
    name = Name(required=True)
    source = Text(
        required=True,
        validate=validate.Length(max=MAX_SOURCE),
        metadata={"description": "MJML or HTML with merge fields."},
    )
    source_type = Text(load_default="mjml", validate=validate.OneOf(SOURCE_TYPES))
    kind = Text(load_default="email", validate=validate.OneOf(KINDS))
    subject = Text(load_default="", validate=validate.Length(max=1000))
    module = Text(load_default="contact", validate=validate.OneOf(records.MODULES))
    language = Language(load_default="en")
    purpose = Text(load_default="marketing", validate=validate.OneOf(PURPOSES))


class NewVersionSchema(Schema):
    source = Text(required=True, validate=validate.Length(max=MAX_SOURCE))
    subject = Text(
        validate=validate.Length(max=1000),
        metadata={"description": "Left out: the current version's subject."},
    )
    preheader = Text(validate=validate.Length(max=1000))
    text_override = Text(
        validate=validate.Length(max=MAX_SOURCE),
        metadata={"description": "A hand-written plain-text part."},
    )
    base_version = fields.Integer(
        allow_none=True,
        validate=validate.Range(1, MAX_ID),
        metadata={
            "description": "The version the change was made on (null: none was saved yet). When "
            "another version was saved since, nothing is saved and the answer is "
            "409 naming the newest version.",
            "example": 3,
        },
    )


class VersionSchema(Schema):
    template_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    subject = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    warnings = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Merge fields the template's module does not have, with suggestions."
        },
    )


class PreviewQuerySchema(Schema):
    record_id = QueryId(
        required=True,
        metadata={"description": "A record of the template's module (e.g. a contact's id)."},
    )


class PreviewSchema(Schema):
    subject = fields.String(required=True)
    html = fields.String(required=True)
    text = fields.String(required=True)
    locale = fields.String(required=True)


class DraftPreviewInSchema(Schema):
    record_id = Id(
        required=True,
        metadata={
            "description": "A record of the template's module (e.g. a contact's id).",
            "example": 1,
        },
    )
    source = Text(
        validate=validate.Length(max=MAX_SOURCE),
        metadata={
            "description": "Unsaved source to merge; left out: the saved version.",
            "example": "<mjml><mj-body><mj-section><mj-column><mj-text>Hello "
            "{{ contact.first_name }}</mj-text></mj-column></mj-section></mj-body></mjml>",
        },
    )
    subject = Text(
        validate=validate.Length(max=1000),
        metadata={
            "description": "The unsaved subject (with `source`).",
            "example": "Welcome, {{ contact.first_name }}",
        },
    )


class DraftPreviewSchema(Schema):
    subject = fields.String(required=True, metadata={"example": "Welcome, Jan"})
    html = fields.String(
        required=True, metadata={"description": "The merged HTML, without tracking."}
    )
    locale = fields.String(required=True, metadata={"example": "nl"})


class PdfPreviewInSchema(Schema):
    record_id = Id(
        required=True,
        metadata={
            "description": "A record of the template's module (e.g. an invoice's id).",
            "example": 1,
        },
    )
    source = Text(
        validate=validate.Length(max=MAX_SOURCE),
        metadata={"description": "Unsaved HTML to render; left out: the saved version."},
    )
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(1, 10_000),
        metadata={"description": "Which page to draw (past the last: the last).", "example": 1},
    )


class PdfPreviewSchema(Schema):
    image = fields.String(
        required=True,
        metadata={
            "description": "The page as a PNG `data:` URI.",
            "example": "data:image/png;base64,iVBO…",
        },
    )
    page = fields.Integer(required=True, metadata={"example": 1})
    pages = fields.Integer(required=True, metadata={"example": 2})
    locale = fields.String(required=True, metadata={"example": "en"})
    filename = fields.String(required=True, metadata={"example": "Invoice INV-2026-0042.pdf"})


class AttachedSchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 7})
    name = fields.String(required=True, metadata={"example": "Invoice (PDF)"})


class AttachmentsSchema(Schema):
    template = fields.Integer(required=True, metadata={"example": 3})
    pdf_templates = fields.List(
        fields.Nested(AttachedSchema),
        required=True,
        metadata={
            "description": "PDF templates rendered for each recipient and attached, in order."
        },
    )


class AttachmentsInSchema(Schema):
    pdf_template_ids = fields.List(
        Id(),
        required=True,
        validate=validate.Length(max=20),
        metadata={
            "description": "PDF templates of the same module, in order; [] attaches none.",
            "example": [7],
        },
    )


class BuilderDocumentSchema(Schema):
    version = fields.Integer(required=True, metadata={"example": 4})
    blocks = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "The source cut into blocks (joined, they give it back byte for byte); "
            "editable ones carry the `markup` the builder loads."
        },
    )
    body_attributes = fields.Dict(required=True, metadata={"example": {"width": "600px"}})
    canvas_head = fields.String(
        required=True,
        metadata={
            "description": "The head's `mj-attributes`, for drawing blocks as the template does."
        },
    )


def _invalid(exc):
    """``TemplateInvalid`` / ``MergeError`` as a 422 naming the line."""
    return ApiError(422, "template_invalid", str(exc), {"line": exc.line})


@bp.route("")
@bp.arguments(TemplateQuerySchema, location="query")
@bp.response(200, TemplateListSchema)
def list_templates(query):
    """List the main templates (language variants hang off them), newest change first."""
    return {"templates": templating.list_templates(kind=query.get("kind"))}


@bp.route("", methods=["POST"])
@bp.arguments(NewTemplateSchema)
@bp.response(201, TemplateDetailSchema)
def create_template(body):
    """Create a template with its first version (validated and compiled as the editor does)."""
    try:
        return templating.create_template(user=current_user, **body)
    except templating.TemplateInvalid as exc:
        raise _invalid(exc) from exc


@bp.route(TEMPLATE_PATH)
@bp.response(200, TemplateDetailSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_template(template_id):
    """One template with its current source."""
    return templating.get_template(template_id)


@bp.route(TEMPLATE_PATH + "/versions", methods=["POST"])
@bp.arguments(NewVersionSchema)
@bp.response(201, VersionSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def add_version(body, template_id):
    """Save a new version; earlier versions stay as they were."""
    template = templating.get_template(template_id)
    if "base_version" in body:
        _check_base_version(template, body.pop("base_version"))
    try:
        version = templating.add_version(template, user=current_user, **body)
    except templating.TemplateInvalid as exc:
        raise _invalid(exc) from exc
    warnings = templating.lint(template, version.source, version.subject, version.preheader)
    return {
        "template_id": template.id,
        "number": version.number,
        "subject": version.subject,
        "created_at": version.created_at,
        "warnings": [str(w) for w in warnings],
    }


def _check_base_version(template, base):
    """409 when a version was saved after ``base`` (None: before any was saved)."""
    current = template.current.number if template.current else None
    if base != current:
        raise ApiError(
            409,
            "version_conflict",
            f"version {current} was saved after the version you started from: "
            "reload to edit the newest version",
            {"version": current},
        )


def _template(template_id):
    if template_id > MAX_ID:
        raise templating.TemplateNotFound(f"no template with id {template_id}")
    return templating.get_template(template_id)


@bp.route(SHARED_PATH + "/preview")
@bp.arguments(PreviewQuerySchema, location="query")
@bp.response(200, PreviewSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def preview(query, template_id):
    """An e-mail template merged for a record, as it would be sent by you (nothing is sent)."""
    template = _email_template(template_id)
    record = records.get_record(template.module, query["record_id"])
    rendered = _merged(template, record)
    return {
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
        "locale": rendered.locale,
    }


def _email_template(template_id):
    template = _template(template_id)
    if template.kind != "email":
        raise ApiError(
            422,
            "not_an_email_template",
            f"{template.name} is a PDF template; render it with /api/v1/pdfs "
            "(its pages: pdf-preview)",
        )
    return template


def _merged(template, record, **draft):
    """``preview_html`` with its failures as 422s."""
    try:
        return preview_html(template, record, current_user, **draft)
    except (templating.TemplateInvalid, templating.MergeError) as exc:
        raise _invalid(exc) from exc
    except ValueError as exc:  # the record has no recipient (e.g. a product)
        raise ApiError(422, "no_recipient", str(exc)) from exc


@bp.route(SHARED_PATH + "/preview", methods=["POST"])
@bp.arguments(DraftPreviewInSchema)
@bp.response(200, DraftPreviewSchema)
@bp.alt_response(404, response="NOT_FOUND")
def draft_preview(body, template_id):
    """An e-mail template, or unsaved source for it, merged for a record (the editor's live
    preview; nothing is saved or sent). The text part is left out."""
    template = _email_template(template_id)
    record = records.get_record(template.module, body["record_id"])
    rendered = _merged(
        template, record, source=body.get("source"), subject=body.get("subject"), text_part=False
    )
    return {"subject": rendered.subject, "html": rendered.html, "locale": rendered.locale}


@bp.route(TEMPLATE_PATH + "/pdf-preview", methods=["POST"])
@bp.arguments(PdfPreviewInSchema)
@bp.response(200, PdfPreviewSchema)
@bp.alt_response(404, response="NOT_FOUND")
def pdf_preview(body, template_id):
    """One page of a PDF template, or of unsaved source for it, rendered for a record, as a
    picture (the PDF editor's preview; nothing is saved)."""
    template = templating.get_template(template_id)
    if template.kind != "pdf":
        raise ApiError(
            422,
            "not_a_pdf_template",
            f"{template.name} is an e-mail template; preview it with its preview",
        )
    module = (template.variant_of or template).module
    record = records.get_record(module, body["record_id"])
    try:
        rendered, png, pages = page_picture(
            template, module, record, body["page"], body.get("source")
        )
    except (PdfFailed, templating.TemplateInvalid, isolation.IsolatedFailure) as exc:
        raise ApiError(422, "pdf_failed", str(exc), {"line": getattr(exc, "line", None)}) from exc
    return {
        "image": "data:image/png;base64," + base64.b64encode(png).decode(),
        "page": min(body["page"], pages),
        "pages": pages,
        "locale": rendered.locale,
        "filename": rendered.filename,
    }


def _attachments(template):
    return {
        "template": template.id,
        "pdf_templates": [{"id": t.id, "name": t.name} for t in attached(template)],
    }


@bp.route(SHARED_PATH + "/attachments")
@bp.response(200, AttachmentsSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_attachments(template_id):
    """The PDF templates attached to every message sent with an e-mail template."""
    return _attachments(_template(template_id))


@bp.route(SHARED_PATH + "/attachments", methods=["PUT"])
@bp.arguments(AttachmentsInSchema)
@bp.response(200, AttachmentsSchema)
@bp.alt_response(404, response="NOT_FOUND")
def set_template_attachments(body, template_id):
    """Choose the PDF templates attached to an e-mail template's messages."""
    template = _template(template_id)
    try:
        set_attachments(template, body["pdf_template_ids"])
    except AttachmentInvalid as exc:
        raise ApiError(
            422,
            "invalid_attachments",
            f"pdf_template_ids: {exc}",
            {"fields": {"pdf_template_ids": [str(exc)]}},
        ) from exc
    return _attachments(template)


@bp.route(TEMPLATE_PATH + "/blocks")
@bp.response(200, BuilderDocumentSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def blocks(template_id):
    """The current version of an MJML e-mail template as the visual builder's blocks."""
    template = templating.get_template(template_id)
    try:
        document = document_for(template)
    except BlocksUnavailable as exc:
        raise ApiError(422, "blocks_unavailable", str(exc)) from exc
    return {"version": template.current.number, **document}
