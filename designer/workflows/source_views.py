"""Settings → Hook sources (administrators): who may post events, their secrets, recent events."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from designer import workflows
from designer.auth import protect
from designer.workflows import events, sources
from designer.workflows.sources import ROTATION_OVERLAP, TOLERANCE

bp = Blueprint("hook_sources", __name__, url_prefix="/settings/hooks")
protect(bp, role="admin")


def _page(new_secret=None, source_name=None, status=200):
    return render_template(
        "workflows/sources.html",
        sources=workflows.list_sources(),
        recent=events.recent_events(),
        new_secret=new_secret,
        source_name=source_name,
        tolerance=TOLERANCE,
        hook_url=current_app.config["PUBLIC_URL"] + url_for("hooks.receive_event"),
        overlap_days=ROTATION_OVERLAP.days,
        rotating=sources.rotating,
        serves_standard=sources.serves_standard,
    ), status


def _refusal(name, exc):
    """Why ``sources.add_source`` refused ``name``, in the page's language."""
    name = (name or "").strip().lower()
    if "exists already" in str(exc):
        return _("a source called %(name)r exists already", name=name)
    if "source name is" in str(exc):
        return _(
            "a source name is 1 to 64 lower-case letters, digits, '.', '_' or '-'"
            " (and not %(reserved)r)",
            reserved=sources.APP_SOURCE,
        )
    return str(exc)


def _source_or_404(source_id):
    source = workflows.get_source(source_id)
    if source is None:
        abort(404, description=_("no hook source with id %(id)s", id=source_id))
    return source


@bp.get("")
def index():
    return _page()


@bp.post("")
def add():
    try:
        source, secret = workflows.add_source(request.form.get("name", ""))
    except ValueError as exc:
        flash(
            _("Not added: %(reason)s", reason=_refusal(request.form.get("name", ""), exc)), "error"
        )
        return _page(status=400)
    return _page(new_secret=secret, source_name=source.name)


@bp.post("/<int:source_id>/rotate")
def rotate(source_id):
    source = _source_or_404(source_id)
    return _page(new_secret=workflows.rotate_secret(source), source_name=source.name)


@bp.post("/<int:source_id>/end-rotation")
def end_rotation(source_id):
    source = _source_or_404(source_id)
    sources.end_rotation(source)
    flash(_("The previous secret of “%(name)s” no longer works.", name=source.name), "success")
    return redirect(url_for("hook_sources.index"))


@bp.post("/<int:source_id>/delete")
def delete(source_id):
    source = _source_or_404(source_id)
    workflows.delete_source(source)
    flash(
        _("Source “%(name)s” removed: its requests are refused from now on.", name=source.name),
        "success",
    )
    return redirect(url_for("hook_sources.index"))
