"""Settings → CRM connection (administrators only): the vtiger connection, the sync's
progress, and which vtiger custom fields feed which Designer fields."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from designer import broker
from designer.auth import protect
from designer.crm import connection, fields
from designer.crm.client import VtigerError
from designer.i18n import _l

bp = Blueprint("crm", __name__, url_prefix="/settings/crm")
protect(bp, role="admin")

STARTS = {"import": _l("Import every record now"), "now": _l("Only changes from now on")}


@bp.route("", methods=["GET", "POST"])
def page():
    """The connection: test it, save it (tested first), see what the sync did."""
    form = {name: request.form.get(name, "") for name in ("url", "user_name", "start")}
    if request.method == "GET":
        return _page({})
    try:
        if request.form.get("action") == "test":
            tested = connection.test_connection(form["url"], form["user_name"], _key())
            return _page(form, tested=tested)
        _saved, tested = connection.save_connection(
            form["url"],
            form["user_name"],
            _key(),
            form["start"] if form["start"] in STARTS else "import",
        )
    except connection.ConnectionRefused as exc:
        if request.form.get("action") != "test":
            flash(_("Not saved: %(reason)s.", reason=exc), "error")
        else:
            flash(f"{exc}.", "error")
        return _page(form, status=400)
    flash(
        _(
            "Connected to vtiger %(version)s: saved. The first sync starts within a minute.",
            version=tested.version,
        ),
        "success",
    )
    return redirect(url_for("crm.page"))


def _key():
    key = request.form.get("access_key", "")
    saved = connection.get_connection()
    if not key.strip() and saved is not None and request.form.get("action") == "test":
        from designer.crypto import SecretUnreadable, decrypt

        try:
            return decrypt(saved.access_key_encrypted)
        except SecretUnreadable:
            return ""
    return key


def _page(form, tested=None, status=200):
    saved = connection.get_connection()
    states = connection.sync_states() if saved else []
    importing = any(s.importing for s in states)
    return (
        render_template(
            "crm/connection.html",
            saved=saved,
            form=form,
            tested=tested,
            states=states,
            importing=importing,
            starts=STARTS,
        ),
        status,
    )


@bp.route("/sync", methods=["POST"])
def sync_now():
    """Queue a sync pass now (the scheduler runs one every minute anyway)."""
    if connection.get_connection() is None:
        flash(_("Connect vtiger first."), "error")
        return redirect(url_for("crm.page"))
    broker.enqueue(broker.PERIODIC, broker.SYNC_CRM)
    flash(_("A sync pass is queued."), "success")
    return redirect(url_for("crm.page"))


@bp.route("/fields", methods=["GET", "POST"])
def field_map():
    """vtiger custom fields → Designer custom fields, from vtiger's ``describe``."""
    try:
        with connection.client() as vt:
            available = fields.choices(vt)
    except connection.NotConnected as exc:
        flash(f"{exc}.", "error")
        return redirect(url_for("crm.page"))
    except VtigerError as exc:
        flash(f"{connection.explain(exc)}.", "error")
        return redirect(url_for("crm.page"))
    if request.method == "POST":
        wanted = {
            (c.vtiger_module, c.vtiger_field): request.form.get(
                f"{c.vtiger_module}.{c.vtiger_field}", ""
            )
            for c in available
        }
        try:
            changed = fields.save_choices(
                available, wanted, reread=bool(request.form.get("reread"))
            )
        except fields.InvalidChoice as exc:
            flash(_("Not saved: %(reason)s.", reason=exc), "error")
            return render_template("crm/fields.html", choices=available, form=request.form), 400
        if changed and request.form.get("reread"):
            flash(
                _("Field choices saved. Existing records get the values with the next sync."),
                "success",
            )
        else:
            flash(_("Field choices saved."), "success")
        return redirect(url_for("crm.field_map"))
    return render_template("crm/fields.html", choices=available, form=None)
