"""The Topics settings page (administrators only): add, rename, describe, archive and bring
back the subscription topics recipients choose from on their preference page."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

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
    flash(_("Topic “%(name)s” added: campaigns can target it now.", name=topic.name), "success")
    return redirect(url_for("topics.index"))


@bp.post("/<int:topic_id>")
def change(topic_id):
    topic = _topic_or_404(topic_id)
    try:
        topics.change_topic(topic, request.form.get("name"), request.form.get("description"))
    except topics.TopicRefused as exc:
        return _page(status=400, change_error=str(exc), changed_id=topic_id)
    flash(_("Topic “%(name)s” saved.", name=topic.name), "success")
    return redirect(url_for("topics.index"))


@bp.post("/<int:topic_id>/archive")
def archive(topic_id):
    topic = _topic_or_404(topic_id)
    topics.archive_topic(topic)
    flash(
        _(
            "Topic “%(name)s” archived: it is offered to no campaign and on no preference "
            "page; its opt-outs are kept.",
            name=topic.name,
        ),
        "success",
    )
    return redirect(url_for("topics.index"))


@bp.post("/<int:topic_id>/restore")
def restore(topic_id):
    topic = _topic_or_404(topic_id)
    try:
        topics.restore_topic(topic)
    except topics.TopicRefused as exc:
        flash(_("Not brought back: %(error)s", error=exc), "error")
    else:
        flash(_("Topic “%(name)s” is active again.", name=topic.name), "success")
    return redirect(url_for("topics.index"))
