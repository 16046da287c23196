"""Template pages (list, editor, preview, send) and the template JSON API."""

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from designer import mail, records, templating
from designer.auth import protect
from designer.errors import error_response
from designer.templating.preview import PREVIEW_CSP, preview_html

bp = Blueprint("templating", __name__)
protect(bp)


@bp.route("/")
def index():
    return redirect(url_for("templating.list_page"))


@bp.route("/templates")
def list_page():
    return render_template("templating/list.html", templates=templating.list_templates())


@bp.route("/templates/new", methods=["GET", "POST"])
def new():
    form = request.form
    if request.method == "POST":
        try:
            template = templating.create_template(
                form.get("name", ""), form.get("source", ""),
                source_type=form.get("source_type", "mjml"),
                subject=form.get("subject", ""), language=form.get("language", "en"),
                user=current_user,
            )
        except templating.TemplateInvalid as exc:
            flash(f"Not saved: {exc}", "error")
            return render_template("templating/new.html", form=form, error=exc), 400
        flash(f"Template “{template.name}” created.", "success")
        return redirect(url_for("templating.editor", template_id=template.id))
    return render_template("templating/new.html", form=form, error=None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
def editor(template_id):
    template = templating.get_template(template_id)
    error = None
    source = subject = None
    if request.method == "POST":
        source, subject = request.form.get("source", ""), request.form.get("subject", "")
        try:
            version = templating.add_version(template, source, subject=subject, user=current_user)
            flash(f"Saved as version {version.number}.", "success")
            return redirect(url_for("templating.editor", template_id=template.id))
        except templating.TemplateInvalid as exc:
            error = exc
    status = 400 if error else 200
    return render_template(
        "templating/editor.html", template=template, version=template.current,
        source=source, subject=subject, error=error, contacts=records.list_contacts(),
    ), status


@bp.route("/templates/<int:template_id>/preview", methods=["GET", "POST"])
def preview(template_id):
    """The merged HTML for a contact; POST previews unsaved source from the editor."""
    template = templating.get_template(template_id)
    contact = records.get_record("contact", request.values.get("contact", type=int) or 0)
    source = request.form.get("source") if request.method == "POST" else None
    subject = request.form.get("subject") if request.method == "POST" else None
    try:
        rendered = preview_html(template, contact, current_user, source, subject)
    except (templating.TemplateInvalid, templating.MergeError) as exc:
        return error_response(422, "template_invalid", exc.message, {"line": exc.line},
                              as_json=request.method == "POST")
    if request.method == "POST":
        return jsonify(subject=rendered.subject, html=rendered.html, text=rendered.text,
                       locale=rendered.locale)
    return Response(rendered.html, headers={"Content-Security-Policy": PREVIEW_CSP})


@bp.route("/templates/<int:template_id>/send", methods=["POST"])
def send(template_id):
    template = templating.get_template(template_id)
    contact = records.get_record("contact", request.form.get("contact", type=int) or 0)
    try:
        message = mail.queue_message(template.current, module="contact", record=contact,
                                     sender_user=current_user)
    except mail.NoRecipient as exc:
        flash(str(exc), "error")
    else:
        flash(f"Queued message #{message.id} to {message.recipient_email}.", "success")
    return redirect(url_for("templating.editor", template_id=template.id))


def template_json(template):
    version = template.current
    return {
        "id": template.id, "name": template.name, "kind": template.kind,
        "source_type": template.source_type, "module": template.module,
        "language": template.language,
        "version": version.number if version else None,
        "subject": version.subject if version else "",
        "updated_at": template.updated_at.isoformat() + "Z",
    }


@bp.route("/api/templates")
def api_list():
    return jsonify(templates=[template_json(t) for t in templating.list_templates()])


@bp.route("/api/templates/<int:template_id>")
def api_get(template_id):
    template = templating.get_template(template_id)
    body = template_json(template)
    body["source"] = template.current.source if template.current else ""
    return jsonify(body)
