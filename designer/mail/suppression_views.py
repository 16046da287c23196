"""The Suppressions page (administrators and marketers): search the list, add addresses with
a reason, remove one after a confirmation (the explicit resubscribe), import and export CSV,
the opt-outs of single topics recipients made on their preference page, and the audit list
of every change."""

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from designer import campaigns
from designer.auth import protect
from designer.i18n import _l
from designer.mail import suppression_audit, suppression_import, suppression_list, topics

bp = Blueprint("suppressions", __name__, url_prefix="/suppressions")
protect(bp)

#: The page's words for who or what changed the list, as the audit trail stores them.
ACTORS = {
    "unsubscribe link": _l("unsubscribe link"),
    "bounce": _l("bounce"),
    "CRM": "CRM",
    suppression_audit.SYSTEM: _l("system"),
    suppression_audit.PREFERENCE_PAGE: _l("preference page"),
}


def actor_label(actor):
    """Who changed the list, in the page's language (a user's address as it is)."""
    return ACTORS.get(actor, actor)


def _number(name):
    try:
        return min(max(int(request.args.get(name, 1)), 1), 1_000_000)
    except ValueError:
        return 1


def _filters():
    text = request.args.get("q", "").strip()[:320]
    reason = request.args.get("reason", "")
    return text, reason if reason in suppression_list.REASONS else ""


def _page(status=200, **extra):
    text, reason = _filters()
    listing = suppression_list.search(text, reason, _number("page"))
    events, more_events = suppression_audit.recent(text, _number("log"))
    additions = suppression_audit.last_additions(entry.email for entry in listing.entries)
    opt_outs, opt_out_total = topics.search_opt_outs(text)
    return render_template(
        "mail/suppressions.html",
        listing=listing,
        rows=[_row(entry, additions.get(entry.email)) for entry in listing.entries],
        text=text,
        reason=reason,
        events=events,
        more_events=more_events,
        opt_outs=opt_outs,
        opt_out_total=opt_out_total,
        topic_names={topic.id: topic.name for topic in topics.all_topics()},
        log_page=_number("log"),
        reasons=suppression_list.REASONS,
        chosen_reasons=suppression_list.CHOSEN_REASONS,
        actions=suppression_audit.ACTIONS,
        actor_label=actor_label,
        limits={
            "megabytes": suppression_import.MAX_BYTES // 2**20,
            "rows": suppression_import.MAX_ROWS,
            "pasted": suppression_list.MAX_PASTED,
            "note": suppression_list.MAX_NOTE,
        },
        form=request.form if request.method == "POST" else {},
        **extra,
    ), status


def _row(entry, added):
    """What the page shows of one address: the cause (a campaign or a source) and who."""
    source = actor_label(suppression_audit.automatic_source(entry.reason))
    if added is not None:
        source = _("CSV import") if added.action == "imported" else actor_label(added.actor)
        if added.user_id is not None and added.action == "added":
            source = _("added by hand")
    campaign = campaigns.get_campaign(entry.campaign_id)
    return {
        "entry": entry,
        "reason": suppression_list.reason_label(entry.reason),
        "campaign": campaign,
        "source": source,
        "added_by": actor_label(
            added.actor if added else suppression_audit.automatic_source(entry.reason)
        ),
        "note": added.note if added else "",
    }


@bp.get("")
def index():
    return _page()


@bp.post("/add")
def add():
    form = request.form
    try:
        done = suppression_list.add_by_hand(
            form.get("addresses", ""), form.get("reason", ""), form.get("note", ""), current_user
        )
    except suppression_list.ListChangeRefused as exc:
        return _page(status=400, add_error=str(exc), add_problems=exc.problems)
    flash(_added_sentence(len(done.added), len(done.already)), "success")
    return redirect(url_for("suppressions.index"))


def _added_sentence(added, already):
    sentence = ngettext(
        "Added %(num)s address to the suppression list.",
        "Added %(num)s addresses to the suppression list.",
        added,
    )
    if already:
        sentence += " " + ngettext(
            "%(num)s was on it already.", "%(num)s were on it already.", already
        )
    return sentence


@bp.get("/<int:suppression_id>/remove")
def confirm_remove(suppression_id):
    entry = suppression_list.get_suppression(suppression_id)
    if entry is None:
        flash(_("That address is not on the suppression list (any more)."), "warning")
        return redirect(url_for("suppressions.index"))
    added = suppression_audit.last_additions([entry.email]).get(entry.email)
    return render_template("mail/suppression_remove.html", row=_row(entry, added))


@bp.post("/<int:suppression_id>/remove")
def remove(suppression_id):
    try:
        email = suppression_list.remove(suppression_id, current_user, request.form.get("note"))
    except suppression_list.ListChangeRefused as exc:
        flash(_("Not removed: %(why)s", why=exc), "error")
        return redirect(url_for("suppressions.confirm_remove", suppression_id=suppression_id))
    if email is None:
        flash(_("That address is not on the suppression list (any more)."), "warning")
    else:
        flash(_("Removed %(address)s: it gets marketing mail again.", address=email), "success")
    return redirect(url_for("suppressions.index"))


@bp.post("/import")
def import_file():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(status=400, import_error=_("Choose a CSV file to import."))
    try:
        data = suppression_import.read_upload(upload.stream)
        result = suppression_import.import_csv(data, request.form.get("reason", ""), current_user)
    except (suppression_import.ImportRefused, suppression_list.ListChangeRefused) as exc:
        return _page(status=400, import_error=str(exc))
    return _page(import_result=result, import_name=upload.filename[:200])


@bp.get("/export.csv")
def export():
    text, reason = _filters()
    chunks = suppression_list.export_csv(text, reason)
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=suppressions.csv"},
    )
