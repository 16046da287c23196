"""Password rules, and changing your own password on the account page."""

import re
import statistics
import time

import pytest
from account_steps import STRONG, logged_in, post_form, try_login
from werkzeug.security import check_password_hash

from designer.auth.passwords import PasswordRefused, check_new_password, hash_password, verify

COMMON = "this is one of the most common passwords: choose another"
PERSONAL = "do not use your name or e-mail address in your password"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "use at least 12 characters (this one has 5)"),
        ("password1234", COMMON),
        ("Qwertyuiop12", COMMON),
        (
            "aaaaaaaaaaaaaaa",
            'this password is too easy to guess (repeats like "aaa" are easy to guess): '
            "add a few more uncommon words",
        ),
        ("ada.admin.2026!", PERSONAL),
        ("AdaAdmin-is-me", PERSONAL),
        ("x" * 257, "use at most 256 characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, message):
    with pytest.raises(PasswordRefused) as refused:
        check_new_password(password, email="ada.admin@example.com", name="Ada Admin")
    assert str(refused.value) == message


def test_with_no_name_or_address_given_no_identity_is_looked_for():
    check_new_password("tulip-xxxx-garden-93")
    check_new_password("tulip-xxxx-garden-93", email="", name="")


def test_the_address_is_a_word_zxcvbn_looks_for_even_when_its_local_part_is_short():
    """``x`` is too short for the name rule; zxcvbn still knows the whole address."""
    check_new_password("x@example.com2026!", email="someone.else@example.com")
    with pytest.raises(PasswordRefused, match="too easy to guess"):
        check_new_password("x@example.com2026!", email="x@example.com")


@pytest.mark.parametrize(
    "password", [STRONG, "correct horse battery staple", "Mijn fiets staat op de Dam!"]
)
def test_good_passwords_pass(password):
    check_new_password(password, email="ada.admin@example.com", name="Ada Admin")


def change(client, current, new, confirmation=None):
    return post_form(
        client,
        "/account/password",
        {
            "current": current,
            "password": new,
            "confirmation": new if confirmation is None else confirmation,
        },
        page="/account",
    )


def test_the_account_page_is_linked_from_every_page(admin_client):
    assert 'href="/account"' in admin_client.get("/templates").text
    page = admin_client.get("/account")
    assert page.status_code == 200 and "Change your password" in page.text


@pytest.mark.parametrize(
    ("current", "new", "confirmation", "field_message"),
    [
        ("wrong", STRONG, None, "your current password is not right"),
        ("demo", "tiny", None, "use at least 12 characters"),
        ("demo", "password1234", None, "one of the most common passwords"),
        ("demo", STRONG, STRONG + "!", "the two new passwords are not the same"),
    ],
)
def test_a_change_needs_the_current_password_and_a_good_new_one(
    admin_client, user_named, current, new, confirmation, field_message
):
    response = change(admin_client, current, new, confirmation)
    assert response.status_code == 400
    [shown] = re.findall(
        r'class="help field-error" role="alert" id="[a-z]+-error">([^<]+)<', response.text
    )
    assert shown.startswith("Not changed: ") and field_message in shown
    assert check_password_hash(user_named("admin@example.com").password_hash, "demo")


def test_a_change_ends_the_other_sessions_and_keeps_this_one(
    app, admin_client, browser, user_named
):
    elsewhere = browser("admin@example.com")
    response = change(admin_client, "demo", STRONG)
    assert response.status_code == 302
    assert logged_in(admin_client) and not logged_in(elsewhere)
    admin = user_named("admin@example.com")
    assert not admin.demo_password and admin.password_hash.startswith("scrypt:")
    assert try_login(app.test_client(), "admin@example.com", "demo").status_code == 401
    assert try_login(app.test_client(), "admin@example.com", STRONG).status_code == 302


def test_wrong_current_passwords_count_towards_the_lock_out(admin_client):
    for _ in range(4):
        assert change(admin_client, "guess", STRONG).status_code == 400
    locked = change(admin_client, "guess", STRONG)
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    assert change(admin_client, "demo", STRONG).status_code == 429


def test_the_demo_password_works_only_from_this_machine(app, demo, designer_cli):
    for ip in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert try_login(app.test_client(), "admin@example.com", "demo", ip).status_code == 302
    refused = try_login(app.test_client(), "admin@example.com", "demo", "192.0.2.7")
    assert refused.status_code == 403 and "designer user passwd EMAIL" in refused.text
    assert "They use the password" not in refused.text
    assert "They use the password" in app.test_client().get("/login").text
    designer_cli("user", "passwd", "admin@example.com", input=f"{STRONG}\n{STRONG}\n")
    assert try_login(app.test_client(), "admin@example.com", STRONG, "192.0.2.7").status_code == 302


LONG_START = "zebra-lamp-99 "


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("kT9#vq2Lm!x", False),  # 11 characters, however random
        ("Summer2024!!", True),  # 12, good enough for zxcvbn
        ((LONG_START * 6)[:72], True),
        ((LONG_START * 6)[:73], True),  # past what zxcvbn scores: the start decides
        ((LONG_START * 19)[:256], True),
        ((LONG_START * 19)[:257], False),
    ],
)
def test_length_is_twelve_to_two_hundred_fifty_six_characters(password, accepted):
    if accepted:
        check_new_password(password, email="x@example.com", name="")
    else:
        with pytest.raises(PasswordRefused, match=r"use at (least 12|most 256) characters"):
            check_new_password(password, email="x@example.com", name="")


