"""The compose page: "Send e-mail" from an organisation, contact, quote or invoice.

Every post shows the form again with what was typed (uploaded files are kept
by id) until the user asks to review; the confirmation names everyone who
will get the mail, and only confirming it writes the ledger
(``designer.mail.compose``).
"""

import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
from markupsafe import escape

from designer.auth import protect
from designer.clock import utcnow
from designer.mail import compose, uploads
from designer.templating import MergeError, TemplateInvalid
from designer.templating.preview import PREVIEW_CSP, preview_html
from designer.templating.thumbnails import library_thumbnail

bp = Blueprint("compose", __name__)
protect(bp)

#: What the record pages link back to.
RECORD_PAGES = {
    "organisation": ("records.organisation", "organisation_id"),
    "contact": ("records.contact", "contact_id"),
    "quote": ("records.document", "document_id"),
    "invoice": ("records.document", "document_id"),
}


def _ints(values):
    found = []
    for value in values:
        try:
            found.append(int(value))
        except (TypeError, ValueError):
            continue
    return found


def _draft(form):
    return compose.Draft(
        template_id=form.get("template_id", type=int),
        more_to=form.get("more_to", ""),
        cc=form.get("cc", ""),
        bcc=form.get("bcc", ""),
        pdf_ids=_ints(form.getlist("pdf_ids")),
        file_ids=[i for i in _ints(form.getlist("file_ids")) if str(i) not in form.getlist("drop")],
        sender=form.get("sender", "me"),
        send_at=form.get("send_at", ""),
        subject=form.get("subject"),
        body=form.get("body"),
        based_on=form.get("based_on", type=int),
    )


def _take_uploads(draft, problems):
    """Keep the files just uploaded (each stored at once, so nothing is uploaded twice)."""
    files = uploads.pending(draft.file_ids, current_user)
    draft.file_ids = [f.id for f in files]
    for upload in request.files.getlist("files"):
        if not upload or not upload.filename:
            continue
        try:
            files.append(uploads.store(upload, current_user, files))
        except uploads.UploadInvalid as exc:
            problems["files"] = _("Not attached: %(why)s.", why=exc)
        else:
            draft.file_ids.append(files[-1].id)
    return files


def _record_url(module, record):
    endpoint, name = RECORD_PAGES[module]
    return url_for(endpoint, **{name: record.id})


def _record_label(module, record):
    if module == "quote":
        return _("Quote %(number)s", number=record.number)
    if module == "invoice":
        return _("Invoice %(number)s", number=record.number)
    return record.name if module == "organisation" else record.full_name


def _merged_subject(plan):
    """The subject as the recipient will read it (the text as typed when it cannot merge)."""
    try:
        rendered = preview_html(
            plan.version.template,
            plan.record,
            plan.sender_user or current_user,
            source=plan.body,
            subject=plan.subject,
        )
    except (TemplateInvalid, MergeError):
        return plan.subject
    return rendered.subject


