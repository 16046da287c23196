"""The interface's languages, dates and numbers: English, Dutch and German.

Flask-Babel picks each request's language: the signed-in user's choice on the account
page, else the best match of the browser's ``Accept-Language``, else English. Dates
on pages are shown in the user's time zone (the account page's, UTC before login)
and written the way their language writes them, as are numbers.

The catalogues are gettext files in ``designer/translations`` (``messages.pot``
extracted from the code by ``pybabel extract -F babel.cfg``, one ``messages.po`` per
language); ``make`` compiles them to ``.mo`` files at install. Mail the product sends
is not translated here: templates carry their own language.
"""

from datetime import date, datetime
from pathlib import Path

from flask import has_request_context, request
from flask_babel import Babel, format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

#: The interface's languages, each named in its own language (as the account page lists them).
LANGUAGES = {"en": "English", "nl": "Nederlands", "de": "Deutsch"}
DEFAULT = "en"
TRANSLATIONS = Path(__file__).parent / "translations"
#: Date and time formats of the pages, by their name in templates (``x | when``).
WHEN_FORMATS = {"minute": "short", "second": "medium", "date": "medium"}

babel = Babel()


def N_(message):
    """Mark ``message`` for the catalogue where it is defined; ``_()`` translates it where
    it is shown (the API and stored values keep the English)."""
    return message


#: The record modules in a sentence ("no invoice records"), and their plurals ("3 invoices").
MODULE_NOUNS = {
    "contact": _l("contact"),
    "organisation": _l("organisation"),
    "user": _l("user"),
    "product": _l("product"),
    "quote": _l("quote"),
    "invoice": _l("invoice"),
}
MODULE_PLURALS = {
    "contact": _l("contacts"),
    "organisation": _l("organisations"),
    "user": _l("users"),
    "product": _l("products"),
    "quote": _l("quotes"),
    "invoice": _l("invoices"),
}


def _user():
    if not has_request_context():
        return None
    user = current_user
    return user if getattr(user, "is_authenticated", False) else None


def select_locale():
    """The user's chosen interface language, else the browser's best match, else English."""
    user = _user()
    chosen = getattr(user, "ui_language", None) if user else None
    if chosen in LANGUAGES:
        return chosen
    if not has_request_context():
        return DEFAULT
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT)


def select_timezone():
    """The signed-in user's time zone (their account's), else UTC."""
    user = _user()
    return (user.timezone or "UTC") if user else "UTC"


def when(value, kind="minute"):
    """``value`` (naive UTC, or a date) as the user reads it: their language and time zone.

    ``kind`` is ``minute`` (date and time), ``second`` (with seconds) or ``date``.
    """
    if value is None:
        return ""
    if isinstance(value, datetime) and kind != "date":
        return format_datetime(value, WHEN_FORMATS[kind])
    if isinstance(value, datetime):
        return format_date(value.date(), WHEN_FORMATS[kind])
    if isinstance(value, date):
        return format_date(value, WHEN_FORMATS[kind])
    return str(value)


def number(value, digits=None):
    """``value`` grouped and with the decimal sign of the user's language (``1.234,5`` in nl).

    ``digits`` fixes the number of decimals (``2`` for money).
    """
    if value is None:
        return ""
    if digits is None:
        return format_decimal(value)
    return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")


def ui_language():
    """The language code of the current page (``<html lang>``)."""
    return str(get_locale() or DEFAULT)


def init_app(app):
    babel.init_app(
        app,
        default_locale=DEFAULT,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=select_locale,
        timezone_selector=select_timezone,
    )
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["number"] = number
    app.context_processor(lambda: {"ui_language": ui_language, "ui_languages": LANGUAGES})
    # The page scripts' texts (templates/_ui_strings.html): imported here, it imports _l.
    from designer.js_strings import ui_strings

    app.context_processor(lambda: {"ui_strings": ui_strings})


__all__ = ["LANGUAGES", "MODULE_NOUNS", "MODULE_PLURALS", "N_", "_l", "init_app", "number", "when"]
