"""The sync in, against the real vtiger: the first import (links, owners, lines, no workflows),
edits made in vtiger raising events that run workflows, deletions archived with their messages
kept, custom fields, opt-outs, and a first import resumed after a crash."""

import calendar
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from support import run_designer

from designer import mail, workflows
from designer.crm import connection, fields, inbound
from designer.crm.models import CrmSyncState
from designer.extensions import db
from designer.mail.models import Message
from designer.mail.suppression import is_suppressed
from designer.records.models import Contact, Document, Organisation, Product, User
from designer.workflows.models import Event


def tag():
    return str(time.time_ns())[-9:]


def held(model, external_id):
    db.session.expire_all()
    return db.session.scalar(db.select(model).where(model.external_id == external_id))


def vtiger_events():
    query = db.select(Event).where(Event.source == inbound.VTIGER_SOURCE).order_by(Event.id)
    return db.session.scalars(query).all()


@pytest.fixture
def company(vtiger):
    """An organisation with a contact in vtiger, made by the test."""
    mark = tag()
    org = vtiger.create(
        "Accounts",
        {
            "accountname": f"Sync Org {mark}",
            "assigned_user_id": vtiger.user_id,
            "email1": f"org{mark}@sync.example",
            "bill_street": "Oudegracht 1",
            "bill_code": "3511 AB",
            "bill_city": "Utrecht",
            "bill_country_id": "NL",
        },
    )
    person = vtiger.create(
        "Contacts",
        {
            "firstname": "Ada",
            "lastname": f"Sync {mark}",
            "email": f"ada{mark}@sync.example",
            "title": "Buyer",
            "account_id": org["id"],
            "assigned_user_id": vtiger.user_id,
        },
    )
    return org, person


def test_first_import_reads_links_owners_and_invoice_lines_and_runs_no_workflow(
    app, people, vtiger, connected, company
):
    org, person = company
    product = vtiger.create(
        "Products",
        {
            "productname": f"Widget {tag()}",
            "unit_price": "10.00",
            "assigned_user_id": vtiger.user_id,
        },
    )
    invoice = vtiger.create(
        "Invoice",
        {
            "subject": "Maintenance",
            "account_id": org["id"],
            "contact_id": person["id"],
            "invoicestatus": "Created",
            "invoicedate": "2026-11-20",
            "duedate": "2026-12-04",
            "bill_street": "Oudegracht 1",
            "ship_street": "Oudegracht 1",
            "assigned_user_id": vtiger.user_id,
            "LineItems": [
                {"productid": product["id"], "quantity": "2", "listprice": "10.00", "tax": "21"}
            ],
        },
    )

    results = inbound.run_pass()

    assert results["Accounts"].created >= 1 and results["Invoice"].created >= 1
    here = held(Organisation, org["id"])
    assert (here.name, here.email) == (org["accountname"], org["email1"])
    assert (here.street, here.postal_code, here.city) == ("Oudegracht 1", "3511 AB", "Utrecht")
    assert here.country == "Netherlands"  # vtiger keeps the ISO code
    # vtiger's admin has no user here: an owner only, without password, who cannot log in
    owner = here.owner
    assert owner.email == "admin@example.com" and owner.name == "Admin Administrator"
    assert not owner.has_password and not owner.is_active
    contact = held(Contact, person["id"])
    assert contact.organisation_id == here.id and contact.title == "Buyer"
    document = held(Document, invoice["id"])
    assert (document.kind, document.number) == ("invoice", invoice["invoice_no"])
    assert document.contact_id == contact.id and document.organisation_id == here.id
    assert str(document.due_date) == "2026-12-04" and document.currency == "USD"
    [line] = document.lines
    assert line.product.external_id == product["id"]
    assert (float(line.quantity), float(line.unit_price), float(line.tax_rate)) == (2, 10, 21)
    assert float(document.total) == 24.2
    assert held(Product, product["id"]).name == product["productname"]
    assert vtiger_events() == []  # connecting a CRM mails nobody
    states = db.session.scalars(db.select(CrmSyncState)).all()
    assert not any(s.importing for s in states) and all(s.token for s in states)
    contacts_state = next(s for s in states if s.module == "Contacts")
    assert contacts_state.records_done >= 1 and contacts_state.estimated_total >= 1


