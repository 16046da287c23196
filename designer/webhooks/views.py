"""Settings → Webhooks (administrators): endpoints, their events, secrets and delivery log."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from designer import webhooks
from designer.auth import protect
from designer.i18n import N_

bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")
protect(bp, role="admin")


#: What the event types mean (``designer.webhooks.emitter``) and the URL checks' refusals
#: (``designer.webhooks.transport``), as these pages show them translated.
SHOWN_TRANSLATED = (
    N_("a message left for its recipient (the mail server accepted it)"),
    N_("a recipient opened a message (the tracking pixel was loaded)"),
    N_("a recipient clicked a tracked link"),
    N_("a message bounced (hard or soft)"),
    N_("an address unsubscribed"),
    N_("a campaign sent its last message"),
    N_("a workflow run failed"),
    N_("a URL is at most 2000 characters"),
    N_("the URL must start with http:// or https:// and name a host"),
    N_("the URL may not carry a user name or password"),
    N_("the URL may contain no spaces and only ASCII (punycode for a domain)"),
)


def _event_types():
    return {name: _(meaning) for name, meaning in webhooks.EVENT_TYPES.items()}


def _shown(error):
    """The form's error with its message in the page's language."""
    if error is None:
        return None
    return webhooks.InvalidEndpoint(error.field, _(str(error)))


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
        abort(404, description=_("no webhook endpoint with id %(id)s", id=endpoint_id))
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
        event_types=_event_types(),
        new_secret=new_secret,
        new_endpoint=endpoint,
        error=_shown(error),
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
        event_types=_event_types(),
        deliveries=deliveries,
        page=page,
        more=more,
        counts=webhooks.counts(endpoint),
        error=_shown(error),
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
    flash(_("Endpoint saved."), "success")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/test")
def send_test(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    delivery = webhooks.send_test_event(endpoint, current_user.name)
    if delivery.state == "delivered":
        flash(
            _(
                "Test event delivered: the endpoint answered %(code)s.",
                code=delivery.response_code,
            ),
            "success",
        )
    else:
        flash(_("Test event not delivered: %(error)s", error=delivery.error), "error")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/enable")
def enable(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    webhooks.switch_on(endpoint)
    flash(_("Endpoint switched on: its pending deliveries go out now."), "success")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/disable")
def disable(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    webhooks.switch_off_by_hand(endpoint)
    flash(
        _(
            "Endpoint switched off: new events are not kept for it, and its pending deliveries"
            " wait until you switch it on again."
        ),
        "success",
    )
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    webhooks.delete_endpoint(endpoint)
    flash(_("Endpoint removed, with its delivery log."), "success")
    return redirect(url_for("webhooks.list_page"))
