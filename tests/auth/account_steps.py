"""Steps the account tests share: posting forms, logging in from a network, copying cookies."""

import re

from support import csrf_token

#: A password that meets the rules (and is no one's name or address).
STRONG = "lantern quietly orbits 1987"
LINK = re.compile(r"http://designer\.test/account/password/[A-Za-z0-9_.\-]+")


def post_form(client, path, data, page="/templates", **kwargs):
    """POST ``data`` with the CSRF token of ``client``'s session (taken from ``page``)."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)}, **kwargs)


def try_login(client, email, password, ip="127.0.0.1"):
    return post_form(
        client,
        "/login",
        {"email": email, "password": password},
        page="/login",
        environ_base={"REMOTE_ADDR": ip},
    )


def copy_cookie(app, client):
    """A new client carrying ``client``'s session cookie (someone who copied it)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def logged_in(client):
    """Whether ``client`` gets a page rather than the login redirect."""
    response = client.get("/templates")
    assert response.status_code in (200, 302)
    return response.status_code == 200
