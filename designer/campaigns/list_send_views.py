"""List-send pages: the contacts or organisations ticked in a list (or all matching its
filter) get one template, as a one-off campaign.

Three steps, all form posts (no script needed): compose (template, sender, time, the
merged preview per recipient with previous/next), review (how many get the mail, who is
held back and why; nothing written yet), and send (the one-off campaign, then its page).
"""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from designer import records, templating
from designer.auth import protect
from designer.campaigns import CampaignError, list_send
from designer.campaigns.lifecycle import record_owner
from designer.campaigns.list_send import ListSendError
from designer.templating.preview import PREVIEW_CSP, preview_html

bp = Blueprint("list_send", __name__)
protect(bp)

LIST_PAGES = {"contact": "records.contacts", "organisation": "records.organisations"}


def _back_to_list(module, form, message):
    """To the list the records were ticked in, its filter kept, with the message."""
    flash(_("Nothing sent: %(reason)s.", reason=message), "error")
    if module not in LIST_PAGES:
        return redirect(url_for("records.contacts"))
    return redirect(url_for(LIST_PAGES[module], **list_send.filter_values(module, form)))


def _templates(module):
    return [t for t in templating.list_templates(kind="email") if t.module == module]


def _chosen_template(selection, form):
    """The template picked on the form (checked for the selection), or None."""
    value = (form.get("template_id") or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise ListSendError(_("choose a template from the list"))
    try:
        template = templating.get_template(int(value))
    except templating.TemplateNotFound:
        raise ListSendError(_("there is no template with id %(id)s", id=value)) from None
    return list_send.checked_template(selection, template)


def _index(form, total):
    value = form.get("at", "0")
    at = int(value) if value.isdigit() and len(value) < 9 else 0
    return min(at, max(total - 1, 0))


def _compose(selection, form, error=None, status=200):
    """The compose page: template, sender, time, and the preview of one recipient."""
    total = list_send.count(selection)
    at = _index(form, total)
    template = None
    try:
        template = _chosen_template(selection, form)
    except ListSendError as exc:
        error = error or str(exc)
        status = 400
    record = list_send.record_at(selection, at) if template is not None else None
    return render_template(
        "campaigns/list_send.html",
        selection=selection,
        total=total,
        at=at,
        record=record,
        template=template,
        templates=_templates(selection.module),
        form=form,
        senders=list_send.SENDER_LABELS,
        error=error,
        timezone=current_user.timezone or "UTC",
    ), status


@bp.route("/send/list", methods=["POST"])
def compose():
    """Step 1, reached from a list's "Send e-mail" (or back from the review)."""
    try:
        selection = list_send.selection_from(request.form)
    except ListSendError as exc:
        return _back_to_list(request.form.get("module", ""), request.form, str(exc))
    return _compose(selection, request.form)


@bp.route("/send/list/review", methods=["POST"])
def review():
    """Step 2: who gets the mail and who does not, before anything is written."""
    try:
        selection = list_send.selection_from(request.form)
    except ListSendError as exc:
        return _back_to_list(request.form.get("module", ""), request.form, str(exc))
    try:
        template = _chosen_template(selection, request.form)
        if template is None:
            raise ListSendError(_("choose a template"))
        sender_mode = list_send.checked_sender(request.form.get("sender", ""))
        send_at = list_send.send_time(request.form.get("send_at"), current_user.timezone)
    except ListSendError as exc:
        return _compose(selection, request.form, error=str(exc), status=400)
    return render_template(
        "campaigns/list_send_review.html",
        selection=selection,
        template=template,
        sender_label=list_send.SENDER_LABELS[sender_mode],
        send_at=send_at,
        review=list_send.review(selection),
        form=request.form,
        timezone=current_user.timezone or "UTC",
    )


@bp.route("/send/list/confirm", methods=["POST"])
def confirm():
    """Step 3: create the one-off campaign and start (or schedule) it."""
    try:
        selection = list_send.selection_from(request.form)
    except ListSendError as exc:
        return _back_to_list(request.form.get("module", ""), request.form, str(exc))
    try:
        template = _chosen_template(selection, request.form)
        if template is None:
            raise ListSendError(_("choose a template"))
        campaign = list_send.send(
            selection,
            template,
            sender_mode=request.form.get("sender", ""),
            user=current_user,
            send_at=list_send.send_time(request.form.get("send_at"), current_user.timezone),
        )
    except (ListSendError, CampaignError) as exc:
        return _compose(selection, request.form, error=str(exc), status=400)
    if campaign.state == "scheduled":
        flash(_("“%(name)s” is scheduled.", name=campaign.name), "success")
    else:
        flash(_("“%(name)s” is on its way.", name=campaign.name), "success")
    return redirect(url_for("campaigns.page", campaign_id=campaign.id))


@bp.route("/send/list/preview/<module>/<int:record_id>")
def preview(module, record_id):
    """One recipient's merged message, for the compose page's sandboxed frame."""
    if module not in LIST_PAGES:
        return Response(_("No such list."), status=404, mimetype="text/plain")
    try:
        record = records.get_record(module, record_id)
        template = templating.get_template(request.args.get("template_id", 0, type=int))
        list_send.checked_template(list_send.Selection(module), template)
    except (records.RecordNotFound, templating.TemplateNotFound, ListSendError) as exc:
        return Response(_("No preview: %(reason)s.", reason=exc), status=404, mimetype="text/plain")
    user = current_user
    if request.args.get("sender") == "owner":
        user = record_owner(module, record) or current_user
    try:
        rendered = preview_html(template, record, user)
    except (templating.TemplateInvalid, templating.MergeError) as exc:
        return Response(
            _("No preview: %(reason)s", reason=exc.message), status=422, mimetype="text/plain"
        )
    return Response(rendered.html, headers={"Content-Security-Policy": PREVIEW_CSP})
