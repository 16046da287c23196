"""``designer user …`` as a real process: exit codes, one-line errors, passwords from stdin."""

from account_steps import LINK, STRONG, logged_in, post_form, try_login

TWICE = f"{STRONG}\n{STRONG}\n"


def one_line_error(result, text):
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and text in result.stderr, result.stderr


def test_add_asks_for_the_password_twice(app, demo, designer_cli, user_named):
    result = designer_cli(
        "user", "add", "Nina@Example.com", "--name", "Nina Nieuw", "--role", "admin", input=TWICE
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "nina@example.com added (admin)"
    nina = user_named("nina@example.com")
    assert nina.is_admin and not nina.demo_password and nina.password_hash.startswith("scrypt:")
    assert try_login(app.test_client(), "nina@example.com", STRONG).status_code == 302


def test_add_with_link_prints_a_one_time_link(app, demo, designer_cli, user_named):
    result = designer_cli("user", "add", "nina@example.com", "--name", "Nina", "--link")
    assert result.returncode == 0, result.stderr
    link = LINK.fullmatch(result.stdout.strip()).group(0)
    assert not user_named("nina@example.com").has_password
    path = link.removeprefix("http://designer.test")
    browser = app.test_client()
    assert (
        post_form(
            browser, path, {"password": STRONG, "confirmation": STRONG}, page=path
        ).status_code
        == 302
    )
    assert logged_in(browser)


def test_add_refusals_are_one_line_with_exit_2(demo, designer_cli, user_named):
    one_line_error(
        designer_cli("user", "add", "admin@example.com", "--name", "A", input=TWICE),
        "already an account for admin@example.com",
    )
    one_line_error(
        designer_cli("user", "add", "nina@example.com", "--name", "Nina", input="short\nshort\n"),
        "use at least 12 characters",
    )
    one_line_error(
        designer_cli(
            "user", "add", "nina@example.com", "--name", "Nina", input=f"{STRONG}\nsomething else\n"
        ),
        "not the same",
    )
    one_line_error(
        designer_cli(
            "user", "add", "nina@example.com", "--name", "Nina", "--role", "owner", input=TWICE
        ),
        "'owner' is not one of",
    )
    one_line_error(designer_cli("user", "add", "nina@example.com", input=TWICE), "--name")
    assert user_named("nina@example.com") is None


def test_passwd_changes_the_password_and_ends_sessions(
    app, demo, designer_cli, browser, user_named
):
    session = browser("marketer@example.com")
    result = designer_cli("user", "passwd", "marketer@example.com", input=TWICE)
    assert result.returncode == 0, result.stderr
    assert not logged_in(session)
    assert not user_named("marketer@example.com").demo_password
    assert try_login(app.test_client(), "marketer@example.com", STRONG).status_code == 302
    one_line_error(
        designer_cli(
            "user", "passwd", "marketer@example.com", input="password1234\npassword1234\n"
        ),
        "most common passwords",
    )
    one_line_error(
        designer_cli("user", "passwd", "nobody@example.com", input=TWICE),
        "no user nobody@example.com",
    )


def test_list_disable_and_enable(app, demo, designer_cli, browser, user_named):
    listing = designer_cli("user", "list")
    assert listing.returncode == 0, listing.stderr
    assert "admin@example.com\tAda Admin\tadmin\tactive, demo password" in listing.stdout
    session = browser("marketer@example.com")
    assert designer_cli("user", "disable", "marketer@example.com").returncode == 0
    assert not logged_in(session)
    assert (
        "marketer@example.com\tMark Marketer\tmarketer\tdisabled"
        in designer_cli("user", "list").stdout
    )
    assert try_login(app.test_client(), "marketer@example.com", "demo").status_code == 403
    assert designer_cli("user", "enable", "marketer@example.com").returncode == 0
    assert try_login(app.test_client(), "marketer@example.com", "demo").status_code == 302
    one_line_error(
        designer_cli("user", "disable", "admin@example.com"), "last active administrator"
    )
    one_line_error(designer_cli("user", "enable", "nobody@example.com"), "no user")
    assert user_named("admin@example.com").is_active
