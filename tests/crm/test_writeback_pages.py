"""The CRM write-back page (administrators only) and ``designer crm push``."""

import pytest
from rq import Queue
from support import csrf_token

from designer import broker
from designer.crm import connection
from designer.crm.writeback_fields import writeback_settings

PAGE = "/settings/crm/writeback"


def post(client, path, data=None):
    """A form post carrying the page's CSRF token, as the browser sends it."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/templates")})


@pytest.fixture
def connected(app, vtiger_account, vtiger_writeback_fields):
    connection.save_connection(*vtiger_account)
    return vtiger_writeback_fields


@pytest.mark.parametrize(
    ("method", "path"), [("get", PAGE), ("post", PAGE), ("post", PAGE + "/push")]
)
def test_marketers_get_403_on_every_route(marketer_client, method, path):
    answer = marketer_client.get(path) if method == "get" else post(marketer_client, path)
    assert answer.status_code == 403


def test_without_a_connection_the_page_says_so_and_saves_nothing(admin_client):
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    assert "no vtiger connection is set up" in page.text
    refused = post(admin_client, PAGE, {"organisation.opens": "cf_designer_opens"})
    assert refused.status_code == 400
    assert writeback_settings()["fields"]["organisation"] == {}


def test_the_admin_picks_fields_from_vtiger_and_saves_them(admin_client, connected):
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    assert 'name="organisation.opens"' in page.text
    assert 'value="cf_designer_opens"' in page.text
    assert ">not written<" in page.text
    assert f'href="{PAGE}"' in admin_client.get("/settings/crm").text  # linked from there

    saved = post(
        admin_client,
        PAGE,
        {
            "organisation.opens": "cf_designer_opens",
            "contact.last_sent": "cf_designer_last_sent",
            "record_messages": "1",
        },
    )

    assert saved.status_code == 302
    settings = writeback_settings()
    assert settings["fields"]["organisation"] == {
        "opens": {"field": "cf_designer_opens", "type": "integer"}
    }
    assert settings["fields"]["contact"]["last_sent"]["type"] == "date"
    assert settings["record_messages"] and settings["record_messages_since"]
    shown = admin_client.get(PAGE).text
    assert 'value="cf_designer_opens" selected' in shown


def test_a_field_of_the_wrong_kind_is_refused_naming_it(admin_client, connected):
    answer = post(admin_client, PAGE, {"contact.opens": "lastname"})
    assert answer.status_code == 400
    assert "Contacts has no editable field &#39;lastname&#39;" in answer.text
    assert writeback_settings()["fields"]["contact"] == {}


def test_write_back_now_queues_the_job(app, admin_client):
    answer = post(admin_client, PAGE + "/push")
    assert answer.status_code == 302
    queue = Queue(broker.CRM_WRITEBACK, connection=broker.get_redis())
    assert [job.func_name for job in queue.jobs] == [broker.PUSH_CRM_COUNTS]


def test_push_without_a_connection_exits_2_with_the_reason(runner):
    result = runner.invoke(args=["crm", "push"])
    assert result.exit_code == 2
    assert "no vtiger connection is set up" in result.output


def test_push_with_a_wrong_key_exits_2_saying_so(app, runner, connected):
    from designer.crm.models import CrmConnection
    from designer.crypto import encrypt
    from designer.extensions import db

    saved = db.session.scalar(db.select(CrmConnection))
    saved.access_key_encrypted = encrypt("wrongkey0000000")
    db.session.commit()
    result = runner.invoke(args=["crm", "push"])
    assert result.exit_code == 2
    assert "Wrong user name or access key" in result.output


def test_push_with_nothing_due_prints_zero(runner, connected):
    result = runner.invoke(args=["crm", "push"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "pushed 0 records (0 organisations, 0 contacts), 0 failed"
