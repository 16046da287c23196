"""Organisation, contact, quote and invoice pages, with the mail sent to them (and, for a
contact, whether its address is suppressed), each with "Send e-mail"."""

from flask import Blueprint, render_template

from designer import mail, records, tracking
from designer.auth import protect
from designer.extensions import db
from designer.mail import compose, consent, history

bp = Blueprint("records", __name__)
protect(bp)


@bp.route("/organisations")
def organisations():
    return render_template("records/organisations.html", rows=records.list_organisations())


@bp.route("/organisations/<int:organisation_id>")
@tracking.fresh_counts
def organisation(organisation_id):
    org = records.get_record("organisation", organisation_id)
    messages = mail.messages_for_organisation(org.id, [c.id for c in org.contacts])
    return render_template(
        "records/organisation.html",
        org=org,
        messages=messages,
        documents=records.documents_for_organisation(org.id),
    )


@bp.route("/contacts/<int:contact_id>")
@tracking.fresh_counts
def contact(contact_id):
    person = records.get_record("contact", contact_id)
    return render_template(
        "records/contact.html",
        contact=person,
        messages=mail.messages_for_contact(person.id),
        suppression=consent.suppression_of(person.email) if person.email else None,
        reason_label=consent.reason_label,
    )


@bp.route("/documents/<int:document_id>")
@tracking.fresh_counts
def document(document_id):
    """A quote or an invoice: its lines and the mail sent about it."""
    found = db.session.get(records.Document, document_id) if document_id < 2**31 else None
    if found is None:
        raise records.RecordNotFound(f"no quote or invoice with id {document_id}")
    return render_template(
        "records/document.html",
        document=found,
        recipient=compose.recipient_for(found.kind, found),
        messages=db.session.scalars(history.messages_of(found.kind, found)).all(),
    )
