"""Outgoing servers and the From policy, through real SMTP servers on loopback."""

import time

import pytest
from aiosmtpd.controller import Controller
from support import csrf_token, free_port, log_in

from designer import mail
from designer.extensions import db
from designer.mail import servers
from designer.mail.models import OutgoingServer
from designer.mail.sender import sending_policy, set_sending_policy
from designer.records import User


class Keep:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 2.0.0 kept"


@pytest.fixture
def second_smtp():
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.keep = handler
    yield controller
    controller.stop()


def add_server(name, port, **extra):
    values = {
        "name": name,
        "host": "127.0.0.1",
        "port": str(port),
        "security": "none",
        "timeout": "10",
        **extra,
    }
    return servers.save_server(values)


def test_password_is_stored_encrypted_and_kept_when_left_empty(app):
    server = add_server("Office", 25, username="crm", password="s3cret")
    assert server.password_encrypted and "s3cret" not in server.password_encrypted
    assert servers.transport_settings(server).password == "s3cret"
    servers.save_server(
        {"name": "Office", "host": "127.0.0.1", "port": "25", "security": "none", "password": ""},
        server,
    )
    assert servers.transport_settings(server).password == "s3cret"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("port", "99999", "port: must be between"),
        ("port", "abc", "port: 'abc' is not a number"),
        ("security", "ssl3", "security must be"),
        ("host", "", "host: enter the host name"),
        ("host", "smtp example com", "host: a host name has no spaces"),
        ("host", "h" * 256, "host: at most 255 characters"),
        ("name", "N" * 5000, "name: at most 200 characters"),
        ("username", "u" * 321, "username: at most 320 characters"),
    ],
)
def test_invalid_server_settings_name_the_field(app, field, value, message):
    values = {"name": "X", "host": "h", "port": "25", "security": "none", field: value}
    with pytest.raises(servers.ServerInvalid, match=message):
        servers.save_server(values)
    assert db.session.scalar(db.select(db.func.count(OutgoingServer.id))) == 0


def test_default_and_per_user_servers_route_mail(app, smtp_server, second_smtp, welcome, people):
    add_server("Shared", smtp_server.port, is_default="on")
    mia = User(name="Mia", email="mia@example.com", role="marketer", language="de")
    db.session.add(mia)
    db.session.commit()
    add_server("Mia's own", second_smtp.port, user_id=str(mia.id))
    by_admin = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    by_mia = mail.queue_message(
        welcome, module="contact", record=people.emma, sender_user=mia, enqueue=False
    )
    assert mail.deliver_batch([by_admin.id, by_mia.id])["sent"] == 2
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()] == [
        "jan@devries.example"
    ]
    assert [e.rcpt_tos for e in second_smtp.keep.envelopes] == [["emma@devries.example"]]


def test_unreachable_server_requeues_its_messages(app, welcome, people):
    add_server("Down", free_port(), is_default="on")
    message = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    assert mail.deliver_batch([message.id])["retry"] == 1
    db.session.refresh(message)
    assert message.state == "queued" and "cannot connect" in message.last_error


def test_send_test_reports_the_servers_answer(app, smtp_server):
    server = add_server("Loopback", smtp_server.port)
    assert servers.send_test(server, "ada@example.com").startswith("250")
    [received] = smtp_server.handler.messages()
    assert received["Subject"] == "Designer test message"


def test_central_from_policy_and_envelope_sender(app, smtp_server, welcome, people):
    app.config["SMTP_URL"] = smtp_server.url
    set_sending_policy("crm@company.example", "bounces@company.example")
    assert sending_policy()["central_from"] == "crm@company.example"
    message = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    mail.deliver_batch([message.id])
    [envelope] = smtp_server.handler.received
    assert envelope.mail_from == "bounces@company.example"
    [received] = smtp_server.handler.messages()
    assert str(received["From"]) == "Ada Admin <crm@company.example>"
    assert str(received["Reply-To"]) == "Ada Admin <ada@example.com>"
    with pytest.raises(ValueError, match="not an e-mail address"):
        set_sending_policy("not an address")


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"policy": "central", "central_from": ""}, "central_from", "enter the central address"),
        ({"policy": "central", "central_from": "crm at x"}, "central_from", "not an e-mail"),
        ({"policy": "user", "envelope_from": "bounces@"}, "envelope_from", "not an e-mail"),
    ],
)
def test_sender_settings_refuse_bad_input_next_to_the_field(client, people, form, field, words):
    ada = log_in(client, "ada@example.com", "secret")
    set_sending_policy("crm@company.example", "")
    token = csrf_token(ada, "/settings/sending/")
    answer = ada.post("/settings/sending/", data={**form, "csrf_token": token})
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.text and words in answer.text
    assert "Sender settings saved" not in answer.text
    assert sending_policy()["central_from"] == "crm@company.example"  # unchanged


