"""OAuth2 providers of mail accounts: Google, Microsoft 365 and one generic provider.

Each provider is a preset (where its authorization and token endpoints are,
the scopes mail needs, its SMTP and IMAP hosts) plus what the administrator
enters once under Settings → OAuth2 sign-in: the client id and secret of the
app registered with that provider (the secret encrypted, ``designer.crypto``).
The generic provider has no preset: every field is the administrator's.
"""

import os

from flask_babel import gettext as _

from designer import settings
from designer.crypto import decrypt, encrypt

SETTINGS_KEY = "oauth_providers"

PRESETS = {
    "google": {
        "label": "Google",
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "scopes": "https://mail.google.com/",
        "smtp_host": "smtp.gmail.com",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "imap_host": "imap.gmail.com",
        "imap_port": 993,
        "imap_security": "tls",
        #: A refresh token comes only with offline access, and again only on consent.
        "extra": {"access_type": "offline", "prompt": "consent"},
    },
    "microsoft": {
        "label": "Microsoft 365",
        "authorize_url": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "token_url": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "scopes": (
            "https://outlook.office.com/SMTP.Send "
            "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
        ),
        "smtp_host": "smtp.office365.com",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "imap_host": "outlook.office365.com",
        "imap_port": 993,
        "imap_security": "tls",
        "extra": {"prompt": "select_account"},
    },
    "generic": {
        "label": "another provider",
        "authorize_url": "",
        "token_url": "",
        "scopes": "",
        "smtp_host": "",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "imap_host": "",
        "imap_port": 993,
        "imap_security": "tls",
        "extra": {},
    },
}
#: What the administrator may set for the generic provider (the presets take only the
#: client id, secret and, for Microsoft, the tenant).
GENERIC_FIELDS = (
    "authorize_url",
    "token_url",
    "scopes",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "imap_host",
    "imap_port",
    "imap_security",
)
SECURITY = ("tls", "starttls", "none")


def stored():
    return settings.get_setting(SETTINGS_KEY, {}) or {}


def provider(key):
    """The provider ``key`` with its settings merged in; ``KeyError`` for an unknown one."""
    preset = dict(PRESETS[key])
    own = stored().get(key, {})
    tenant = own.get("tenant") or "organizations"
    if key == "generic":
        preset.update({name: own[name] for name in GENERIC_FIELDS if name in own})
    else:
        for name in ("authorize_url", "token_url"):
            preset[name] = preset[name].format(tenant=tenant)
    preset.update(
        key=key,
        client_id=own.get("client_id", ""),
        client_secret=decrypt(own.get("client_secret_encrypted", "")),
        tenant=tenant,
    )
    return preset


def configured(key):
    """Whether people can connect accounts of provider ``key`` (its client id is set)."""
    found = provider(key)
    return bool(found["client_id"] and found["authorize_url"] and found["token_url"])


def available():
    """The keys of the providers set up, in the order the buttons show."""
    return [key for key in PRESETS if configured(key)]


def save_provider(key, values):
    """Store the administrator's settings of provider ``key``; an empty secret keeps the
    stored one. Raises ``ValueError`` (a sentence for the user)."""
    if key not in PRESETS:
        raise ValueError(_("There is no OAuth2 provider “%(key)s”.", key=key))
    all_stored = stored()
    before = all_stored.get(key, {})
    client_id = (values.get("client_id") or "").strip()
    secret = (values.get("client_secret") or "").strip()
    own = {
        "client_id": client_id,
        "client_secret_encrypted": encrypt(secret)
        if secret
        else before.get("client_secret_encrypted", ""),
    }
    if key == "microsoft":
        own["tenant"] = (values.get("tenant") or "").strip() or "organizations"
    if key == "generic":
        own.update(_generic(values))
    if client_id and not own["client_secret_encrypted"]:
        raise ValueError(_("Enter the client secret the provider gave for this app."))
    all_stored[key] = own
    settings.set_setting(SETTINGS_KEY, all_stored)


def _insecure_allowed(url):
    """Plain HTTP only where Authlib itself allows it (``AUTHLIB_INSECURE_TRANSPORT``:
    a test provider on loopback)."""
    return url.startswith("http://") and bool(os.environ.get("AUTHLIB_INSECURE_TRANSPORT"))


def _generic(values):
    found = {}
    for name, message in (
        ("authorize_url", _("The authorize url must start with https://.")),
        ("token_url", _("The token url must start with https://.")),
    ):
        url = (values.get(name) or "").strip()
        if url and not url.startswith("https://") and not _insecure_allowed(url):
            raise ValueError(message)
        found[name] = url
    found["scopes"] = " ".join((values.get("scopes") or "").split())
    for kind in ("smtp", "imap"):
        found[f"{kind}_host"] = (values.get(f"{kind}_host") or "").strip()
        security = values.get(f"{kind}_security") or "tls"
        if security not in SECURITY:
            raise ValueError(
                _("Security must be tls, starttls or none, not “%(security)s”.", security=security)
            )
        found[f"{kind}_security"] = security
        try:
            port = int(str(values.get(f"{kind}_port") or PRESETS["generic"][f"{kind}_port"]))
        except ValueError:
            port = 0
        if not 1 <= port <= 65535:
            raise ValueError(
                _("The %(kind)s port must be a number from 1 to 65535.", kind=kind.upper())
            )
        found[f"{kind}_port"] = port
    return found