def _zone():
    try:
        return ZoneInfo(current_user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _page(module, record, draft, problems=None, files=(), status=200):
    template, version, subject, body = compose.editing(module, record, draft)
    return render_template(
        "mail/compose.html",
        module=module,
        module_name=compose.MODULE_NAMES[module],
        record=record,
        record_url=_record_url(module, record),
        record_label=_record_label(module, record),
        recipient=compose.recipient_for(module, record),
        draft=draft,
        template=template,
        version=version,
        subject=subject,
        body=body,
        templates=compose.templates_for(module),
        pdf_templates=compose.pdf_templates_for(module),
        files=files,
        owner=compose.owner_of(module, record),
        problems=problems or {},
        thumbnail=bool(template and library_thumbnail((template.variant_of or template).name)),
        zone=_zone().key,
        now=utcnow(),
        limits=uploads,
        max_copies=compose.copies.MAX_COPIES,
    ), status


@bp.route("/compose/<module>/<int:record_id>", methods=["GET", "POST"])
def page(module, record_id):
    """Write, review and send one e-mail to the record."""
    record = compose.record_of(module, record_id)
    if request.method == "GET":
        draft = compose.Draft(template_id=request.args.get("template", type=int))
        return _page(module, record, draft)
    draft, problems = _draft(request.form), {}
    files = _take_uploads(draft, problems)
    action = request.form.get("action", "")
    if action not in ("review", "send"):
        return _page(module, record, draft, problems, files)
    try:
        plan = compose.plan(module, record, draft, current_user)
    except compose.ComposeInvalid as exc:
        problems = {**exc.problems, **problems}
    if problems:
        return _page(module, record, draft, problems, files, status=400)
    if action == "review":
        return _confirm(module, record, draft, plan)
    return _send(module, record, draft, plan)


def _confirm(module, record, draft, plan):
    local = None
    if plan.not_before is not None:
        local = plan.not_before.replace(tzinfo=ZoneInfo("UTC")).astimezone(_zone())
    return render_template(
        "mail/compose_confirm.html",
        module=module,
        record=record,
        record_url=_record_url(module, record),
        record_label=_record_label(module, record),
        draft=draft,
        plan=plan,
        subject=_merged_subject(plan),
        pdfs=compose.template_attachments(plan),
        local=local,
        zone=_zone().key,
        nonce=request.form.get("nonce") or secrets.token_urlsafe(16),
    )


def _send(module, record, draft, plan):
    nonce = request.form.get("nonce", "")[:40]
    key = f"compose:{current_user.id}:{nonce}" if nonce else None
    try:
        message = compose.send(plan, current_user, dedupe_key=key)
    except TemplateInvalid as exc:
        return _page(module, record, draft, {"body": str(exc)}, plan.files, status=400)
    if message.state == "suppressed":
        flash(
            _(
                "Not sent: %(address)s, %(why)s.",
                address=message.recipient_email,
                why=message.last_error,
            ),
            "warning",
        )
    elif message.next_attempt_at is not None:
        flash(_("Message #%(id)s will go out at the time you chose.", id=message.id), "success")
    else:
        count = len(plan.people)
        flash(
            ngettext(
                "Message #%(id)s queued for %(num)s person.",
                "Message #%(id)s queued for %(num)s people.",
                count,
                id=message.id,
            ),
            "success",
        )
    return redirect(url_for("mail.message_page", message_id=message.id))


@bp.route("/compose/templates/<int:template_id>/thumbnail.png")
def thumbnail(template_id):
    """The picture of a starter template, when the chosen template is one."""
    template = compose.email_template(template_id)
    path = library_thumbnail((template.variant_of or template).name) if template else None
    if path is None:
        abort(404, description=_("this template has no thumbnail"))
    return send_file(path, mimetype="image/png", max_age=3600)


@bp.route("/compose/<module>/<int:record_id>/preview", methods=["GET", "POST"])
def preview(module, record_id):
    """The chosen template merged for the record (with the subject and text as edited, when
    posted), for the compose page's sandboxed frame."""
    record = compose.record_of(module, record_id)
    form = request.form if request.method == "POST" else request.args
    draft = _draft(form)
    if request.method == "GET":
        draft.template_id = request.args.get("template", type=int)
    if not compose.recipient_for(module, record).email:
        text = _(
            "This %(module)s has no e-mail address to send to.", module=compose.MODULE_NAMES[module]
        )
        return _frame(f"<p>{escape(text)}</p>")
    _template, version, subject, body = compose.editing(module, record, draft)
    if version is None:
        text = _("Choose a template to see the e-mail merged for this record.")
        return _frame(f"<p>{escape(text)}</p>")
    sender = compose.owner_of(module, record) if draft.sender == "owner" else None
    try:
        rendered = preview_html(
            version.template, record, sender or current_user, source=body, subject=subject
        )
    except (TemplateInvalid, MergeError) as exc:
        text = _("The e-mail cannot be shown: %(why)s", why=str(exc))
        return _frame(f"<p>{escape(text)}</p>", 422)
    return _frame(rendered.html)


def _frame(html, status=200):
    return Response(html, status=status, headers={"Content-Security-Policy": PREVIEW_CSP})