def test_choosing_each_users_own_address_clears_the_central_one(client, people):
    ada = log_in(client, "ada@example.com", "secret")
    set_sending_policy("crm@company.example", "")
    token = csrf_token(ada, "/settings/sending/")
    answer = ada.post(
        "/settings/sending/",
        data={"policy": "user", "central_from": "crm@company.example", "csrf_token": token},
    )
    assert answer.status_code == 302
    assert sending_policy()["central_from"] == ""


def test_rate_limit_spaces_messages_across_workers(app):
    limiter = servers.RateLimiter("test-limit", 5)
    started = time.monotonic()
    for _ in range(11):
        limiter.wait()
    assert time.monotonic() - started >= 1.0  # 11 messages at 5/s need at least two windows


def test_sending_page_is_for_admins(client, people, smtp_server):
    ada = log_in(client, "ada@example.com", "secret")
    page = ada.get("/settings/sending/")
    assert page.status_code == 200 and "One central address for ALL outgoing mail" in page.text
    token = csrf_token(ada, "/settings/sending/")
    saved = ada.post(
        "/settings/sending/servers/new",
        data={
            "name": "Loopback",
            "host": "127.0.0.1",
            "port": str(smtp_server.port),
            "security": "none",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 302
    bad = ada.post(
        "/settings/sending/servers/new",
        data={"name": "Bad", "host": "h", "port": "0", "security": "none", "csrf_token": token},
    )
    assert bad.status_code == 400 and "port: must be between" in bad.text
    server = db.session.scalar(db.select(OutgoingServer))
    tested = ada.post(
        f"/settings/sending/servers/{server.id}/test",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "accepted the test message" in tested.text and "250" in tested.text
    policy = ada.post(
        "/settings/sending/",
        data={
            "policy": "central",
            "central_from": "crm@company.example",
            "envelope_from": "",
            "csrf_token": token,
        },
    )
    assert policy.status_code == 302 and sending_policy()["central_from"] == "crm@company.example"


def test_sending_api(client, people, smtp_server):
    ada = log_in(client, "ada@example.com", "secret")
    token = csrf_token(ada, "/templates")
    headers = {"X-CSRFToken": token}
    created = ada.post(
        "/api/v1/sending/servers",
        json={
            "name": "Loopback",
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "security": "none",
            "password": "pw",
            "is_default": True,
        },
        headers=headers,
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["is_default"] and body["has_password"] and "password" not in body
    listed = ada.get("/api/v1/sending/servers").get_json()
    assert listed["servers"] == [body] and listed["total"] == 1
    bad = ada.post(
        "/api/v1/sending/servers", json={"name": "X", "host": "h", "port": 0}, headers=headers
    )
    assert bad.status_code == 422 and list(bad.get_json()["error"]["details"]["fields"]) == ["port"]
    kept = ada.put(
        f"/api/v1/sending/servers/{body['id']}",
        json={
            "name": "Loopback 2",
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "security": "none",
        },
        headers=headers,
    )
    assert kept.get_json()["name"] == "Loopback 2" and kept.get_json()["has_password"]
    tested = ada.post(f"/api/v1/sending/servers/{body['id']}/test", json={}, headers=headers)
    assert tested.get_json()["accepted"] and tested.get_json()["answer"].startswith("250")
    policy = ada.put(
        "/api/v1/sending/policy", json={"central_from": "crm@co.example"}, headers=headers
    )
    assert policy.get_json()["central_from"] == "crm@co.example"
    assert ada.get("/api/v1/sending/policy").get_json()["central_from"] == "crm@co.example"
    refused = ada.put("/api/v1/sending/policy", json={"central_from": "nope"}, headers=headers)
    assert (
        refused.status_code == 422
        and "not an e-mail address" in refused.get_json()["error"]["message"]
    )
    forged = ada.put("/api/v1/sending/policy", json={"central_from": ""})
    assert forged.status_code == 400 and sending_policy()["central_from"] == "crm@co.example"


def test_sending_api_is_for_admins(app, people):
    user = User(name="Mia", email="mia@example.com", role="marketer")
    user.set_password("secret")
    db.session.add(user)
    db.session.commit()
    mia = log_in(app.test_client(), "mia@example.com", "secret")
    assert mia.get("/api/v1/sending/policy").status_code == 403
    assert mia.get("/api/v1/sending/servers").status_code == 403
    assert mia.get("/settings/sending/").status_code == 403