def test_an_edit_in_vtiger_raises_contact_updated_and_its_workflow_mails_once(
    smtp_app,
    smtp_server,
    people,
    welcome,
    vtiger,
    connected,
    company,
    run_worker_burst,
    vtiger_since,
):
    _, person = company
    inbound.run_pass()  # the first import
    workflows.save_workflow(
        {
            "name": "Promoted",
            "enabled": True,
            "module": "contact",
            "trigger": {"type": "field_changed", "field": "title"},
            "actions": [{"template_id": welcome.id, "to": "record"}],
        }
    )
    vtiger.revise({"id": person["id"], "title": "Chief Buyer"})

    results = inbound.run_pass()

    assert results["Contacts"].updated >= 1
    [event] = [e for e in vtiger_events() if e.record_ref == person["id"]]
    assert event.type == "contact.updated"
    assert event.changes["title"] == {"from": "Buyer", "to": "Chief Buyer"}
    run_worker_burst()
    [sent] = smtp_server.handler.messages()
    assert sent["To"].addresses[0].addr_spec == person["email"]
    assert "Welcome, Ada!" in sent["Subject"]

    # the same page read again (the pass died after its events, before its token was saved)
    held(Contact, person["id"]).title = "Buyer"
    for state in db.session.scalars(db.select(CrmSyncState)):
        state.token = vtiger_since
    db.session.commit()
    again = inbound.run_pass()
    assert again["Contacts"].updated == 0 and again["Contacts"].unchanged >= 1
    run_worker_burst()
    assert len(smtp_server.handler.messages()) == 1
    assert len([e for e in vtiger_events() if e.record_ref == person["id"]]) == 1


def test_an_edit_in_the_second_the_last_page_ended_is_not_skipped(
    app, people, vtiger, connected, company
):
    """vtiger's times are whole seconds: the last page read may end in the very second an
    edit lands in, just after the page was read. The next pass must still see it."""
    _, person = company
    inbound.run_pass()
    revised = vtiger.revise({"id": person["id"], "title": "Chief Buyer"})
    second = calendar.timegm(
        datetime.strptime(revised["modifiedtime"], "%Y-%m-%d %H:%M:%S").timetuple()
    )
    for state in db.session.scalars(db.select(CrmSyncState)):
        state.token = second  # as if a page had ended in that second, read before the edit
    db.session.commit()

    results = inbound.run_pass()

    assert results["Contacts"].updated == 1
    assert held(Contact, person["id"]).title == "Chief Buyer"


def test_next_since_reads_the_last_second_again_unless_it_alone_filled_the_page():
    assert inbound.next_since(100, 150) == 149  # the page's last second is read again
    assert inbound.next_since(149, 150) == 150  # that second alone filled a page: move on
    assert inbound.next_since(100, 100) == 100  # nothing new: no progress, the pass stops


def test_an_edit_of_a_field_designer_does_not_read_raises_no_event(
    app, people, vtiger, connected, company
):
    _, person = company
    inbound.run_pass()
    vtiger.revise({"id": person["id"], "description": "a note Designer does not keep"})
    results = inbound.run_pass()
    assert results["Contacts"].updated == 0
    assert [e for e in vtiger_events() if e.record_ref == person["id"]] == []


def test_records_deleted_in_vtiger_are_archived_and_their_messages_kept(
    app, people, welcome, vtiger, connected, company
):
    org, person = company
    inbound.run_pass()
    contact = held(Contact, person["id"])
    message = mail.queue_message(
        welcome, module="contact", record=contact, sender_user=people.admin, enqueue=False
    )
    db.session.commit()

    vtiger.delete(org["id"])  # reported by vtiger's sync
    vtiger.delete(person["id"])  # not reported (see the README): found by the sweep
    results = inbound.run_pass()

    assert results["Accounts"].deleted == 1 and results["Contacts"].deleted == 1
    org_here, contact_here = held(Organisation, org["id"]), held(Contact, person["id"])
    assert org_here.archived_at is not None and contact_here.archived_at is not None
    assert db.session.get(Message, message.id).contact_id == contact_here.id
    types = {e.record_ref: e.type for e in vtiger_events()}
    assert types[org["id"]] == "organisation.deleted" and types[person["id"]] == "contact.deleted"
    from designer.records import list_organisations
    from designer.records.picker import search_choices

    picked = search_choices("contact", contact_here.last_name or contact_here.email)
    assert contact_here.id not in [choice.id for choice in picked]
    assert org_here not in [o for o, _ in list_organisations()]
    assert inbound.run_pass()["Contacts"].deleted == 0  # once


def test_an_email_opt_out_in_vtiger_suppresses_the_address(app, people, vtiger, connected, company):
    _, person = company
    inbound.run_pass()
    assert not is_suppressed(person["email"])
    vtiger.revise({"id": person["id"], "emailoptout": "1"})
    inbound.run_pass()
    assert is_suppressed(person["email"])


