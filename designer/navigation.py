"""The menus of the signed-in pages: the main menu, the user's own pages and the
settings section with its sub-navigation.

Each entry names the endpoint it links to and the endpoint prefixes (blueprints)
whose pages it stands for, so that exactly one entry is marked as the current page
(or, in the main menu, as the current section when a settings page is open).
"""

from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user

from designer.i18n import _l


@dataclass(frozen=True)
class Entry:
    """One menu link: its label, target endpoint, the pages it covers and who sees it."""

    label: str  # lazy: the page's language
    endpoint: str
    covers: tuple[str, ...]
    admin_only: bool = False

    def matches(self, endpoint):
        return endpoint == self.endpoint or endpoint.startswith(self.covers)


#: The administrator's settings, in the order of the settings sub-navigation.
SETTINGS = (
    Entry(_l("Company"), "settings.company", ("settings.company",), admin_only=True),
    Entry(_l("Tracking"), "settings.tracking", ("settings.tracking",), admin_only=True),
    Entry(_l("Sending"), "sending.index", ("sending.",), admin_only=True),
    Entry(_l("DKIM"), "dkim.index", ("dkim.",), admin_only=True),
    Entry(_l("Bounces"), "bounces.index", ("bounces.",), admin_only=True),
    Entry(_l("OAuth2 sign-in"), "oauth.providers_page", ("oauth.providers",), admin_only=True),
    Entry(_l("Topics"), "topics.index", ("topics.",), admin_only=True),
    Entry(_l("Users"), "users.list_page", ("users.",), admin_only=True),
    Entry(_l("CRM"), "crm.page", ("crm.", "crm_writeback."), admin_only=True),
    Entry(_l("Webhooks"), "webhooks.list_page", ("webhooks.",), admin_only=True),
    Entry(_l("Hook sources"), "hook_sources.index", ("hook_sources.",), admin_only=True),
)

MAIN = (
    Entry(
        _l("Templates"),
        "templating.list_page",
        ("templating.", "builder.", "attachments.", "labels.", "pdf."),
    ),
    Entry(_l("Campaigns"), "campaigns.list_page", ("campaigns.", "list_send.")),
    Entry(_l("Organisations"), "records.organisations", ("records.", "compose.")),
    Entry(_l("Files"), "files.page", ("files.",)),
    Entry(_l("PDF export"), "exports.new", ("exports.",)),
    Entry(_l("Outbox"), "mail.outbox", ("mail.",)),
    Entry(_l("Suppressions"), "suppressions.index", ("suppressions.",)),
    Entry(_l("Workflows"), "workflows.list_page", ("workflows.",), admin_only=True),
)

#: The signed-in user's own pages, next to their name.
PERSONAL = (
    Entry(_l("Account"), "account.page", ("account.",)),
    Entry(_l("My mailbox"), "mailbox.settings", ("mailbox.",)),
    Entry(_l("API tokens"), "tokens.page", ("tokens.", "apidocs.")),
)


@dataclass(frozen=True)
class Link:
    """An entry as a page shows it: where it leads and whether it is the current one."""

    label: str
    url: str
    current: bool


def _visible(entries):
    return [e for e in entries if not e.admin_only or current_user.is_admin]


def _links(entries, endpoint):
    return [Link(e.label, url_for(e.endpoint), e.matches(endpoint)) for e in _visible(entries)]


def in_settings(endpoint):
    """Whether ``endpoint`` is one of the settings pages the current user may open."""
    return any(e.matches(endpoint) for e in _visible(SETTINGS))


def menus():
    """The main, personal and settings menus for the current request."""
    endpoint = request.endpoint or ""
    settings = _links(SETTINGS, endpoint)
    main = _links(MAIN, endpoint)
    if settings:
        main.append(Link(_l("Settings"), settings[0].url, in_settings(endpoint)))
    return {
        "main": main,
        "personal": _links(PERSONAL, endpoint),
        "settings": settings if in_settings(endpoint) else [],
    }


#: The roles as pages name them (``role_label(user.role)``).
ROLE_LABELS = {"admin": _l("admin"), "marketer": _l("marketer")}


def role_label(role):
    """``role`` (as stored: ``admin``, ``marketer``) in the page's language."""
    return ROLE_LABELS.get(role, role)


def init_app(app):
    """Offer ``menus()`` and ``role_label()`` to the layout."""
    app.context_processor(lambda: {"menus": menus, "role_label": role_label})
