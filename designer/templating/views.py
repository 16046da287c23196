"""Template pages: list, editor, preview, versions, diff, variants, test send, import, export.

The editor's script previews unsaved source and loads the merge fields through the
REST API (``/api/v1``) with the page's session.
"""

import io

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.utils import secure_filename

from designer import mail, records, templating
from designer.auth import protect
from designer.errors import error_response
from designer.i18n import MODULE_NOUNS, MODULE_PLURALS, _l
from designer.records.picker import PICKER_MODULES, PickerError, choose_record, first_choice
from designer.templating import catalogue, starters
from designer.templating.bundle import export_bundle
from designer.templating.importer import import_upload
from designer.templating.preview import PREVIEW_CSP, preview_html

bp = Blueprint("templating", __name__)
protect(bp)


@bp.context_processor
def module_words():
    """The module and purpose names for the template pages (``module_noun('invoice')``);
    other blueprints' pages register it too."""
    return {
        "module_label": lambda m: str(MODULE_LABELS.get(m, m)),
        "module_noun": lambda m: str(MODULE_NOUNS.get(m, m)),
        "module_plural": lambda m: str(MODULE_PLURALS.get(m, m)),
        "purpose_label": lambda p: str(PURPOSE_LABELS.get(p, p)),
    }


#: The record modules as the list's filter and badges name them.
MODULE_LABELS = {
    "contact": _l("Contact"),
    "organisation": _l("Organisation"),
    "user": _l("User"),
    "product": _l("Product"),
    "quote": _l("Quote"),
    "invoice": _l("Invoice"),
}
#: What a template's mail is for, as the list's badges say it.
PURPOSE_LABELS = {"marketing": _l("Marketing"), "transactional": _l("Transactional")}


@bp.route("/")
def index():
    return redirect(url_for("templating.list_page"))


@bp.route("/templates")
def list_page():
    filters = _list_filters(request.args)
    templates = templating.list_templates(**filters)
    labels = catalogue.labels_of(t.module for t in templates)
    subjects = {
        t.id: catalogue.readable(t.current.subject, labels.get(t.module, {}))
        for t in templates
        if t.current and t.current.subject
    }
    return render_template(
        "templating/list.html",
        templates=templates,
        subjects=subjects,
        filters=filters,
        modules=catalogue.MODULES,
        languages=templating.template_languages(),
    )


def _list_filters(args):
    """The list's search and filters from the query string; what is not one is ignored."""
    kind = args.get("kind", "")
    module = args.get("module", "")
    language = args.get("language", "")
    return {
        "kind": kind if kind in ("email", "pdf") else None,
        "module": module if module in catalogue.MODULES else None,
        "language": language
        if language.isascii() and language.isalpha() and len(language) <= 10
        else None,
        "search": " ".join(args.get("q", "").split())[:200] or None,
        "archived": args.get("archived") == "1",
    }


@bp.route("/templates/<int:template_id>/duplicate", methods=["POST"])
def duplicate(template_id):
    copy = templating.duplicate_template(templating.get_template(template_id), user=current_user)
    flash(
        _(
            "Made “%(name)s”: a copy of the current version, to change as you like.",
            name=copy.name,
        ),
        "success",
    )
    return redirect(url_for("templating.editor", template_id=copy.id))


@bp.route("/templates/new", methods=["GET", "POST"])
def new():
    form = request.form
    if request.method == "POST":
        try:
            template = templating.create_template(
                form.get("name", ""),
                form.get("source", ""),
                source_type=form.get("source_type", "mjml"),
                subject=form.get("subject", ""),
                language=form.get("language", "en"),
                module=form.get("module", "contact"),
                user=current_user,
            )
        except templating.TemplateInvalid as exc:
            flash(_("Not saved: %(error)s", error=exc), "error")
            return _new_page(form, exc), 400
        flash(_("Template “%(name)s” created.", name=template.name), "success")
        return redirect(url_for("templating.editor", template_id=template.id))
    return _new_page(form)


def _new_page(form, error=None):
    return render_template(
        "templating/new.html",
        form=form,
        error=error,
        email_starters=[starters.shown(s) for s in starters.starters("email")],
        pdf_starters=[starters.shown(s) for s in starters.starters("pdf")],
    )


def _warning_text(warning):
    """A lint warning (``catalogue.UnknownField`` or ``vtiger.Leftover``) in the user's
    language; the REST API gives their English ``str()``."""
    if isinstance(warning, catalogue.UnknownField):
        if warning.suggestions:
            return _(
                "line %(line)s: unknown merge field %(name)s (did you mean %(suggestions)s?)",
                line=warning.line,
                name=warning.name,
                suggestions=_(" or ").join(warning.suggestions),
            )
        return _(
            "line %(line)s: unknown merge field %(name)s", line=warning.line, name=warning.name
        )
    if hasattr(warning, "token"):
        return _(
            "line %(line)s: %(token)s is a vtiger token that was not converted; it prints as "
            "it is, so replace it with a merge field or remove it",
            line=warning.line,
            token=warning.token,
        )
    return str(warning)


