"""Write-back to the real vtiger: exact counts in the fields the admin chose, at most once per
interval, nothing sent when nothing changed, refusals retried later, messages as comments."""

import time
from datetime import timedelta

import pytest
from support import sent_message

from designer import tracking
from designer.clock import utcnow
from designer.crm import writeback
from designer.crm.client import VtigerClient
from designer.crm.models import CrmMessageRecord, CrmWritebackState
from designer.crm.writeback_fields import (
    InvalidChoice,
    field_choices,
    save_choices,
    vtiger_value,
    writeback_settings,
)
from designer.extensions import db
from designer.records.upsert import upsert_record

HUMAN = tracking.Hit(
    user_agent="Mozilla/5.0 (X11; Linux x86_64) Thunderbird/128.0", client_ip="203.0.113.9"
)


@pytest.fixture
def in_vtiger(vtiger, vtiger_writeback_fields):
    """An organisation with two contacts in vtiger; deleted afterwards."""
    stamp = f"{time.time():.6f}"
    made = []
    account = vtiger.create(
        "Accounts", {"accountname": f"Write-back Org {stamp}", "assigned_user_id": vtiger.user_id}
    )
    made.append(account["id"])
    contacts = []
    for first in ("Ada", "Bob"):
        contact = vtiger.create(
            "Contacts",
            {
                "firstname": first,
                "lastname": f"Write-back {stamp}",
                "email": f"{first.lower()}.{stamp}@example.com",
                "account_id": account["id"],
                "assigned_user_id": vtiger.user_id,
            },
        )
        made.append(contact["id"])
        contacts.append(contact)
    yield account, contacts
    for record_id in reversed(made):
        vtiger.delete(record_id)


@pytest.fixture
def records(app, in_vtiger, people):
    """Our organisation and contacts, upserted with the vtiger ids as ``external_id``."""
    account, contacts = in_vtiger
    org, _, _ = upsert_record("organisation", {"id": account["id"], "name": account["accountname"]})
    db.session.flush()
    ours = []
    for contact in contacts:
        record, _, _ = upsert_record(
            "contact",
            {
                "id": contact["id"],
                "first_name": contact["firstname"],
                "last_name": contact["lastname"],
                "email": contact["email"],
                "organisation": account["id"],
            },
        )
        ours.append(record)
    db.session.commit()
    return org, ours


@pytest.fixture
def chosen(app, vtiger, vtiger_writeback_fields):
    """Every count mapped to its ``cf_designer_…`` field on both modules."""
    choices = {
        "organisation": field_choices(vtiger.describe("Accounts")),
        "contact": field_choices(vtiger.describe("Contacts")),
    }
    form = {
        f"{module}.{count}": name
        for module in choices
        for count, name in vtiger_writeback_fields.items()
    }
    save_choices(form, choices, record_messages=False)
    return vtiger_writeback_fields


def opened(message, times=1, hit=HUMAN):
    for _ in range(times):
        tracking.record_open(message.token, hit)
    tracking.flush()


def counts_in(element):
    """(opens, human opens) as vtiger holds them (it answers a stored 0 as a number)."""
    return tuple(str(element[f"cf_designer_{n}"]) for n in ("opens", "human_opens"))


def test_choices_are_editable_fields_of_a_fitting_type(vtiger, vtiger_writeback_fields):
    choices = field_choices(vtiger.describe("Accounts"))
    names = {count: {c.name for c in fitting} for count, fitting in choices.items()}
    assert "cf_designer_opens" in names["opens"]
    assert "employees" in names["opens"]  # vtiger's own integer field
    assert "cf_designer_last_opened" in names["last_opened"]
    assert "cf_designer_last_opened" not in names["opens"]
    assert "accountname" not in names["opens"]  # mandatory: never offered
    assert "phone" not in names["opens"] and "website" not in names["opens"]
    assert "modifiedtime" not in names["last_sent"]  # not editable


def test_a_field_that_does_not_fit_is_refused_and_nothing_is_stored(
    app, vtiger, vtiger_writeback_fields
):
    choices = {
        "organisation": field_choices(vtiger.describe("Accounts")),
        "contact": field_choices(vtiger.describe("Contacts")),
    }
    with pytest.raises(InvalidChoice, match="accountname"):
        save_choices({"organisation.opens": "accountname"}, choices, record_messages=False)
    with pytest.raises(InvalidChoice, match="cf_designer_last_sent"):
        save_choices({"contact.opens": "cf_designer_last_sent"}, choices, record_messages=False)
    assert writeback_settings()["fields"] == {"organisation": {}, "contact": {}}


def test_values_take_the_form_of_the_field():
    when = utcnow().replace(year=2026, month=12, day=3, hour=9, minute=5, second=7, microsecond=0)
    assert vtiger_value("integer", 0) == "0"
    assert vtiger_value("date", when) == "2026-12-03"
    assert vtiger_value("datetime", when) == "2026-12-03 09:05:07"
    assert vtiger_value("string", when) == "2026-12-03 09:05:07 UTC"
    assert vtiger_value("date", None) == ""


def test_push_writes_exact_totals_on_contacts_and_their_organisation(
    app, vtiger, records, chosen, welcome, people
):
    org, (ada, bob) = records
    first = sent_message(welcome, ada, people.admin, timedelta(hours=3))
    second = sent_message(welcome, bob, people.admin, timedelta(hours=1))
    opened(first, 2)
    opened(second, 1, tracking.Hit(user_agent="Mozilla/5.0", client_ip="17.58.101.5"))

    result = writeback.push_due(vtiger)

    assert (result.organisations, result.contacts, result.failed) == (1, 2, 0)
    in_ada, in_bob, in_org = (vtiger.retrieve(r.external_id) for r in (ada, bob, org))
    assert counts_in(in_ada) == ("2", "2")
    assert counts_in(in_bob) == ("1", "0")
    assert counts_in(in_org) == ("3", "2")
    assert in_org["cf_designer_last_sent"] == f"{second.sent_at:%Y-%m-%d}"
    db.session.refresh(first)
    assert in_ada["cf_designer_last_opened"] == f"{first.last_opened_at:%Y-%m-%d}"


