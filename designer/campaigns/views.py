"""Campaign pages (list, new, one campaign with its actions, report) and the public
unsubscribe endpoints.

The pages' scripts count the audience and follow the progress through the REST API
(``/api/v1``); the action buttons are form posts here.
"""

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from designer import campaigns, mail, templating, tracking
from designer.auth import protect
from designer.campaigns import audience_values as values
from designer.campaigns import reporting
from designer.campaigns.audience import FIELDS, LABELS, OPERATOR_LABELS, OPERATORS, SPECIAL
from designer.campaigns.list_send import NAMED, held_back_of
from designer.campaigns.models import Campaign, state_label
from designer.extensions import csrf, db
from designer.mail import topics
from designer.mail.dkim import missing_key_warning
from designer.mail.sender import resolve_sender
from designer.mail.suppression import parse_unsubscribe_token
from designer.tracking import reports
from designer.tracking.chart import activity_chart

bp = Blueprint("campaigns", __name__)
protect(bp)
public = Blueprint("unsubscribe", __name__)
csrf.exempt(public)  # RFC 8058 one-click POSTs come from mail providers; the token is the proof


@bp.context_processor
def _campaign_words():
    """The campaign states as the pages name them (``state_label('paused')``)."""
    return {"state_label": state_label}


ACTIONS = {
    "start": campaigns.start,
    "pause": campaigns.pause,
    "resume": campaigns.resume,
    "cancel": campaigns.cancel,
}


def _campaign_or_404(campaign_id):
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404, description=_("no campaign with id %(id)s", id=campaign_id))
    return campaign


def _filters_from(form):
    """Filter rows posted as field[]/op[]/value[] lists; empty rows are ignored."""
    rows = zip(form.getlist("field"), form.getlist("op"), form.getlist("value"), strict=False)
    return [{"field": f, "op": o, "value": v} for f, o, v in rows if f and v != ""]


@bp.route("/campaigns")
@tracking.fresh_counts
def list_page():
    rows = campaigns.list_campaigns()
    return render_template(
        "campaigns/list.html", campaigns=rows, figures=reporting.list_figures(rows)
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new():
    email_templates = templating.list_templates(kind="email")
    if request.method == "POST":
        try:
            campaign = _create_from_form(request.form)
        except (campaigns.CampaignError, campaigns.FilterInvalid, LookupError) as exc:
            flash(_("Not saved: %(reason)s", reason=exc), "error")
            return render_template(
                "campaigns/new.html",
                templates=email_templates,
                **_builder(),
                topics=topics.active_topics(),
                form=request.form,
            ), 400
        flash(_("Campaign “%(name)s” saved as a draft.", name=campaign.name), "success")
        return redirect(url_for("campaigns.page", campaign_id=campaign.id))
    return render_template(
        "campaigns/new.html",
        templates=email_templates,
        **_builder(),
        topics=topics.active_topics(),
        form={},
    )


def _builder():
    """What the audience builder shows: the fields by their labels, values to pick from."""
    return {
        "fields": FIELDS,
        "special": SPECIAL,
        "labels": LABELS,
        "operators": OPERATORS,
        "operator_labels": OPERATOR_LABELS,
        "choices": values.choices(),
    }


def _topic_id(form):
    value = (form.get("topic_id") or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise campaigns.CampaignError(_("choose a topic from the list"))
    return int(value)


def _create_from_form(form):
    template = templating.get_template(int(form.get("template_id") or 0))
    segment = campaigns.create_segment(
        form.get("segment_name") or form.get("name"), _filters_from(form)
    )
    return campaigns.create_campaign(
        form.get("name"),
        template=template,
        segment=segment,
        sender=current_user,
        tracking=bool(form.get("tracking")),
        topic_id=_topic_id(form),
    )


@bp.route("/campaigns/<int:campaign_id>")
def page(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    from_address = resolve_sender(campaign.sender).address
    return render_template(
        "campaigns/campaign.html",
        campaign=campaign,
        progress=campaigns.progress(campaign),
        dkim_warning=missing_key_warning(from_address, can_add=current_user.is_admin),
        held_back=held_back_of(campaign.id),
        held_back_limit=NAMED,
    )


@bp.route("/campaigns/<int:campaign_id>/report")
@tracking.fresh_counts
def report(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    body = reporting.report_of(campaign)
    return render_template(
        "campaigns/report.html",
        campaign=campaign,
        report=body,
        held_back=held_back_of(campaign.id),
        held_back_limit=NAMED,
        chart=activity_chart(body.activity, current_user.timezone) if body else None,
    )


@bp.route("/campaigns/<int:campaign_id>/report.csv")
@tracking.fresh_counts
def report_csv(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    filename = f"campaign-{campaign.id}-outcomes.csv"
    return Response(
        reports.outcomes_csv(campaign.id),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/campaigns/<int:campaign_id>/<action>", methods=["POST"])
def act(campaign_id, action):
    """A lifecycle action; "start" sends to real people, so it first shows a confirmation
    naming how many (``confirmed`` is that page's answer)."""
    campaign = _campaign_or_404(campaign_id)
    if action == "start" and request.form.get("confirmed") != "yes":
        return _confirm_start(campaign)
    try:
        _perform(campaign, action, request.form.get("scheduled_at"))
    except campaigns.NoRecipients as exc:
        if action == "schedule":
            flash(_("Not scheduled: %(reason)s", reason=exc), "error")
        else:
            flash(_("Not started: %(reason)s", reason=exc), "error")
    except campaigns.CampaignError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Campaign %(state)s.", state=state_label(campaign.state)), "success")
    return redirect(url_for("campaigns.page", campaign_id=campaign.id))


def _confirm_start(campaign):
    """The page that names how many people get the campaign (nothing is sent yet)."""
    if campaign.state not in ("draft", "scheduled"):
        flash(
            _("A %(state)s campaign cannot be started.", state=state_label(campaign.state)),
            "error",
        )
        return redirect(url_for("campaigns.page", campaign_id=campaign.id))
    try:
        recipients, left_out = campaigns.reach_or_refuse(campaign)
    except campaigns.NoRecipients as exc:
        flash(_("Not started: %(reason)s", reason=exc), "error")
    else:
        return render_template(
            "campaigns/start_confirm.html",
            campaign=campaign,
            recipients=recipients,
            left_out=left_out,
            from_address=resolve_sender(campaign.sender).address,
        )
    return redirect(url_for("campaigns.page", campaign_id=campaign.id))


def _perform(campaign, action, when=None):
    if action == "schedule":
        try:
            moment = datetime.fromisoformat(when or "")
        except ValueError:
            raise campaigns.CampaignError(_("give the time as YYYY-MM-DDTHH:MM (UTC)")) from None
        return campaigns.schedule(campaign, moment.replace(tzinfo=None))
    if action not in ACTIONS:
        abort(404, description=_("unknown action %(action)s", action=repr(action)))
    return ACTIONS[action](campaign)


def _message_for(token):
    message_token = parse_unsubscribe_token(token)
    return mail.find_by_token(message_token) if message_token else None


@public.route("/u/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    """One click (POST, RFC 8058) or a visible link (GET shows a confirm button)."""
    message = _message_for(token)
    if message is None:
        return render_template("campaigns/unsubscribe.html", state="unknown"), 404
    if request.method == "POST":
        mail.suppress(message.recipient_email, "unsubscribed", message.campaign_id)
        return render_template(
            "campaigns/unsubscribe.html", state="done", email=message.recipient_email
        )
    return render_template(
        "campaigns/unsubscribe.html", state="confirm", email=message.recipient_email, token=token
    )
