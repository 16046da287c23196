"""The webservice client against the real vtiger, and against what is not vtiger."""

import re
import time

import pytest
from support import free_port

from designer.crm.client import VtigerClient, VtigerError


def test_logs_in_and_reports_version_and_modules(vtiger):
    assert vtiger.session
    assert re.fullmatch(r"\d+x\d+", vtiger.user_id)  # the Users module's id of the user
    assert vtiger.version  # e.g. "7.5.0"
    assert {"Accounts", "Contacts", "Products", "Invoice", "Quotes"} <= set(vtiger.listtypes())


def test_create_sync_retrieve_revise_delete(vtiger):
    since = int(time.time()) - 1
    name = f"Client test {time.time_ns()}"
    account = vtiger.create("Accounts", {"accountname": name, "assigned_user_id": vtiger.user_id})
    changes = vtiger.sync("Accounts", since)
    assert account["id"] in [row["id"] for row in changes["updated"]]
    assert vtiger.retrieve(account["id"])["accountname"] == name
    revised = vtiger.revise({"id": account["id"], "website": "https://example.com"})
    assert revised["website"] == "https://example.com" and revised["accountname"] == name
    vtiger.delete(account["id"])
    with pytest.raises(VtigerError):
        vtiger.retrieve(account["id"])


def test_query_all_pages_past_vtigers_limit(vtiger):
    rows = list(vtiger.query_all("SELECT id FROM Users"))
    assert rows and all(row["id"].count("x") == 1 for row in rows)


def test_an_expired_session_is_renewed(vtiger):
    vtiger.session = "not-a-session"
    assert vtiger.describe("Contacts")["name"] == "Contacts"


def test_wrong_access_key_is_said_in_words(vtiger_account):
    url, user, _ = vtiger_account
    with VtigerClient(url, user, "x" * 16) as client, pytest.raises(VtigerError) as caught:
        client.login()
    assert caught.value.kind == "credentials"
    assert "access key" in str(caught.value)


def test_unknown_user_is_a_credentials_error(vtiger_account):
    url, _, key = vtiger_account
    with VtigerClient(url, "nobody-here", key) as client, pytest.raises(VtigerError) as caught:
        client.login()
    assert caught.value.kind == "credentials"


def test_a_web_page_is_not_vtiger(web_page_server):
    with VtigerClient(web_page_server, "admin", "key") as client, pytest.raises(VtigerError) as e:
        client.login()
    assert e.value.kind == "not_vtiger"
    assert "not with vtiger's webservice" in str(e.value)


def test_nothing_listening_is_unreachable():
    url = f"http://127.0.0.1:{free_port()}"
    with VtigerClient(url, "admin", "key", timeout=5) as client, pytest.raises(VtigerError) as e:
        client.login()
    assert e.value.kind == "unreachable"
    assert url in str(e.value)
