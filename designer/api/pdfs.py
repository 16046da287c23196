"""PDFs: a PDF template rendered for one record, as the record's download would be."""

from flask import Response
from flask_login import current_user
from marshmallow import Schema

from designer import records
from designer.api.schemas import Language, QueryId
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.errors import ApiError
from designer.pdf.defaults import pdf_template_for
from designer.pdf.documents import PdfFailed, recipient_language, render_record_pdf
from designer.pdf.filenames import content_disposition

bp = ApiBlueprint(
    "PDFs",
    __name__,
    url_prefix="/api/v1/pdfs",
    description="PDF documents rendered for CRM records.",
)
protect(bp)

PDF_BODY = {"type": "string", "format": "binary"}


class PdfQuerySchema(Schema):
    template_id = QueryId(
        metadata={"description": "A PDF template of the record's module; else the default one."}
    )
    locale = Language(
        metadata={"description": "Else the recipient's, template's or your language."}
    )


@bp.route("/<any({}):module>/<int(max=2147483647):record_id>".format(",".join(records.MODULES)))
@bp.arguments(PdfQuerySchema, location="query")
@bp.response(
    200,
    PDF_BODY,
    content_type="application/pdf",
    description="The PDF, with its file name in Content-Disposition.",
)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def render(query, module, record_id):
    """Render a record's PDF (e.g. an invoice) with the chosen or default template."""
    record = records.get_record(module, record_id)
    template = pdf_template_for(
        module, template_id=query.get("template_id"), language=recipient_language(module, record)
    )
    try:
        rendered = render_record_pdf(
            template, module, record, user=current_user, locale=query.get("locale")
        )
    except PdfFailed as exc:
        raise ApiError(422, "pdf_failed", str(exc), {"line": exc.line}) from exc
    return Response(
        rendered.data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(rendered.filename),
            "Content-Language": rendered.locale,
        },
    )