def test_a_custom_field_chosen_on_the_mapping_page_is_read(
    app, admin_client, vtiger, vtiger_custom_field, connected
):
    vtiger_custom_field("Contacts", "cf_loyalty_tier", "Loyalty tier")
    page = admin_client.get("/settings/crm/fields")
    assert page.status_code == 200 and "cf_loyalty_tier" in page.get_data(as_text=True)
    from support import csrf_token

    token = csrf_token(admin_client, "/settings/crm/fields")
    bad = admin_client.post(
        "/settings/crm/fields", data={"csrf_token": token, "Contacts.cf_loyalty_tier": "Bad Name"}
    )
    assert bad.status_code == 400 and "lower-case letters" in bad.get_data(as_text=True)
    saved = admin_client.post(
        "/settings/crm/fields",
        data={"csrf_token": token, "Contacts.cf_loyalty_tier": "loyalty_tier"},
    )
    assert saved.status_code == 302
    mark = tag()
    person = vtiger.create(
        "Contacts",
        {
            "lastname": f"Loyal {mark}",
            "email": f"loyal{mark}@sync.example",
            "cf_loyalty_tier": "Gold",
            "assigned_user_id": vtiger.user_id,
        },
    )
    inbound.run_pass()
    assert held(Contact, person["id"]).custom["loyalty_tier"] == "Gold"
    from designer.records.models import CustomField

    field = db.session.scalar(db.select(CustomField).where(CustomField.name == "loyalty_tier"))
    assert field.module == "contact" and field.label == "Loyalty tier"
    choices = {c.vtiger_field: c.field for c in fields.choices(vtiger)}
    assert choices["cf_loyalty_tier"] == "loyalty_tier"


class Crash(Exception):
    pass


def test_a_first_import_that_crashes_resumes_from_its_last_committed_page(
    app, people, vtiger, vtiger_account, vtiger_since
):
    mark = tag()

    def create(n):
        return vtiger.create(
            "Contacts",
            {"lastname": f"Bulk {mark} {n:03}", "assigned_user_id": vtiger.user_id},
        )["id"]

    with ThreadPoolExecutor(max_workers=4) as pool:  # vtiger pages by 100 modification times
        first = list(pool.map(create, range(100)))
    time.sleep(1.1)
    last = create(100)
    url, user, key = vtiger_account
    connection.save_connection(url, user, key, start=str(vtiger_since))

    def crash_after_first_page(module, state):
        if module == "Contacts":
            raise Crash("the worker died")

    with pytest.raises(Crash):
        inbound.run_pass(modules=["Contacts"], after_page=crash_after_first_page)
    db.session.rollback()
    state = db.session.scalar(db.select(CrmSyncState).where(CrmSyncState.module == "Contacts"))
    assert state.importing and state.pages_done == 1 and state.token > vtiger_since
    # the page's records are here (others' edits in the shared vtiger may share the page)
    assert any(held(Contact, i) is not None for i in first)
    assert held(Contact, last) is None

    results = inbound.run_pass(modules=["Contacts"])

    assert held(Contact, last) is not None
    assert results["Contacts"].created >= 1 and results["Contacts"].pages == 1
    ours = db.select(db.func.count(Contact.id)).where(Contact.last_name.like(f"Bulk {mark} %"))
    assert db.session.scalar(ours) == 101
    state = db.session.scalar(db.select(CrmSyncState).where(CrmSyncState.module == "Contacts"))
    assert not state.importing and state.records_done >= 101


def test_cli_sync_prints_one_line_per_module(app, people, vtiger, connected, company):
    answer = run_designer(app, "crm", "sync", "--module", "Accounts", "--module", "Contacts")
    assert answer.returncode == 0, answer.stderr
    lines = answer.stdout.splitlines()
    assert lines[0].startswith("organisations: created ") and lines[1].startswith(
        "contacts: created "
    )
    assert len(lines) == 2
    busy = inbound.run_pass  # a pass while another runs is refused in words
    lock = app.extensions["redis"].lock(inbound.LOCK, timeout=30)
    lock.acquire()
    try:
        with pytest.raises(inbound.SyncBusy):
            busy()
        refused = run_designer(app, "crm", "sync")
        assert refused.returncode == 2 and "a sync is running already" in refused.stderr
    finally:
        lock.release()


def test_owners_match_users_here_by_email(app, demo, vtiger, connected, company):
    org, _ = company
    inbound.run_pass(modules=["Accounts"])
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    assert held(Organisation, org["id"]).owner_id == admin.id and admin.is_active
