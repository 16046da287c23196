"""The visual builder's pages and JSON: open an MJML template visually, save it, pick images,
save sections as blocks for every template.

The builder (static/src/builder.js) edits the same MJML the code editor
does: it loads the blocks ``designer.templating.blocks`` cuts the source into
and posts back the whole source, which is saved as a new version through
``templating.add_version`` like any other save. Saved blocks are kept by
``designer.templating.saved_blocks``.
"""

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from designer import records, templating
from designer.assets import AssetRejected, asset_path, list_assets, store_asset
from designer.auth import protect
from designer.errors import error_response
from designer.templating.blocks import BlocksUnavailable, builder_document
from designer.templating.saved_blocks import (
    BlockInvalid,
    block_json,
    create_block,
    delete_block,
    list_blocks,
)

bp = Blueprint("builder", __name__)
protect(bp)


def _document(template):
    """The builder's view of the template, or ``BlocksUnavailable`` saying why not."""
    if template.kind != "email" or template.source_type != "mjml":
        raise BlocksUnavailable("only MJML e-mail templates open in the visual builder")
    if template.current is None:
        raise BlocksUnavailable("the template has no saved version yet")
    return builder_document(template.current.source)


@bp.route("/templates/<int:template_id>/visual")
def page(template_id):
    template = templating.get_template(template_id)
    try:
        document = _document(template)
    except BlocksUnavailable as exc:
        flash(f"The visual builder cannot open this template: {exc}.", "error")
        return redirect(url_for("templating.editor", template_id=template.id))
    config = {
        "version": template.current.number,
        "document": document,
        "fields_url": url_for("templating.api_fields", module=template.module),
        "save_url": url_for("builder.save", template_id=template.id),
        "preview_url": url_for("templating.preview", template_id=template.id),
        "images_url": url_for("builder.images"),
        "saved_blocks_url": url_for("builder.saved_blocks"),
        "editor_url": url_for("templating.editor", template_id=template.id),
    }
    return render_template("templating/visual.html", template=template,
                           version=template.current, config=config,
                           contacts=records.preview_choices(template.module))


@bp.route("/templates/<int:template_id>/blocks")
def blocks(template_id):
    """The template's current source as blocks (JSON)."""
    template = templating.get_template(template_id)
    try:
        document = _document(template)
    except BlocksUnavailable as exc:
        return error_response(422, "blocks_unavailable", str(exc), as_json=True)
    return jsonify(version=template.current.number, **document)


@bp.route("/templates/<int:template_id>/visual", methods=["POST"])
def save(template_id):
    """Save the builder's MJML as a new version: ``{"source", "base_version"}`` in JSON."""
    template = templating.get_template(template_id)
    body = request.get_json(silent=True)
    source = body.get("source") if isinstance(body, dict) else None
    if not isinstance(source, str):
        return error_response(400, "bad_request", "send the template's MJML as JSON "
                              '{"source": …, "base_version": …}', as_json=True)
    current = template.current.number if template.current else None
    if body.get("base_version") != current:
        message = (f"version {current} was saved after you opened the builder: "
                   "reload to edit the newest version")
        return error_response(409, "version_conflict", message, {"version": current},
                              as_json=True)
    try:
        version = templating.add_version(template, source, user=current_user)
    except templating.TemplateInvalid as exc:
        return error_response(422, "template_invalid", f"Not saved: {exc.message}",
                              {"line": exc.line}, as_json=True)
    return jsonify(version=version.number, warnings=templating.lint(template, source),
                   editor_url=url_for("templating.editor", template_id=template.id))


def _image_json(asset):
    src = current_app.config["PUBLIC_URL"] + asset_path(asset)
    return {"src": src, "name": asset.filename, "type": "image"}


@bp.route("/builder/images", methods=["GET", "POST"])
def images():
    """Stored images for the builder's picker; POST uploads (``files``) and lists them."""
    if request.method == "GET":
        rows = [_image_json(a) for a in list_assets() if a.content_type.startswith("image/")]
        return jsonify(data=rows)
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        return error_response(400, "bad_request", "choose an image to upload", as_json=True)
    stored = []
    for upload in uploads:
        if not (upload.mimetype or "").startswith("image/"):
            return error_response(422, "asset_rejected",
                                  f"{upload.filename}: only images can be placed in an e-mail",
                                  as_json=True)
        try:
            stored.append(store_asset(upload.filename, upload.mimetype, upload.read()))
        except AssetRejected as exc:
            return error_response(422, "asset_rejected", str(exc), as_json=True)
    return jsonify(data=[_image_json(a) for a in stored])


@bp.route("/builder/blocks")
def saved_blocks():
    """Every saved block (JSON), for the block manager's "Saved blocks"."""
    return jsonify(data=[block_json(block) for block in list_blocks()])


@bp.route("/builder/blocks", methods=["POST"])
def save_block():
    """Save a section as a block: ``{"name", "mjml"}`` in JSON, one mj-section or mj-wrapper."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "bad_request", 'send the block as JSON {"name": …, "mjml": …}',
                              as_json=True)
    try:
        block = create_block(body.get("name"), body.get("mjml"), user=current_user)
    except BlockInvalid as exc:
        return error_response(422, "block_invalid", f"Not saved: {exc.message}",
                              {"fields": {exc.field: [exc.message]}}, as_json=True)
    return jsonify(data=block_json(block)), 201


@bp.route("/builder/blocks/<int:block_id>", methods=["DELETE"])
def remove_block(block_id):
    """Delete a saved block (it leaves the templates it was dropped into as they are)."""
    if not delete_block(block_id):
        return error_response(404, "not_found", "there is no such saved block", as_json=True)
    return "", 204
