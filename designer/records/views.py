"""Organisation pages and the records JSON API."""

from flask import Blueprint, jsonify, render_template

from designer import mail, records, tracking
from designer.auth import protect
from designer.records.merge import merge_data

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
    return render_template("records/organisation.html", org=org, messages=messages,
                           documents=records.documents_for_organisation(org.id))


@bp.route("/contacts/<int:contact_id>")
@tracking.fresh_counts
def contact(contact_id):
    person = records.get_record("contact", contact_id)
    return render_template("records/contact.html", contact=person,
                           messages=mail.messages_for_contact(person.id))


@bp.route("/api/records/<module>/<int:record_id>")
def api_record(module, record_id):
    if module not in records.MODULES:
        raise records.RecordNotFound(f"unknown module {module!r}")
    record = records.get_record(module, record_id)
    data = merge_data(module, record)
    return jsonify(module=module, id=record.id, data=data)
