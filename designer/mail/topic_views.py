"""The Topics settings page (administrators only): add, rename, describe, archive and bring
back the subscription topics recipients choose from on their preference page."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from designer.auth import protect
from designer.mail import topics

bp = Blueprint("topics", __name__, url_prefix="/settings/topics")
protect(bp, role="admin")


def _topic_or_404(topic_id):
    topic = topics.get_topic(topic_id)
    if topic is None:
        abort(404, description=f"no topic with id {topic_id}")
    return topic


def _page(status=200, **extra):
    return render_template(
        "mail/topics.html",
        topics=topics.all_topics(),
        limits={"name": topics.MAX_NAME, "description": topics.MAX_DESCRIPTION},
        form=request.form if request.method == "POST" else {},
        **extra,
    ), status


@bp.get("")
def index():
    return _page()


@bp.post("")
def add():
    try:
        topic = topics.add_topic(request.form.get("name"), request.form.get("description"))
    except topics.TopicRefused as exc:
        return _page(status=400, add_error=str(exc))
    flash(f"Topic “{topic.name}” added: campaigns can target it now.", "success")
    return redirect(url_for("topics.index"))


@bp.post("/<int:topic_id>")
def change(topic_id):
    topic = _topic_or_404(topic_id)
    try:
        topics.change_topic(topic, request.form.get("name"), request.form.get("description"))
    except topics.TopicRefused as exc:
        return _page(status=400, change_error=str(exc), changed_id=topic_id)
    flash(f"Topic “{topic.name}” saved.", "success")
    return redirect(url_for("topics.index"))


@bp.post("/<int:topic_id>/archive")
def archive(topic_id):
    topic = _topic_or_404(topic_id)
    topics.archive_topic(topic)
    flash(
        f"Topic “{topic.name}” archived: it is offered to no campaign and on no preference "
        "page; its opt-outs are kept.",
        "success",
    )
    return redirect(url_for("topics.index"))


@bp.post("/<int:topic_id>/restore")
def restore(topic_id):
    topic = _topic_or_404(topic_id)
    try:
        topics.restore_topic(topic)
    except topics.TopicRefused as exc:
        flash(f"Not brought back: {exc}", "error")
    else:
        flash(f"Topic “{topic.name}” is active again.", "success")
    return redirect(url_for("topics.index"))
