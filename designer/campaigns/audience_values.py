"""What a marketer types as a filter value, read as the data holds it; and the values the
audience builder offers to pick from.

Languages are stored as codes (``nl``) and countries as English names
(``Netherlands``); owners and campaigns by id. A filter may name each as a marketer
would — "Dutch", "NL" or "Nederlands"; "NL" or "Nederland"; an owner's name or e-mail
address; a campaign's name — and ``choices`` lists what the data holds, by name.
"""

import functools

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func

from designer.extensions import db
from designer.records.models import Contact, Organisation, User

LANGUAGE_FIELDS = ("contact.language", "organisation.language")
COUNTRY_FIELDS = ("organisation.country",)
USER_FIELDS = ("organisation.owner_id",)
CAMPAIGN_FIELDS = ("opened_campaign", "not_opened_campaign", "received_campaign")
#: The languages whose names are understood, besides English.
NAME_LOCALES = ("en", "nl", "de", "fr", "es")
#: The most values offered for one field.
MAX_CHOICES = 200


class ValueInvalid(ValueError):
    """A value that names nothing (no such owner or campaign)."""


@functools.cache
def _languages():
    """``{lower-case name or code: code}`` of the two-letter languages."""
    names = {}
    for locale in NAME_LOCALES:
        for code, name in Locale(locale).languages.items():
            if len(code) == 2:
                names.setdefault(name.lower(), code)
                names.setdefault(code, code)
    for code in list(names.values()):
        own = Locale.parse(code).get_display_name(code) if _known(code) else None
        if own:
            names.setdefault(own.lower(), code)
    return names


def _known(code):
    try:
        Locale.parse(code)
    except (ValueError, LookupError, UnknownLocaleError):
        return False
    return True


@functools.cache
def _countries():
    """``{lower-case name or two-letter code: English name}``."""
    english = Locale("en").territories
    names = {}
    for locale in NAME_LOCALES:
        for code, name in Locale(locale).territories.items():
            if len(code) == 2 and code.isalpha() and code in english:
                names.setdefault(name.lower(), english[code])
                names.setdefault(code.lower(), english[code])
    return names


def language_code(value):
    text = str(value or "").strip()
    return _languages().get(text.lower(), text)


def language_name(code):
    """The language ``code`` by its name in the page's language (English outside a page)."""
    names = Locale.parse(str(get_locale() or "en")).languages
    return names.get(code) or Locale("en").languages.get(code, code)


def country_name(value):
    text = str(value or "").strip()
    return _countries().get(text.lower(), text)


def user_id(field, value):
    text = str(value or "").strip().lower()
    found = db.session.scalar(
        db.select(User.id).where((func.lower(User.email) == text) | (func.lower(User.name) == text))
    )
    if found is None:
        raise ValueInvalid(
            _(
                "%(field)s: no user with the name or e-mail address %(value)s",
                field=field,
                value=repr(value),
            )
        )
    return found


def campaign_id(field, value):
    from designer.campaigns.models import Campaign

    text = str(value or "").strip()
    if text.isdigit() and len(text) <= 9:
        return int(text)
    found = db.session.scalar(
        db.select(Campaign.id).where(func.lower(Campaign.name) == text.lower()).limit(1)
    )
    if found is None:
        raise ValueInvalid(
            _("%(field)s: no campaign called %(value)s", field=field, value=repr(value))
        )
    return found


def _distinct(column):
    query = db.select(column).where(column.is_not(None), column != "").distinct()
    return sorted(db.session.scalars(query.limit(MAX_CHOICES)))


def choices():
    """``{field: [(value, label)]}``: what the builder offers for each field, from the data."""
    from designer.campaigns.models import Campaign

    languages = sorted(set(_distinct(Contact.language)) | set(_distinct(Organisation.language)))
    language_choices = [(code, f"{language_name(code)} ({code})") for code in languages]
    users = db.session.execute(db.select(User.id, User.name, User.email).order_by(User.name))
    campaigns = db.session.execute(
        db.select(Campaign.name).where(Campaign.state != "draft").order_by(Campaign.id.desc())
    )
    campaign_choices = [(name, name) for (name,) in campaigns.all()[:MAX_CHOICES]]
    return {
        "contact.language": language_choices,
        "organisation.language": language_choices,
        "organisation.country": [(c, c) for c in _distinct(Organisation.country)],
        "organisation.industry": [(i, i) for i in _distinct(Organisation.industry)],
        "organisation.city": [(c, c) for c in _distinct(Organisation.city)],
        "organisation.owner_id": [
            (name or email, f"{name} <{email}>") for _id, name, email in users.all()[:MAX_CHOICES]
        ],
        **{field: campaign_choices for field in CAMPAIGN_FIELDS},
    }
