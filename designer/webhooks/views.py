"""Settings → Webhooks (administrators): endpoints, their events, secrets and delivery log."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer import webhooks
from designer.auth import protect

bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")
protect(bp, role="admin")


@bp.app_context_processor
def switched_off_notice():
    """``switched_off_webhooks()`` for the layout: endpoints a day of failures turned off,
    looked up only when an administrator's page asks."""

    def switched_off_webhooks():
        if not (current_user.is_authenticated and current_user.is_admin):
            return []
        return webhooks.switched_off()

    return {"switched_off_webhooks": switched_off_webhooks}


def _endpoint_or_404(endpoint_id):
    endpoint = webhooks.get_endpoint(endpoint_id)
    if endpoint is None:
        abort(404, description=f"no webhook endpoint with id {endpoint_id}")
    return endpoint


def _form():
    return (
        request.form.get("url", ""),
        request.form.getlist("event_types"),
        request.form.get("description", ""),
    )


def _list_page(new_secret=None, endpoint=None, error=None, status=200):
    return render_template(
        "webhooks/list.html",
        endpoints=webhooks.list_endpoints(),
        event_types=webhooks.EVENT_TYPES,
        new_secret=new_secret,
        new_endpoint=endpoint,
        error=error,
    ), status


@bp.get("")
def list_page():
    return _list_page()


@bp.post("")
def create():
    try:
        endpoint, secret = webhooks.create_endpoint(*_form())
    except webhooks.InvalidEndpoint as exc:
        return _list_page(error=exc, status=400)
    return _list_page(new_secret=secret, endpoint=endpoint)


def _endpoint_page(endpoint, error=None, status=200):
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    deliveries, more = webhooks.delivery_log(endpoint, min(page, 100_000))
    return render_template(
        "webhooks/endpoint.html",
        hook=endpoint,  # the layout's ``endpoint`` is the request's
        event_types=webhooks.EVENT_TYPES,
        deliveries=deliveries,
        page=page,
        more=more,
        counts=webhooks.counts(endpoint),
        error=error,
    ), status


@bp.get("/<int:endpoint_id>")
def endpoint_page(endpoint_id):
    return _endpoint_page(_endpoint_or_404(endpoint_id))


@bp.post("/<int:endpoint_id>")
def update(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    try:
        webhooks.update_endpoint(endpoint, *_form())
    except webhooks.InvalidEndpoint as exc:
        return _endpoint_page(endpoint, error=exc, status=400)
    flash("Endpoint saved.", "success")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/test")
def send_test(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    delivery = webhooks.send_test_event(endpoint, current_user.name)
    if delivery.state == "delivered":
        flash(f"Test event delivered: the endpoint answered {delivery.response_code}.", "success")
    else:
        flash(f"Test event not delivered: {delivery.error}", "error")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/enable")
def enable(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    webhooks.switch_on(endpoint)
    flash("Endpoint switched on: its pending deliveries go out now.", "success")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/disable")
def disable(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    webhooks.switch_off_by_hand(endpoint)
    flash(
        "Endpoint switched off: new events are not kept for it, and its pending deliveries"
        " wait until you switch it on again.",
        "success",
    )
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    webhooks.delete_endpoint(endpoint)
    flash("Endpoint removed, with its delivery log.", "success")
    return redirect(url_for("webhooks.list_page"))
