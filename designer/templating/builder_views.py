"""The visual builder's page: open an MJML template visually.

The builder (static/src/builder.js) edits the same MJML the code editor
does: it loads the blocks ``designer.templating.blocks`` cuts the source into
and sends back the whole source through the REST API (``/api/v1``, with the
page's session), which saves it as a new version like any other save. Images
and saved blocks come from the API too.
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from designer import templating
from designer.auth import protect
from designer.records.picker import first_choice
from designer.templating.blocks import BlocksUnavailable, builder_document

bp = Blueprint("builder", __name__)
protect(bp)


def document_for(template):
    """The builder's view of the template, or ``BlocksUnavailable`` saying why not."""
    if template.kind != "email" or template.source_type != "mjml":
        raise BlocksUnavailable(_("only MJML e-mail templates open in the visual builder"))
    if template.current is None:
        raise BlocksUnavailable(_("the template has no saved version yet"))
    return builder_document(template.current.source)


@bp.route("/templates/<int:template_id>/visual")
def page(template_id):
    template = templating.get_template(template_id)
    try:
        document = document_for(template)
    except BlocksUnavailable as exc:
        flash(_("The visual builder cannot open this template: %(reason)s.", reason=exc), "error")
        return redirect(url_for("templating.editor", template_id=template.id))
    config = {
        "version": template.current.number,
        "document": document,
        "fields_url": url_for("Fields.catalogue", module=template.module),
        "save_url": url_for("Templates.add_version", template_id=template.id),
        "preview_url": url_for("Templates.draft_preview", template_id=template.id),
        "images_url": url_for("Images.list_images"),
        "saved_blocks_url": url_for("Blocks.list_saved_blocks"),
        "editor_url": url_for("templating.editor", template_id=template.id),
    }
    return render_template(
        "templating/visual.html",
        template=template,
        version=template.current,
        config=config,
        first_record=first_choice(template.module),
    )