def _editor_page(template, error=None, warnings=(), form=None, status=200):
    form = form or {}
    return render_template(
        "templating/editor.html",
        template=template,
        version=template.current,
        source=form.get("source"),
        subject=form.get("subject"),
        preheader=form.get("preheader"),
        text_override=form.get("text_override"),
        error=error,
        warnings=[_warning_text(w) for w in warnings],
        first_record=first_choice(template.module),
        fields_url=url_for("Fields.catalogue", module=template.module),
        versions_url=url_for("templating.versions", template_id=template.id),
        test_send_url=url_for("templating.test_send", template_id=template.id),
    ), status


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
def editor(template_id):
    template = templating.get_template(template_id)
    if request.method == "GET":
        warnings = templating.lint(template, template.current.source) if template.current else ()
        return _editor_page(template, warnings=warnings)
    form = request.form
    try:
        version = templating.add_version(
            template,
            form.get("source", ""),
            subject=form.get("subject", ""),
            preheader=form.get("preheader"),
            text_override=form.get("text_override"),
            user=current_user,
        )
    except templating.TemplateInvalid as exc:
        return _editor_page(template, error=exc, form=form, status=400)
    flash(_("Saved as version %(number)s.", number=version.number), "success")
    return redirect(url_for("templating.editor", template_id=template.id))


@bp.route("/templates/<int:template_id>/purpose", methods=["POST"])
def purpose(template_id):
    """Make the template's mail marketing or transactional."""
    template = templating.get_template(template_id)
    try:
        main = templating.set_purpose(template, request.form.get("purpose"))
    except templating.TemplateInvalid as exc:
        flash(_("Not saved: %(error)s.", error=exc), "error")
        return redirect(url_for("templating.editor", template_id=template.id))
    if main.purpose == "transactional":
        flash(_("“%(name)s” now sends transactional mail.", name=main.name), "success")
    else:
        flash(_("“%(name)s” now sends marketing mail.", name=main.name), "success")
    return redirect(url_for("templating.editor", template_id=template.id))


def _record_for(template, value):
    return records.get_record(template.module, value or 0)


def _picked(template, form):
    """The record the form's picker names (``contact``: the id chosen, ``contact_query``:
    the text shown or typed); ``PickerError`` says why there is none."""
    if template.module not in PICKER_MODULES:
        return _record_for(template, form.get("contact", type=int))
    return choose_record(template.module, form.get("contact_query"), form.get("contact", type=int))


@bp.route("/templates/<int:template_id>/preview")
def preview(template_id):
    """The saved version merged for a record, as a page (the editor's live preview of unsaved
    source goes through the REST API)."""
    template = templating.get_template(template_id)
    record = _record_for(template, request.args.get("contact", type=int))
    try:
        rendered = preview_html(template, record, current_user)
    except (templating.TemplateInvalid, templating.MergeError) as exc:
        return error_response(422, "template_invalid", exc.message, {"line": exc.line})
    return Response(rendered.html, headers={"Content-Security-Policy": PREVIEW_CSP})


def _queue(template, record, test_to=None):
    """Queue the saved template merged for ``record``: to its recipient, or (a test) only
    to ``test_to``, the user asking, with the subject marked ``[Test]``."""
    try:
        message = mail.queue_message(
            template,
            module=template.module,
            record=record,
            sender_user=current_user,
            test_to=test_to,
        )
    except mail.NoRecipient as exc:
        flash(str(exc), "error")
    else:
        if message.state == "suppressed":
            flash(_suppressed(message), "warning")
        elif test_to is not None:
            flash(
                _(
                    "Test queued (message #%(id)s): it goes only to you, %(email)s, with the "
                    "subject marked [Test].",
                    id=message.id,
                    email=message.recipient_email,
                ),
                "success",
            )
        else:
            flash(
                _(
                    "Queued message #%(id)s to %(email)s.",
                    id=message.id,
                    email=message.recipient_email,
                ),
                "success",
            )
    return redirect(url_for("templating.editor", template_id=template.id))


def _suppressed(message):
    """Why ``message`` was held back, for the flash (``last_error`` is the ledger's own text)."""
    if message.purpose == "transactional":
        text = _(
            "Not sent to %(email)s, %(reason)s (message #%(id)s; this template sends "
            "transactional mail).",
            email=message.recipient_email,
            reason=message.last_error,
            id=message.id,
        )
    else:
        text = _(
            "Not sent to %(email)s, %(reason)s (message #%(id)s; this template sends "
            "marketing mail).",
            email=message.recipient_email,
            reason=message.last_error,
            id=message.id,
        )
    return text


