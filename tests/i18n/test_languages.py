"""The interface speaks the user's language: the account page's choice, else the
browser's, else English; dates come in the user's time zone, numbers and dates as
their language writes them."""

from datetime import date, datetime

import pytest
from flask_babel import refresh
from flask_login import login_user
from support import csrf_token

from designer.extensions import db
from designer.i18n import number, select_locale, when
from designer.records.models import User

DUTCH = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}


def _user(email="marketer@example.com"):
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


def _save(client, **form):
    token = csrf_token(client, "/account")
    return client.post("/account/language", data={"csrf_token": token, **form}, headers=DUTCH)


def test_the_login_page_follows_the_browser(client):
    assert '<html lang="en">' in client.get("/login").text
    assert '<html lang="nl">' in client.get("/login", headers=DUTCH).text
    german = client.get("/login", headers={"Accept-Language": "de-CH, fr;q=0.5"})
    assert '<html lang="de">' in german.text
    other = client.get("/login", headers={"Accept-Language": "fr-FR, ja"})
    assert '<html lang="en">' in other.text


def test_a_signed_in_page_follows_the_browser_until_a_language_is_chosen(marketer_client):
    page = marketer_client.get("/account", headers=DUTCH).text
    assert '<html lang="nl">' in page
    assert "Taal en tijdzone" in page
    assert "Language and time zone" not in page


def test_the_chosen_language_wins_over_the_browser(marketer_client):
    saved = _save(marketer_client, ui_language="de", timezone="Europe/Berlin")
    assert saved.status_code == 302
    page = marketer_client.get("/account", headers=DUTCH).text
    assert '<html lang="de">' in page
    assert "Sprache und Zeitzone" in page
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page
    assert "<option selected>Europe/Berlin</option>" in page
    user = _user()
    assert (user.ui_language, user.timezone) == ("de", "Europe/Berlin")

    _save(marketer_client, ui_language="", timezone="Europe/Berlin")
    assert _user().ui_language is None
    assert '<html lang="nl">' in marketer_client.get("/account", headers=DUTCH).text


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"ui_language": "fr", "timezone": "UTC"}, "ui-language", "Kies een van de talen"),
        ({"ui_language": "nl", "timezone": "Mars/Olympus"}, "timezone", "Kies een tijdzone"),
        ({"ui_language": "nl" * 3000, "timezone": "\x00" * 10}, "ui-language", "Kies een"),
    ],
)
def test_a_wrong_choice_is_refused_next_to_its_field(marketer_client, form, field, words):
    before = (_user().ui_language, _user().timezone)
    refused = _save(marketer_client, **form)
    assert refused.status_code == 400
    assert f'id="{field}-error">{words}' in refused.text
    db.session.expire_all()
    assert (_user().ui_language, _user().timezone) == before


def test_numbers_follow_the_language(app):
    for header, money, whole in (
        ("en", "1,234.50", "1,234,567"),
        ("nl", "1.234,50", "1.234.567"),
        ("de", "1.234,50", "1.234.567"),
    ):
        with app.test_request_context(headers={"Accept-Language": header}):
            refresh()
            assert select_locale() == header
            assert number(1234.5, 2) == money
            assert number(1234567) == whole
            assert number(None) == ""


def test_dates_come_in_the_users_zone_and_language(app, demo):
    moment = datetime(2026, 12, 4, 3, 24, 5)  # naive UTC, as stored
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        assert when(moment) == "12/4/26, 3:24\u202fAM"
    user = _user()
    user.timezone, user.ui_language = "Europe/Amsterdam", "nl"
    db.session.commit()
    with app.test_request_context():
        login_user(user)
        refresh()
        assert when(moment) == "04-12-2026, 04:24"
        assert when(moment, "second") == "4 dec 2026, 04:24:05"
        assert when(date(2026, 12, 4), "date") == "4 dec 2026"
        assert when(None) == ""
    user.ui_language = "de"
    db.session.commit()
    with app.test_request_context():
        login_user(user)
        refresh()
        assert when(moment) == "04.12.26, 04:24"
