"""Settings → CRM write-back (administrators only): which vtiger fields receive the counts.

The choices come from vtiger's own ``describe`` of Organisations and Contacts,
asked when the page opens and again when it is saved (a field vtiger no longer
has, or one of the wrong type, is refused naming it).
"""

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from designer import broker
from designer.auth import protect
from designer.crm import connection, message_log, writeback
from designer.crm.client import VtigerError
from designer.crm.writeback_fields import (
    COUNTS,
    VTIGER_MODULES,
    InvalidChoice,
    field_choices,
    save_choices,
    writeback_settings,
)

bp = Blueprint("crm_writeback", __name__, url_prefix="/settings/crm/writeback")
protect(bp, role="admin")


def _choices():
    """``({module: {count: [FieldChoice]}}, error)``: from vtiger, or why not."""
    try:
        with connection.client(timeout=20) as client:
            return {m: field_choices(client.describe(v)) for m, v in VTIGER_MODULES.items()}, ""
    except connection.NotConnected as exc:
        return None, str(exc)
    except VtigerError as exc:
        return None, connection.explain(exc)


def _page(choices, error="", status=200, form=None):
    settings = writeback_settings()
    selected = {
        f"{module}.{count}": value["field"]
        for module, counts in settings["fields"].items()
        for count, value in counts.items()
    }
    if form is not None:
        selected = {key: value for key, value in form.items() if "." in key}
    due, failing = writeback.due_counts()
    retry = writeback.retry_state()
    return render_template(
        "crm/writeback.html",
        choices=choices,
        error=error,
        counts=COUNTS,
        modules=VTIGER_MODULES,
        selected=selected,
        settings=settings,
        due=due,
        failing=failing,
        retry=retry,
        retry_at=_moment(retry["retry_at"]),
        refused=message_log.failed_records(),
    ), status


def _moment(iso):
    """The naive UTC time of an ISO text (the retry's), or None."""
    try:
        return datetime.fromisoformat(iso).replace(tzinfo=None) if iso else None
    except ValueError:
        return None


@bp.get("")
def index():
    choices, error = _choices()
    return _page(choices, error)


@bp.post("")
def save():
    choices, error = _choices()
    if choices is None:
        flash(_("Not saved: %(reason)s", reason=error), "error")
        return _page(None, error, status=400)
    try:
        save_choices(request.form, choices, bool(request.form.get("record_messages")))
    except InvalidChoice as exc:
        flash(_("Not saved: %(reason)s", reason=exc), "error")
        return _page(choices, status=400, form=request.form)
    flash(_("Write-back saved. Counts go to vtiger within a few minutes."), "success")
    return redirect(url_for("crm_writeback.index"))


@bp.post("/push")
def push():
    """Queue a write-back now (the scheduler does it every minute anyway)."""
    broker.enqueue(broker.CRM_WRITEBACK, broker.PUSH_CRM_COUNTS)
    flash(_("A write-back is queued; due records go to vtiger in a moment."), "success")
    return redirect(url_for("crm_writeback.index"))