def test_nothing_new_sends_nothing_and_a_retry_never_double_counts(
    app, vtiger, records, chosen, welcome, people
):
    org, (ada, _) = records
    opened(sent_message(welcome, ada, people.admin))
    writeback.push_due(vtiger)
    before = vtiger.retrieve(ada.external_id)["modifiedtime"]
    time.sleep(1.1)  # vtiger's modifiedtime has whole seconds

    again = writeback.push_due(vtiger)

    assert again.pushed == 0
    assert vtiger.retrieve(ada.external_id)["modifiedtime"] == before
    # a push lost after vtiger took it: the state forgets it wrote, the push repeats the totals
    db.session.execute(db.update(CrmWritebackState).values(due=True, pushed={}, pushed_at=None))
    db.session.commit()
    repeated = writeback.push_due(vtiger)
    assert repeated.pushed == 2  # Ada and her organisation (Bob got no mail)
    assert vtiger.retrieve(ada.external_id)["cf_designer_opens"] == "1"
    assert vtiger.retrieve(org.external_id)["cf_designer_opens"] == "1"


def test_a_record_is_written_at_most_once_per_interval(
    app, vtiger, records, chosen, welcome, people
):
    _, (ada, _) = records
    message = sent_message(welcome, ada, people.admin)
    opened(message)
    writeback.push_due(vtiger)
    opened(message)

    soon = writeback.push_due(vtiger)

    assert (soon.pushed, soon.waiting) == (0, 2)  # the contact and its organisation
    assert vtiger.retrieve(ada.external_id)["cf_designer_opens"] == "1"
    app.config["CRM_WRITEBACK_MIN_SECONDS"] = 1
    time.sleep(1.1)
    later = writeback.push_due(vtiger)
    assert later.pushed == 2
    assert vtiger.retrieve(ada.external_id)["cf_designer_opens"] == "2"


def test_vtiger_down_keeps_everything_due_and_the_next_try_waits(
    app, vtiger, records, chosen, welcome, people, vtiger_account
):
    _, (ada, _) = records
    opened(sent_message(welcome, ada, people.admin))
    _, user, key = vtiger_account
    with (
        VtigerClient("http://127.0.0.1:9", user, key, timeout=2) as down,
        pytest.raises(writeback.WritebackUnavailable, match="cannot be reached"),
    ):
        writeback.push_now(down)

    assert writeback.retry_state()["failures"] == 1
    assert writeback.waiting_for_retry()
    assert writeback.due_counts() == (2, 0)
    result = writeback.push_now(vtiger)
    assert result.pushed == 2
    assert writeback.retry_state()["failures"] == 0
    assert vtiger.retrieve(ada.external_id)["cf_designer_opens"] == "1"


def test_a_record_vtiger_refuses_is_tried_again_later_and_the_others_go(
    app, vtiger, records, chosen, welcome, people
):
    org, (ada, bob) = records
    opened(sent_message(welcome, ada, people.admin))
    opened(sent_message(welcome, bob, people.admin))
    gone = vtiger.create(
        "Contacts", {"lastname": "Deleted soon", "assigned_user_id": vtiger.user_id}
    )
    vtiger.delete(gone["id"])
    bob.external_id = gone["id"]
    db.session.commit()

    result = writeback.push_due(vtiger)

    assert (result.pushed, result.failed) == (2, 1)
    assert "vtiger refused revise" in result.errors[0]
    state = db.session.scalar(
        db.select(CrmWritebackState).where(CrmWritebackState.record_id == bob.id)
    )
    assert state.due and state.attempts == 1 and state.next_attempt_at > utcnow()
    assert writeback.push_due(vtiger).failed == 0  # not tried again before its time
    assert vtiger.retrieve(org.external_id)["cf_designer_opens"] == "2"


def test_sent_messages_are_recorded_once_as_comments(app, vtiger, records, chosen, welcome, people):
    org, (ada, _) = records
    choices = {
        "organisation": field_choices(vtiger.describe("Accounts")),
        "contact": field_choices(vtiger.describe("Contacts")),
    }
    form = {f"contact.{count}": name for count, name in chosen.items()}
    save_choices(form, choices, record_messages=True)
    # sent before it was switched on
    before = sent_message(welcome, ada, people.admin, timedelta(hours=1))
    before.sent_at = utcnow() - timedelta(hours=1)
    message = sent_message(welcome, ada, people.admin, timedelta(0))
    message.sent_at = utcnow() + timedelta(seconds=1)
    db.session.commit()

    first = writeback.push_due(vtiger)
    second = writeback.push_due(vtiger)

    assert (first.messages_recorded, second.messages_recorded) == (2, 0)
    for record in (ada, org):
        comments = vtiger.query(
            f"SELECT commentcontent FROM ModComments WHERE related_to = '{record.external_id}';"  # noqa: S608
        )
        assert len(comments) == 1
        assert message.recipient_email in comments[0]["commentcontent"]
        assert message.subject in comments[0]["commentcontent"]
    rows = db.session.scalars(db.select(CrmMessageRecord)).all()
    assert {(r.message_id, r.module) for r in rows} == {
        (message.id, "contact"),
        (message.id, "organisation"),
    }
