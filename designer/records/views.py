"""Organisation, contact, quote and invoice pages, with the mail sent to them (and, for a
contact, whether its address is suppressed), each with "Send e-mail"; and the organisation
and contact lists: filtered, paged, with boxes to tick records for a list send
(``designer.campaigns.list_send_views``)."""

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from designer import keyset, records, tracking
from designer.auth import protect
from designer.campaigns import list_send
from designer.campaigns.audience import FilterInvalid, audience_query
from designer.extensions import db
from designer.mail import compose, consent, history, replies

bp = Blueprint("records", __name__)
protect(bp)

PAGE_SIZE = 100


def _listing(module, order):
    """One page of the list of ``module`` under the filter of the query string."""
    filters = list_send.filter_values(module, request.args)
    try:
        query = audience_query(list_send.list_rules(module, filters), module, False)
        total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    except FilterInvalid as exc:
        flash(_("Filter not applied: %(reason)s.", reason=exc), "error")
        filters, query = {}, audience_query([], module, False)
        total = db.session.scalar(query.with_only_columns(db.func.count()).order_by(None))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = db.session.scalars(
        query.order_by(*order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "filters": filters,
        "max_ids": list_send.MAX_IDS,
    }


@bp.route("/organisations")
def organisations():
    listing = _listing("organisation", (records.Organisation.name, records.Organisation.id))
    counts = records.contact_counts([org.id for org in listing["rows"]])
    return render_template("records/organisations.html", counts=counts, **listing)


@bp.route("/contacts")
def contacts():
    listing = _listing(
        "contact", (records.Contact.last_name, records.Contact.first_name, records.Contact.id)
    )
    held = consent.suppressions_among(c.email for c in listing["rows"] if c.email)
    return render_template(
        "records/contacts.html", held=held, reason_label=consent.reason_label, **listing
    )


@bp.route("/organisations/<int:organisation_id>")
@tracking.fresh_counts
def organisation(organisation_id):
    org = records.get_record("organisation", organisation_id)
    return render_template(
        "records/organisation.html",
        org=org,
        **_history_with_replies("organisation", org),
        documents=records.documents_for_organisation(org.id),
    )


@bp.route("/contacts/<int:contact_id>")
@tracking.fresh_counts
def contact(contact_id):
    person = records.get_record("contact", contact_id)
    return render_template(
        "records/contact.html",
        contact=person,
        **_history_with_replies("contact", person),
        suppression=consent.suppression_of(person.email) if person.email else None,
        reason_label=consent.reason_label,
    )


@bp.route("/documents/<int:document_id>")
@tracking.fresh_counts
def document(document_id):
    """A quote or an invoice: its lines and the mail sent about it."""
    found = db.session.get(records.Document, document_id) if document_id < 2**31 else None
    if found is None:
        raise records.RecordNotFound(_("no quote or invoice with id %(id)s", id=document_id))
    return render_template(
        "records/document.html",
        document=found,
        recipient=compose.recipient_for(found.kind, found),
        **_history_with_replies(found.kind, found),
    )


def _history_with_replies(module, record):
    """The page of the record's messages, and the replies to them the user may see."""
    page = _history(module, record)
    return {"history": page, "replies": replies.replies_shown(page.messages, current_user.is_admin)}


def _history(module, record):
    """The page of the record's messages the ``before`` argument asks for."""
    return history.page_of(module, record, keyset.before_arg())
