"""Settings → CRM connection and ``designer crm connect``: tested before saved, errors in words,
the access key never shown back, administrators only."""

import re

import pytest
from support import csrf_token, free_port, run_designer

from designer.crm import connection
from designer.crm.models import CrmConnection, CrmSyncState
from designer.crypto import decrypt
from designer.extensions import db

ROUTES = [
    ("GET", "/settings/crm"),
    ("POST", "/settings/crm"),
    ("POST", "/settings/crm/sync"),
    ("GET", "/settings/crm/fields"),
    ("POST", "/settings/crm/fields"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_marketer_gets_403_on_every_route(marketer_client, method, path):
    token = csrf_token(marketer_client, "/templates")
    data = {"csrf_token": token, "url": "http://127.0.0.1:9", "user_name": "a", "access_key": "b"}
    answer = marketer_client.open(path, method=method, data=data if method == "POST" else None)
    assert answer.status_code == 403
    assert db.session.scalar(db.select(db.func.count(CrmConnection.id))) == 0


def post(client, **form):
    token = csrf_token(client, "/settings/crm")
    return client.post("/settings/crm", data={"csrf_token": token, **form})


def test_test_connection_shows_version_and_modules(admin_client, vtiger_account):
    url, user, key = vtiger_account
    answer = post(admin_client, url=url, user_name=user, access_key=key, action="test")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert re.search(r"vtiger \d+\.\d+(\.\d+)? answers", page)
    assert "Contacts" in page and "Invoice" in page
    assert key not in page
    assert (
        db.session.scalar(db.select(db.func.count(CrmConnection.id))) == 0
    )  # a test saves nothing


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong_key", "Wrong user name or access key"),
        ("not_vtiger", "not as vtiger does"),
        ("unreachable", "vtiger cannot be reached"),
        ("bad_url", "must start with https:// or http://"),
    ],
)
def test_bad_settings_are_refused_in_words_and_not_saved(
    admin_client, vtiger_account, web_page_server, case, expected
):
    url, user, key = vtiger_account
    given = {
        "wrong_key": (url, user, "x" * 16),
        "not_vtiger": (web_page_server, user, key),
        "unreachable": (f"http://127.0.0.1:{free_port()}", user, key),
        "bad_url": ("ftp://crm.example.com", user, key),
    }[case]
    form = dict(zip(("url", "user_name", "access_key"), given, strict=True))
    for action in ("test", "save"):
        answer = post(admin_client, **form, action=action)
        assert answer.status_code == 400
        assert expected in answer.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CrmConnection.id))) == 0


def test_saving_stores_the_key_encrypted_never_shows_it_and_keeps_it_when_left_empty(
    admin_client, vtiger_account
):
    url, user, key = vtiger_account
    answer = post(admin_client, url=url, user_name=user, access_key=key, action="save", start="now")
    assert answer.status_code == 302
    saved = connection.get_connection()
    assert saved.access_key_encrypted != key and decrypt(saved.access_key_encrypted) == key
    assert saved.vtiger_version and "Contacts" in saved.modules
    page = admin_client.get("/settings/crm").get_data(as_text=True)
    assert key not in page and f"vtiger <strong>{saved.vtiger_version}</strong>" in page
    states = db.session.scalars(db.select(CrmSyncState)).all()
    assert {s.module for s in states} >= {"Accounts", "Contacts"}
    assert not any(s.importing for s in states)  # "only changes from now on"

    again = post(admin_client, url=url + "/", user_name=user, access_key="", action="save")
    assert again.status_code == 302
    assert decrypt(connection.get_connection().access_key_encrypted) == key
    wrong = post(admin_client, url=url, user_name=user, access_key="y" * 16, action="save")
    assert wrong.status_code == 400 and "Not saved: Wrong user name" in wrong.get_data(as_text=True)
    assert decrypt(connection.get_connection().access_key_encrypted) == key  # the old one stays


def test_client_without_a_connection_says_how_to_make_one(app):
    with pytest.raises(connection.NotConnected, match="Settings → CRM connection"):
        connection.client()


def test_cli_connect_says_the_version_or_the_reason(app, vtiger_account):
    url, user, key = vtiger_account
    bad = run_designer(app, "crm", "connect", url, "--user", user, "--access-key", "z" * 16)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "Wrong user name or access key" in bad.stderr
    good = run_designer(
        app, "crm", "connect", url, "--user", user, "--access-key", key, "--since", "now"
    )
    assert good.returncode == 0, good.stderr
    assert re.fullmatch(r"connected to vtiger \S+ at \S+ as \S+ \(.*\)\n", good.stdout)
    db.session.expire_all()
    assert connection.get_connection().url == url


def test_cli_sync_without_a_connection_is_refused(app):
    answer = run_designer(app, "crm", "sync")
    assert answer.returncode == 2 and "no vtiger connection is set up" in answer.stderr