def test_a_long_passphrase_is_accepted_on_the_account_page(admin_client, user_named):
    passphrase = (LONG_START * 8)[:100]
    assert change(admin_client, "demo", passphrase).status_code == 302
    assert check_password_hash(user_named("admin@example.com").password_hash, passphrase)


@pytest.mark.parametrize(
    ("password", "email", "name", "refused"),
    [
        ("tulip-bob-garden-7", "bob@example.com", "", True),  # a 3-letter local part counts
        ("tulip-bo-garden-7", "bo@example.com", "", False),  # a 2-letter one does not
        ("tulip-anna-garden", "a.li@example.com", "Anna Li", True),  # a 4-letter name part
        ("tulip-ann-garden-7", "x@example.com", "Ann Vos", False),  # a 3-letter one does not
        ("tulip-annvos-dam-7", "x@example.com", "Ann Vos", True),  # the whole name
        ("TULIP-ANNA-GARDEN", "x@example.com", "Anna Li", True),  # in any case
        ("example-tulip-garden", "jo@example.com", "", False),  # the domain is not personal
        ("tulip-smith-garden-7", "ann.smith@example.com", "", True),  # a part of the address
        # A quoted local part may hold an @: the domain follows the last one.
        ("tulip-bohome-garden-7", '"bo@home"@example.com', "", True),
        ("tulip-home-garden-77", '"bo@home"@example.com', "", True),
        ("tulip-bo-garden-77", '"bo@home"@example.com', "", False),
        ("tulip-boab-garden-7", '"bo@ab"@example.com', "", True),  # its parts are short
    ],
)
def test_the_name_and_address_rule_and_its_bounds(password, email, name, refused):
    if refused:
        with pytest.raises(PasswordRefused, match="your name or e-mail address"):
            check_new_password(password, email=email, name=name)
    else:
        check_new_password(password, email=email, name=name)


def test_too_easy_to_guess_tells_zxcvbns_warning_when_there_is_one():
    with pytest.raises(PasswordRefused) as refused:
        check_new_password("sunflowerdog", email="x@example.com")
    assert str(refused.value) == (
        "this password is too easy to guess (this is similar to a commonly used password): "
        "add a few more uncommon words"
    )
    with pytest.raises(PasswordRefused) as refused:
        check_new_password("horsebattery", email="x@example.com")
    assert str(refused.value) == "this password is too easy to guess: add a few more uncommon words"


def test_verify_accepts_only_the_right_password(app, people):
    admin = people.admin  # password "secret"
    assert verify(admin, "secret") is True
    for wrong in ("Secret", "secret ", "secre", "", "secret" * 50):
        assert verify(admin, wrong) is False, wrong
    assert verify(None, "secret") is False
    admin.password_hash = ""  # invited, no password chosen yet
    assert verify(admin, "") is False and verify(admin, "secret") is False
    admin.password_hash = hash_password("lantern quietly orbits 1987")
    assert admin.password_hash.startswith("scrypt:")
    assert verify(admin, "lantern quietly orbits 1987") is True


def test_an_unknown_address_costs_as_long_as_a_wrong_password(app, people):
    """The time of an answer tells nothing about which e-mail addresses have an account."""

    def seconds(user):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            verify(user, "a wrong guess")
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = seconds(people.admin), seconds(None)
    assert unknown > known / 4, (known, unknown)
