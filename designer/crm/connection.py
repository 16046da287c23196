"""The saved vtiger connection: tested before it is saved, its access key encrypted.

``client()`` gives a logged-in ``VtigerClient`` for it (or ``NotConnected``);
``test_connection`` logs in with given values and says, in words, what
vtiger answered or why it could not.
"""

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _

from designer.clock import utcnow
from designer.crm.client import VtigerClient, VtigerError
from designer.crm.models import CrmConnection, CrmSyncState
from designer.crypto import SecretUnreadable, decrypt, encrypt
from designer.extensions import db
from designer.i18n import _l

#: vtiger modules read in, in the order a pass reads them (what records refer to first).
SYNC_MODULES = ("Accounts", "Contacts", "Products", "Quotes", "Invoice")
#: What each failure kind means for the person who typed the settings.
ADVICE = {
    "credentials": _l("Wrong user name or access key (the key is under My Preferences in vtiger)"),
    "not_vtiger": _l(
        "This address answers, but not as vtiger does: give the address vtiger "
        "opens at, e.g. https://crm.example.com"
    ),
    "unreachable": _l("vtiger cannot be reached"),
    "denied": _l("The vtiger user may not do this"),
    "failed": _l("vtiger refused"),
}
MAX_URL = 500
MAX_USER = 100
MAX_KEY = 64


class NotConnected(Exception):
    """No vtiger connection is saved, or its access key cannot be read."""


class ConnectionRefused(ValueError):
    """The connection settings do not work; ``str()`` says why, in words."""


@dataclass(frozen=True)
class Tested:
    """What a working connection answered."""

    version: str
    user_id: str
    is_admin: bool
    modules: list


def explain(exc):
    """A sentence for a person about a ``VtigerError``."""
    return f"{ADVICE.get(exc.kind, ADVICE['failed'])}: {exc}"


def get_connection():
    return db.session.scalar(db.select(CrmConnection).order_by(CrmConnection.id).limit(1))


def client(timeout=None):
    """A logged-in client for the saved connection; ``NotConnected`` or ``VtigerError``."""
    connection = get_connection()
    if connection is None:
        raise NotConnected(
            _(
                "no vtiger connection is set up: Settings → CRM connection, "
                "or `designer crm connect`"
            )
        )
    try:
        key = decrypt(connection.access_key_encrypted)
    except SecretUnreadable as exc:
        raise NotConnected(str(exc)) from None
    options = {"timeout": timeout} if timeout else {}
    made = VtigerClient(connection.url, connection.user_name, key, **options)
    try:
        made.login()
    except VtigerError:
        made.close()
        raise
    return made


def check_values(url, user_name, access_key):
    """The values stripped; ``ConnectionRefused`` naming what is malformed."""
    url, user_name, access_key = (str(v or "").strip() for v in (url, user_name, access_key))
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionRefused(_("The vtiger URL must start with https:// or http://"))
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConnectionRefused(_("The vtiger URL is its address only (no login, ? or # part)"))
    if not user_name or len(user_name) > MAX_USER:
        raise ConnectionRefused(_("The vtiger user name is required"))
    if not access_key or len(access_key) > MAX_KEY or not access_key.isalnum():
        raise ConnectionRefused(
            _("The access key is the 16 letters and digits under My Preferences in vtiger")
        )
    return url.rstrip("/"), user_name, access_key


def test_connection(url, user_name, access_key):
    """Log in and list the modules; ``Tested`` or ``ConnectionRefused`` with the reason."""
    url, user_name, access_key = check_values(url, user_name, access_key)
    with VtigerClient(url, user_name, access_key, timeout=20) as probe:
        try:
            answer = probe.login()
            modules = sorted(probe.listtypes())
        except VtigerError as exc:
            raise ConnectionRefused(explain(exc)) from None
    return Tested(
        version=probe.version or "unknown",
        user_id=probe.user_id or "",
        is_admin=str(answer.get("is_admin", "")).lower() in ("on", "1", "true"),
        modules=modules,
    )


def save_connection(url, user_name, access_key="", start="import"):
    """Test, then save the connection; ``(connection, Tested)``.

    An empty ``access_key`` keeps the saved one. ``start`` says where reading
    begins for a new vtiger: ``"import"`` (every record: the first import),
    ``"now"`` (only what changes from now on) or a Unix time. Another vtiger
    (URL or user) starts its sync over; the same one keeps where it was.
    """
    saved = get_connection()
    if not str(access_key or "").strip() and saved is not None:
        try:
            access_key = decrypt(saved.access_key_encrypted)
        except SecretUnreadable as exc:
            raise ConnectionRefused(str(exc)) from None
    tested = test_connection(url, user_name, access_key)
    url, user_name, access_key = check_values(url, user_name, access_key)
    other = saved is None or (saved.url, saved.user_name) != (url, user_name)
    connection = saved or CrmConnection(url=url, user_name=user_name)
    connection.url, connection.user_name = url, user_name
    connection.access_key_encrypted = encrypt(access_key)
    connection.vtiger_version, connection.is_admin = tested.version, tested.is_admin
    connection.modules, connection.last_error = tested.modules, ""
    connection.updated_at = utcnow()
    db.session.add(connection)
    if other:
        restart_sync(start)
    db.session.commit()
    return connection, tested


def restart_sync(start="import"):
    """Forget every module's sync state; reading starts again at ``start`` (not committed)."""
    db.session.execute(db.delete(CrmSyncState))
    since = parse_start(start)
    for module in SYNC_MODULES:
        db.session.add(
            CrmSyncState(
                module=module,
                token=since,
                importing=start != "now",
                finished_at=utcnow() if start == "now" else None,
            )
        )


def parse_start(start):
    """``"import"`` → 0, ``"now"`` → the time now, else a Unix time; ``ValueError`` if bad."""
    if start == "import":
        return 0
    if start == "now":
        return int(time.time())
    value = int(start)
    if value < 0 or value > time.time() + 86400:
        raise ValueError("the start time must be a Unix time in the past")
    return value


def sync_states():
    """Each module's ``CrmSyncState``, in reading order (made when missing)."""
    states = {s.module: s for s in db.session.scalars(db.select(CrmSyncState))}
    for module in SYNC_MODULES:
        if module not in states:
            states[module] = CrmSyncState(module=module)
            db.session.add(states[module])
    return [states[module] for module in SYNC_MODULES]
