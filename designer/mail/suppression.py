"""The suppression list and one-click unsubscribe (RFC 8058).

No marketing mail goes to an address on the list, and no mail at all to one
that bounced hard: which mail the list holds back, when and why is
``designer.mail.consent``'s.

Campaign mail carries ``List-Unsubscribe`` (an https URL and a mailto) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. The POST endpoint,
the visible link and the mailto's subject use a per-recipient token signed
with the app's secret: ``<message token>.<signature>``. Mail to the mailto
address is read from the bounce mailbox (``designer.mail.unsubscribe_mail``).
"""

import hashlib
import hmac
import re

from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from designer import signing, webhooks
from designer.clock import utcnow
from designer.extensions import db
from designer.mail import suppression_audit
from designer.mail.models import Suppression


def unsubscribe_token(message_token):
    signature = hashlib.blake2b(
        message_token.encode(), key=signing.unsubscribe_key(), digest_size=10
    ).hexdigest()
    return f"{message_token}.{signature}"


#: ``<message token>.<signature>``, each in its own ASCII alphabet.
UNSUBSCRIBE_TOKEN = re.compile(r"([A-Za-z0-9_-]{1,64})\.([0-9a-f]{20})")


def parse_unsubscribe_token(token):
    """The message token inside a valid unsubscribe token, else None."""
    # not mutated: no other text in place of "" is a token either
    found = UNSUBSCRIBE_TOKEN.fullmatch(token or "")  # pragma: no mutate
    if found is None:
        return None
    message_token, signature = found.groups()
    # not mutated: a message token has no ".", so partition would split in the same place
    expected = unsubscribe_token(message_token).rpartition(".")[2]  # pragma: no mutate
    return message_token if hmac.compare_digest(expected, signature) else None


def unsubscribe_url(message_token):
    return f"{current_app.config['PUBLIC_URL']}/u/{unsubscribe_token(message_token)}"


def one_click_warning(public_url):
    """A sentence when ``public_url`` cannot carry RFC 8058 one-click unsubscribe, else "".

    RFC 8058 requires the ``List-Unsubscribe`` URL to be https; receivers such
    as Gmail and Yahoo ignore one-click over plain http.
    """
    # not mutated: no text in place of "" starts with https:// either
    if (public_url or "").lower().startswith("https://"):  # pragma: no mutate
        return ""
    return gettext(
        "PUBLIC_URL is %(url)s: one-click unsubscribe (RFC 8058) needs an https "
        "address, so mail programs will not offer it. Serve Designer over https and set "
        "PUBLIC_URL to that address.",
        url=public_url,
    )


def unsubscribe_address(from_address):
    """The address of unsubscribe requests by mail: ``unsubscribe@`` the From's domain."""
    return f"unsubscribe@{from_address.rpartition('@')[2] or 'designer.local'}"


def unsubscribe_headers(message_token, from_address):
    """The List-Unsubscribe headers of one campaign message."""
    token = unsubscribe_token(message_token)
    mailto = f"mailto:{unsubscribe_address(from_address)}?subject=unsubscribe%20{token}"
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(message_token)}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def suppress(email, reason="unsubscribed", campaign_id=None, actor=None):
    """Put an address on the suppression list (once); return True if it was added.
    ``actor`` names who asked in the audit list (else it is told by the reason)."""
    email = (email or "").strip().lower()
    if not email:
        return False
    db.session.add(Suppression(email=email, reason=reason, campaign_id=campaign_id))
    suppression_audit.log_automatic(email, reason, campaign_id, actor)  # kept only if added
    try:
        if reason == "unsubscribed" and webhooks.subscribers("contact.unsubscribed"):
            data = {"email": email, "campaign_id": campaign_id, "at": utcnow().isoformat()}
            webhooks.emit("contact.unsubscribed", data)  # dropped with the row if already there
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def is_suppressed(email):
    # not mutated: no address is "" nor any other text put in its place
    email = (email or "").strip().lower()  # pragma: no mutate
    found = db.session.scalar(db.select(Suppression.id).where(Suppression.email == email))
    return found is not None


def suppressed_set():
    """Every address on the list (lower-cased)."""
    return set(db.session.scalars(db.select(Suppression.email)))


def suppressed_among(emails):
    """The (lower-cased) addresses of ``emails`` on the suppression list."""
    wanted = {email.strip().lower() for email in emails if email}
    if not wanted:
        return set()
    query = db.select(Suppression.email).where(Suppression.email.in_(wanted))
    return set(db.session.scalars(query))


def suppressions_from(campaign_id):
    """How many addresses were suppressed because of mail of ``campaign_id``."""
    # not mutated: count(None) is count(*), the same as counting the ids
    counted = db.func.count(Suppression.id)  # pragma: no mutate
    return db.session.scalar(db.select(counted).where(Suppression.campaign_id == campaign_id))