@bp.route("/templates/<int:template_id>/send", methods=["POST"])
def send(template_id):
    """Send the saved template to a record's recipient: the real customer, so only after
    the confirmation page (``confirmed``) named them; without it nothing is sent."""
    template = templating.get_template(template_id)
    try:
        record = _picked(template, request.form)
    except PickerError as exc:
        flash(_("Not sent: %(error)s.", error=exc), "error")
        return redirect(url_for("templating.editor", template_id=template.id))
    if request.form.get("confirmed") == "yes":
        return _queue(template, record)
    recipient = records.recipient_of(template.module, record)
    if not recipient.email:
        if recipient.name:
            flash(_("Not sent: %(name)s has no e-mail address.", name=recipient.name), "error")
        else:
            flash(_("Not sent: this record has no e-mail address."), "error")
        return redirect(url_for("templating.editor", template_id=template.id))
    return render_template(
        "templating/send_confirm.html",
        template=template,
        version=template.current,
        record=record,
        recipient=recipient,
    )


@bp.route("/templates/<int:template_id>/test-send", methods=["POST"])
def test_send(template_id):
    """Send the saved template, merged for a record, to the logged-in user."""
    template = templating.get_template(template_id)
    record = _record_for(template, request.form.get("contact", type=int))
    return _queue(template, record, test_to=current_user)


@bp.route("/templates/<int:template_id>/versions")
def versions(template_id):
    template = templating.get_template(template_id)
    return render_template(
        "templating/versions.html", template=template, versions=list(reversed(template.versions))
    )


@bp.route("/templates/<int:template_id>/versions/<int:number>/restore", methods=["POST"])
def restore(template_id, number):
    template = templating.get_template(template_id)
    try:
        version = templating.restore_version(template, number, user=current_user)
    except LookupError:
        abort(404, description=f"template {template_id} has no version {number}")
    flash(
        _(
            "Version %(old)s restored as version %(new)s.",
            old=number,
            new=version.number,
        ),
        "success",
    )
    return redirect(url_for("templating.editor", template_id=template.id))


@bp.route("/templates/<int:template_id>/diff")
def diff(template_id):
    template = templating.get_template(template_id)
    numbers = [v.number for v in template.versions]
    b = request.args.get("b", type=int) or numbers[-1]
    a = request.args.get("a", type=int) or max(b - 1, numbers[0])
    try:
        lines = templating.diff_versions(template, a, b)
    except LookupError as exc:
        abort(404, description=str(exc))
    return render_template(
        "templating/diff.html", template=template, a=a, b=b, lines=lines, numbers=numbers
    )


@bp.route("/templates/<int:template_id>/variants", methods=["POST"])
def add_variant(template_id):
    """Add a version of the template in another language."""
    template = templating.get_template(template_id)
    try:
        variant = templating.create_variant(
            template, request.form.get("language"), user=current_user
        )
    except templating.TemplateInvalid as exc:
        flash(str(exc), "error")
        return redirect(url_for("templating.editor", template_id=template.id))
    flash(
        _(
            "Created “%(name)s”: recipients whose language is %(language)s get this one.",
            name=variant.name,
            language=variant.language,
        ),
        "success",
    )
    return redirect(url_for("templating.editor", template_id=variant.id))


@bp.route("/templates/import", methods=["GET", "POST"])
def import_page():
    """Upload a file: .mjml/.html, a vtiger template or export, or a .zip bundle."""
    if request.method == "GET":
        return render_template("templating/import.html")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to import."), "error")
        return render_template("templating/import.html"), 400
    try:
        result = import_upload(
            upload,
            name=request.form.get("name") or None,
            kind=request.form.get("kind", "email"),
            user=current_user,
        )
    except templating.TemplateInvalid as exc:
        flash(_("Nothing imported: %(error)s", error=exc), "error")
        return render_template("templating/import.html"), 400
    if result.reports:
        return render_template("templating/import_report.html", reports=result.reports)
    for warning in result.warnings:
        flash(_("Not converted: %(warning)s", warning=warning), "warning")
    names = ", ".join(t.name for t in result.templates)
    flash(
        ngettext(
            "Imported %(num)d template: %(names)s.",
            "Imported %(num)d templates: %(names)s.",
            len(result.templates),
            names=names,
        ),
        "success",
    )
    return redirect(url_for("templating.editor", template_id=result.templates[0].id))


@bp.route("/templates/<int:template_id>/export")
def export(template_id):
    """The template (with the images it uses) as a .zip for another installation."""
    template = templating.get_template(template_id)
    filename = secure_filename(f"{template.name}.zip") or "template.zip"
    return send_file(
        io.BytesIO(export_bundle([template])),
        mimetype="application/zip",
        as_attachment=True,
        download_name=filename,
    )
