"""End to end on real parts: vtiger records, mail through a real RQ worker and SMTP, the open
pixel, ``designer crm push`` and the scheduled job; vtiger shows 1, then 2; vtiger down does
not stop sending and the counts follow once it is back."""

import re
import time
from urllib.parse import urlsplit

import pytest
from support import run_designer

from designer import broker, mail, tracking
from designer.crm import connection, writeback
from designer.crm.models import CrmConnection, CrmWritebackState
from designer.crm.writeback_fields import field_choices, save_choices
from designer.extensions import db
from designer.records.upsert import upsert_record

PIXEL = re.compile(r'<img src="(http://designer\.test/o/[^"]+\.gif)"')


@pytest.fixture
def vtiger_pair(vtiger, vtiger_writeback_fields):
    stamp = f"{time.time():.6f}"
    account = vtiger.create(
        "Accounts", {"accountname": f"E2E Org {stamp}", "assigned_user_id": vtiger.user_id}
    )
    contact = vtiger.create(
        "Contacts",
        {
            "firstname": "Eve",
            "lastname": f"E2E {stamp}",
            "email": f"eve.{stamp}@example.com",
            "account_id": account["id"],
            "assigned_user_id": vtiger.user_id,
        },
    )
    yield account, contact
    vtiger.delete(contact["id"])
    vtiger.delete(account["id"])


@pytest.fixture
def wired(smtp_app, vtiger, vtiger_account, vtiger_pair, monkeypatch):
    """The connection saved, every count mapped, our records upserted from vtiger's."""
    monkeypatch.setenv("CRM_WRITEBACK_MIN_SECONDS", "1")
    monkeypatch.setenv("CRM_WRITEBACK_RETRY_BASE_SECONDS", "1")
    connection.save_connection(*vtiger_account)
    choices = {
        "organisation": field_choices(vtiger.describe("Accounts")),
        "contact": field_choices(vtiger.describe("Contacts")),
    }
    form = {
        f"{module}.{count}": f"cf_designer_{count}"
        for module in choices
        for count in ("opens", "human_opens", "last_opened", "last_sent")
    }
    save_choices(form, choices, record_messages=False)
    account, contact = vtiger_pair
    org, _, _ = upsert_record("organisation", {"id": account["id"], "name": account["accountname"]})
    db.session.flush()
    ours, _, _ = upsert_record(
        "contact",
        {
            "id": contact["id"],
            "first_name": "Eve",
            "last_name": contact["lastname"],
            "email": contact["email"],
            "organisation": account["id"],
        },
    )
    db.session.commit()
    return org, ours


def send_and_receive(smtp_server, run_worker_burst, welcome, contact, sender):
    """Queue one mail to ``contact``, let a real worker send it; its pixel path."""
    before = len(smtp_server.handler.messages())
    message = mail.queue_message(welcome, module="contact", record=contact, sender_user=sender)
    run_worker_burst()
    received = smtp_server.handler.messages()
    assert len(received) == before + 1
    html = received[-1].get_body(("html",)).get_content()
    db.session.refresh(message)
    assert message.state == "sent"
    return message, urlsplit(PIXEL.search(html).group(1)).path


def push(app):
    result = run_designer(app, "crm", "push")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_vtiger_shows_the_opens_of_mail_sent_from_designer(
    app, client, smtp_server, run_worker_burst, vtiger, wired, welcome, people
):
    org, contact = wired
    message, pixel = send_and_receive(smtp_server, run_worker_burst, welcome, contact, people.admin)
    assert client.get(pixel).status_code == 200
    tracking.flush()

    assert push(app) == "pushed 2 records (1 organisations, 1 contacts), 0 failed"
    in_contact, in_org = vtiger.retrieve(contact.external_id), vtiger.retrieve(org.external_id)
    db.session.refresh(message)
    for element in (in_contact, in_org):
        assert str(element["cf_designer_opens"]) == "1"
        assert element["cf_designer_last_sent"] == f"{message.sent_at:%Y-%m-%d}"
        assert element["cf_designer_last_opened"] == f"{message.last_opened_at:%Y-%m-%d}"

    time.sleep(1.1)  # CRM_WRITEBACK_MIN_SECONDS
    assert client.get(pixel).status_code == 200
    tracking.flush()
    assert push(app) == "pushed 2 records (1 organisations, 1 contacts), 0 failed"
    assert str(vtiger.retrieve(contact.external_id)["cf_designer_opens"]) == "2"
    assert str(vtiger.retrieve(org.external_id)["cf_designer_opens"]) == "2"

    modified = vtiger.retrieve(contact.external_id)["modifiedtime"]
    time.sleep(1.1)
    assert push(app) == "pushed 0 records (0 organisations, 0 contacts), 0 failed"
    assert vtiger.retrieve(contact.external_id)["modifiedtime"] == modified


def test_vtiger_down_does_not_stop_sending_and_the_counts_follow(
    app, client, smtp_server, run_worker_burst, vtiger, wired, welcome, people
):
    org, contact = wired
    saved = db.session.scalar(db.select(CrmConnection))
    url = saved.url
    saved.url = "http://127.0.0.1:9"  # vtiger is down
    db.session.commit()

    _, pixel = send_and_receive(smtp_server, run_worker_burst, welcome, contact, people.admin)
    assert client.get(pixel).status_code == 200
    tracking.flush()
    broker.enqueue(broker.CRM_WRITEBACK, broker.PUSH_CRM_COUNTS)
    run_worker_burst()

    assert writeback.retry_state()["failures"] == 1
    assert "cannot be reached" in writeback.retry_state()["error"]
    failed = run_designer(app, "crm", "push")
    assert failed.returncode == 2
    assert "vtiger cannot be reached" in failed.stderr

    saved.url = url  # back
    db.session.commit()
    time.sleep(2.1)  # past the wait after two failures (1 s, then 2 s)
    broker.enqueue(broker.CRM_WRITEBACK, broker.PUSH_CRM_COUNTS)
    run_worker_burst()

    db.session.expire_all()
    assert writeback.retry_state()["failures"] == 0
    assert str(vtiger.retrieve(contact.external_id)["cf_designer_opens"]) == "1"
    assert str(vtiger.retrieve(org.external_id)["cf_designer_opens"]) == "1"
    assert not db.session.scalar(db.select(CrmWritebackState).where(CrmWritebackState.due))
