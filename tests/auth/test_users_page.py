"""The Users page: administrators only; roles, disabling and enabling, the last administrator."""

import pytest
from account_steps import logged_in, post_form, try_login
from support import bearer_client

from designer.templating import create_template

ADMIN_ROUTES = [
    ("get", "/users"),
    ("post", "/users"),
    ("post", "/users/{id}/role"),
    ("post", "/users/{id}/disable"),
    ("post", "/users/{id}/enable"),
    ("post", "/users/{id}/password-link"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_marketers_get_403_on_every_admin_route(marketer_client, user_named, method, path):
    path = path.format(id=user_named("admin@example.com").id)
    if method == "get":
        response = marketer_client.get(path)
    else:
        response = post_form(
            marketer_client, path, {"role": "marketer", "name": "X", "email": "x@example.com"}
        )
    assert response.status_code == 403
    admin = user_named("admin@example.com")
    assert admin.is_admin and admin.is_active


def test_the_users_page_lists_everyone_with_status(admin_client):
    page = admin_client.get("/users")
    assert page.status_code == 200 and 'aria-current="page">Users' in page.text
    assert "sabine.krueger@example.com" in page.text and "demo password" in page.text


def test_role_changes_apply_at_once(admin_client, browser, user_named):
    marketer = user_named("marketer@example.com")
    client = browser("marketer@example.com")
    assert client.get("/users").status_code == 403
    response = post_form(admin_client, f"/users/{marketer.id}/role", {"role": "admin"})
    assert response.status_code == 302
    assert user_named("marketer@example.com").is_admin
    assert client.get("/users").status_code == 200


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(admin_client, user_named):
    admin = user_named("admin@example.com")
    demote = post_form(admin_client, f"/users/{admin.id}/role", {"role": "marketer"})
    assert demote.status_code == 409 and "last active administrator" in demote.text
    itself = post_form(admin_client, f"/users/{admin.id}/disable", {})
    assert itself.status_code == 409 and "your own account" in itself.text
    marketer = user_named("marketer@example.com")
    post_form(admin_client, f"/users/{marketer.id}/role", {"role": "admin"})
    assert (
        post_form(admin_client, f"/users/{admin.id}/role", {"role": "marketer"}).status_code == 302
    )
    assert not user_named("admin@example.com").is_admin


def test_disabling_stops_login_sessions_and_tokens_and_keeps_the_history(
    app, admin_client, browser, marketer_token, user_named
):
    marketer = user_named("marketer@example.com")
    template = create_template("Mark's", "<p>Hi</p>", source_type="html", user=marketer)
    session = browser("marketer@example.com")
    api = bearer_client(app, marketer_token)
    assert logged_in(session) and api.get("/api/v1/templates").status_code == 200

    response = post_form(admin_client, f"/users/{marketer.id}/disable", {})
    assert response.status_code == 302
    assert not logged_in(session)
    assert api.get("/api/v1/templates").status_code == 401
    refused = try_login(app.test_client(), "marketer@example.com", "demo")
    assert refused.status_code == 403 and "disabled" in refused.text
    assert "disabled" in admin_client.get("/users").text
    assert admin_client.get(f"/templates/{template.id}").status_code == 200

    assert post_form(admin_client, f"/users/{marketer.id}/enable", {}).status_code == 302
    assert try_login(app.test_client(), "marketer@example.com", "demo").status_code == 302
    assert api.get("/api/v1/templates").status_code == 200
    assert not logged_in(session)  # sessions ended by disabling stay ended


def test_a_disabled_user_gets_no_reset_link(smtp_app, admin_client, user_named):
    marketer = user_named("marketer@example.com")
    post_form(admin_client, f"/users/{marketer.id}/disable", {})
    response = post_form(admin_client, f"/users/{marketer.id}/password-link", {})
    assert response.status_code == 409 and "enable the account first" in response.text
