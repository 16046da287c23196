"""Templates: list, get, create, save a new version, preview merged for a record."""

from flask_login import current_user
from marshmallow import Schema, fields, validate

from designer import records, templating
from designer.api.schemas import Language, Name, QueryId, Text, UtcDateTime
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.errors import ApiError
from designer.templating.models import KINDS, SOURCE_TYPES
from designer.templating.preview import preview_html

bp = ApiBlueprint("Templates", __name__, url_prefix="/api/v1/templates",
                  description="E-mail and PDF templates and their versions.")
protect(bp)

#: Longest template source accepted (characters).
MAX_SOURCE = 2_000_000


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
    variant_of = fields.Integer(required=True, allow_none=True, attribute="variant_of_id",
                                metadata={"description": "The main template of a variant."})
    variants = fields.List(fields.Nested(VariantSchema), required=True)
    version = fields.Integer(required=True, allow_none=True, attribute="current.number",
                             metadata={"description": "Number of the current version."})
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
    source = Text(required=True, validate=validate.Length(max=MAX_SOURCE),
                  metadata={"description": "MJML or HTML with merge fields."})
    source_type = Text(load_default="mjml", validate=validate.OneOf(SOURCE_TYPES))
    kind = Text(load_default="email", validate=validate.OneOf(KINDS))
    subject = Text(load_default="", validate=validate.Length(max=1000))
    module = Text(load_default="contact", validate=validate.OneOf(records.MODULES))
    language = Language(load_default="en")


class NewVersionSchema(Schema):
    source = Text(required=True, validate=validate.Length(max=MAX_SOURCE))
    subject = Text(validate=validate.Length(max=1000),
                   metadata={"description": "Left out: the current version's subject."})
    preheader = Text(validate=validate.Length(max=1000))
    text_override = Text(validate=validate.Length(max=MAX_SOURCE),
                         metadata={"description": "A hand-written plain-text part."})


class VersionSchema(Schema):
    template_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    subject = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    warnings = fields.List(fields.String(), required=True, metadata={
        "description": "Merge fields the template's module does not have, with suggestions."})


class PreviewQuerySchema(Schema):
    record_id = QueryId(required=True, metadata={
        "description": "A record of the template's module (e.g. a contact's id)."})


class PreviewSchema(Schema):
    subject = fields.String(required=True)
    html = fields.String(required=True)
    text = fields.String(required=True)
    locale = fields.String(required=True)


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


@bp.route("/<int(max=2147483647):template_id>")
@bp.response(200, TemplateDetailSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_template(template_id):
    """One template with its current source."""
    return templating.get_template(template_id)


@bp.route("/<int(max=2147483647):template_id>/versions", methods=["POST"])
@bp.arguments(NewVersionSchema)
@bp.response(201, VersionSchema)
@bp.alt_response(404, response="NOT_FOUND")
def add_version(body, template_id):
    """Save a new version; earlier versions stay as they were."""
    template = templating.get_template(template_id)
    try:
        version = templating.add_version(template, user=current_user, **body)
    except templating.TemplateInvalid as exc:
        raise _invalid(exc) from exc
    warnings = templating.lint(template, version.source, version.subject, version.preheader)
    return {"template_id": template.id, "number": version.number, "subject": version.subject,
            "created_at": version.created_at, "warnings": [str(w) for w in warnings]}


@bp.route("/<int(max=2147483647):template_id>/preview")
@bp.arguments(PreviewQuerySchema, location="query")
@bp.response(200, PreviewSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def preview(query, template_id):
    """An e-mail template merged for a record, as it would be sent by you (nothing is sent)."""
    template = templating.get_template(template_id)
    if template.kind != "email":
        raise ApiError(422, "not_an_email_template",
                       f"{template.name} is a PDF template; render it with /api/v1/pdfs")
    record = records.get_record(template.module, query["record_id"])
    try:
        rendered = preview_html(template, record, current_user)
    except (templating.TemplateInvalid, templating.MergeError) as exc:
        raise _invalid(exc) from exc
    except ValueError as exc:  # the record has no recipient (e.g. a product)
        raise ApiError(422, "no_recipient", str(exc)) from exc
    return {"subject": rendered.subject, "html": rendered.html, "text": rendered.text,
            "locale": rendered.locale}
