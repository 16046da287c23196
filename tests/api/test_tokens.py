"""API tokens: created on the user's page (shown once), used as bearer tokens, revoked; CSRF."""

import hashlib
import re
from datetime import timedelta

from flask import request
from support import bearer_client, csrf_token

from designer.auth import tokens
from designer.auth.models import ApiToken
from designer.clock import utcnow
from designer.extensions import db

NEW_TEMPLATE = {
    "name": "Via API",
    "source_type": "html",
    "source": "<p>Hi {{ contact.first_name }}</p>",
}


def create_on_page(client, name="vtiger sync"):
    response = client.post(
        "/account/tokens", data={"name": name, "csrf_token": csrf_token(client, "/account/tokens")}
    )
    found = re.search(r'<code id="new-token">([^<]+)</code>', response.text)
    return response, found.group(1) if found else None


def test_tokens_page_needs_a_login_and_is_linked_from_every_page(client, admin_client):
    anonymous = client.application.test_client().get("/account/tokens")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert 'href="/account/tokens"' in admin_client.get("/templates").text
    page = admin_client.get("/account/tokens")
    assert "Authorization: Bearer" in page.text and 'href="/api/docs"' in page.text


def test_token_is_shown_once_and_stored_only_as_a_digest(admin_client):
    response, token = create_on_page(admin_client)
    assert response.status_code == 201 and token.startswith("dsn_") and len(token) > 40
    assert response.headers["Cache-Control"] == "no-store"
    row = db.session.scalar(db.select(ApiToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:12] and token not in (row.name, row.prefix)
    listing = admin_client.get("/account/tokens").text
    assert token not in listing and f"{token[:12]}…" in listing and "never" in listing


def test_token_needs_a_name_and_a_csrf_token(admin_client):
    response, token = create_on_page(admin_client, name="  ")
    assert response.status_code == 400 and token is None
    assert "give the token a name" in response.text
    forged = admin_client.post("/account/tokens", data={"name": "forged"})
    assert forged.status_code == 400 and "CSRF" in forged.text
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0


def test_token_works_until_revoked_and_its_use_is_shown(app, admin_client):
    _, token = create_on_page(admin_client)
    api = bearer_client(app, token)
    response = api.get("/api/v1/templates")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert "never" not in admin_client.get("/account/tokens").text.split("<tbody>")[1]
    row = db.session.scalar(db.select(ApiToken))
    revoke = admin_client.post(
        f"/account/tokens/{row.id}/revoke",
        data={"csrf_token": csrf_token(admin_client, "/account/tokens")},
    )
    assert revoke.status_code == 302
    assert "revoked" in admin_client.get("/account/tokens").text
    refused = api.get("/api/v1/templates")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert refused.get_json()["error"] == {
        "code": "unauthorized",
        "message": "The API token is unknown or has been revoked.",
        "details": {},
    }


def test_nobody_revokes_someone_elses_token(admin_client, marketer_client, marketer_token):
    row = db.session.scalar(db.select(ApiToken))
    response = admin_client.post(
        f"/account/tokens/{row.id}/revoke",
        data={"csrf_token": csrf_token(admin_client, "/account/tokens")},
    )
    assert response.status_code == 404
    db.session.refresh(row)
    assert row.revoked_at is None


def test_unknown_or_malformed_tokens_get_401_json(app, demo):
    for header in ("Bearer dsn_nope", "Bearer nonsense", "Bearer ", "Basic YTpi"):
        response = app.test_client().get("/api/v1/templates", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.get_json()["error"]["code"] == "unauthorized"
    page = bearer_client(app, "dsn_nope").get("/templates")
    assert page.status_code == 401 and page.get_json()["error"]["code"] == "unauthorized"


def test_bearer_posts_need_no_csrf_token_but_cookie_posts_do(admin_api, admin_client):
    assert admin_api.post("/api/v1/templates", json=NEW_TEMPLATE).status_code == 201
    cookie = admin_client.post("/api/v1/templates", json=NEW_TEMPLATE)
    assert cookie.status_code == 400 and cookie.get_json()["error"]["code"] == "csrf_failed"
    with_csrf = admin_client.post(
        "/api/v1/templates",
        json=NEW_TEMPLATE,
        headers={"X-CSRFToken": csrf_token(admin_client, "/templates")},
    )
    assert with_csrf.status_code == 201
    form = admin_client.post("/templates/new", data={"name": "Forged", "source": "<p>x</p>"})
    assert form.status_code == 400 and "CSRF" in form.text


def test_a_bad_token_never_skips_the_csrf_check(admin_client):
    admin_client.environ_base["HTTP_AUTHORIZATION"] = "Bearer dsn_nope"
    response = admin_client.post("/templates/new", data={"name": "Forged", "source": "<p>x</p>"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"


def test_csrf_exempt_endpoints_stay_exempt(client, demo):
    response = client.post("/u/not-a-token")
    assert response.status_code == 404 and "CSRF" not in response.text


def test_anonymous_api_posts_get_401_not_a_csrf_error(client, demo):
    response = client.post("/api/v1/templates", json=NEW_TEMPLATE)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_the_token_decides_whose_request_it_is(marketer_client, admin_token, marketer_token):
    body = {"id": "crm-1", "name": "Acme"}
    marketer_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_token}"
    assert marketer_client.put("/api/v1/records/organisation", json=body).status_code == 201
    marketer_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {marketer_token}"
    assert marketer_client.put("/api/v1/records/organisation", json=body).status_code == 403


def test_roles_apply_to_tokens(admin_api, marketer_api):
    body = {"id": "crm-7", "name": "Acme"}
    refused = marketer_api.put("/api/v1/records/organisation", json=body)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == {
        "code": "forbidden",
        "message": "This is for admin users only.",
        "details": {},
    }
    assert marketer_api.get("/api/v1/templates").status_code == 200
    assert admin_api.put("/api/v1/records/organisation", json=body).status_code == 201
    assert marketer_api.get("/users").status_code == 403


def test_a_token_name_is_one_to_a_hundred_characters(app, people):
    row, token = tokens.create_token(people.admin, "  " + "n" * tokens.NAME_LENGTH + " ")
    assert row.name == "n" * 100 and token.startswith("dsn_") and row.prefix == token[:12]
    for bad, why in (
        ("   ", "give the token a name"),
        (None, "give the token a name, e.g. the CRM or script that will use it"),
        ("n" * 101, "at most 100 characters"),
    ):
        try:
            tokens.create_token(people.admin, bad)
        except tokens.TokenInvalid as exc:
            assert why in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_a_token_names_its_user_until_revoked_or_the_user_is_disabled(app, people):
    row, token = tokens.create_token(people.admin, "crm")
    assert tokens.user_for_token(token) == people.admin
    used = row.last_used_at
    assert used is not None
    assert tokens.user_for_token(token) == people.admin and row.last_used_at == used
    row.last_used_at = utcnow() - timedelta(seconds=61)  # a use a minute ago is noted again
    db.session.commit()
    tokens.user_for_token(token)
    assert row.last_used_at > used
    for other in ("", token[4:], "dsn_" + "x" * 43, token + "x"):
        assert tokens.user_for_token(other) is None
    people.admin.disabled_at = utcnow()
    db.session.commit()
    assert tokens.user_for_token(token) is None
    people.admin.disabled_at = None
    revoked = tokens.revoke_token(people.admin, row.id).revoked_at
    assert tokens.revoke_token(people.admin, row.id).revoked_at == revoked  # once
    assert tokens.user_for_token(token) is None
    assert [t.id for t in tokens.list_tokens(people.admin)] == [row.id]


def test_only_a_bearer_authorization_carries_a_token(app):
    for header, expected in (
        ("Bearer dsn_abc", "dsn_abc"),
        ("bearer  dsn_abc ", "dsn_abc"),
        ("Basic dsn_abc", None),
        ("Bearer ", None),
        ("", None),
    ):
        with app.test_request_context(headers={"Authorization": header}):
            assert tokens.bearer_token(request) == expected, header


def test_a_use_is_noted_again_only_a_full_minute_after_the_last(app, people):
    row, token = tokens.create_token(people.admin, "crm")
    for ago, noted_again in ((59, False), (60, True)):
        earlier = utcnow() - timedelta(seconds=ago)
        row.last_used_at = earlier
        db.session.commit()
        assert tokens.user_for_token(token) == people.admin
        db.session.refresh(row)
        assert (row.last_used_at > earlier) is noted_again, ago


def test_a_token_is_refused_if_any_character_differs(app, people):
    _, token = tokens.create_token(people.admin, "crm")
    assert tokens.user_for_token(token) == people.admin
    for at in (0, 3, 4, len(token) // 2, len(token) - 1):
        changed = "A" if token[at] != "A" else "B"
        forged = token[:at] + changed + token[at + 1 :]
        assert tokens.user_for_token(forged) is None, at
    for forged in (token.upper(), token[:-1], " " + token, token[:12], "dsn_", None, "dsn_\udcff"):
        assert tokens.user_for_token(forged) is None, forged
    _, another = tokens.create_token(people.admin, "other")
    assert another != token and tokens.user_for_token(another) == people.admin


def test_revoking_one_token_leaves_the_others_working(app, people):
    first, first_token = tokens.create_token(people.admin, "first")
    _, second_token = tokens.create_token(people.admin, "second")
    tokens.revoke_token(people.admin, first.id)
    assert tokens.user_for_token(first_token) is None
    assert tokens.user_for_token(second_token) == people.admin
    listed = tokens.list_tokens(people.admin)
    assert [row.name for row in listed] == ["second", "first"]  # newest first
    assert listed[1].revoked_at is not None and listed[0].revoked_at is None
    listed[0].created_at = listed[1].created_at  # made in the same instant: the later one first
    db.session.commit()
    assert [row.name for row in tokens.list_tokens(people.admin)] == ["second", "first"]


def test_nobody_revokes_or_lists_someone_elses_token(app, people, demo):
    from designer.records import User

    other = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    row, token = tokens.create_token(people.admin, "mine")
    for user, token_id in ((other, row.id), (people.admin, row.id + 1000)):
        try:
            tokens.revoke_token(user, token_id)
        except LookupError as exc:
            assert f"no token with id {token_id}" in str(exc)
        else:
            raise AssertionError(f"token {token_id} was revoked by {user.email}")
    assert tokens.user_for_token(token) == people.admin
    assert tokens.list_tokens(other) == []


def test_a_disabled_users_token_works_again_when_they_are_enabled(app, people):
    _, token = tokens.create_token(people.admin, "crm")
    people.admin.disabled_at = utcnow()
    db.session.commit()
    response = bearer_client(app, token).get("/api/v1/templates")
    assert response.status_code == 401
    people.admin.disabled_at = None
    db.session.commit()
    assert bearer_client(app, token).get("/api/v1/templates").status_code == 200
