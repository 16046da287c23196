"""Mailbox linking: a user's own mailbox (IMAP), where copies of what they send are kept.

A user links their mailbox once (My mailbox); ``check_mailbox`` logs in and
finds the Sent folder while they wait. Saving the settings again makes the
copies still waiting, and those that gave up, due at once
(``designer.mail.sentcopy``); removing the mailbox drops its copies.
"""

from flask_babel import gettext as _
from sqlalchemy import select

from designer.crypto import encrypt
from designer.extensions import db
from designer.mail import imap, oauth, oauth_providers, replies, sentcopy
from designer.mail.models import Mailbox

#: Seconds a connection test in a web request waits for the server.
CHECK_TIMEOUT = 15


def mailbox_for(user):
    """The user's Mailbox, or None."""
    if user is None or user.id is None:
        return None
    return db.session.scalar(select(Mailbox).where(Mailbox.user_id == user.id))


def link_mailbox(user, *, host, port, security, username, password, sent_folder=""):
    """Create or update ``user``'s mailbox; an empty ``password`` keeps the stored one.

    Raises ``ValueError`` (a sentence for the user) when a field is not right.
    Copies still waiting, and those that gave up, become due at once.
    """
    values = imap.validate_mailbox_fields(host, port, security, username, sent_folder)
    mailbox = mailbox_for(user)
    if mailbox is None:
        if not password:
            raise ValueError(_("Enter the password of the mailbox: it is needed to log in."))
        mailbox = Mailbox(user_id=user.id)
        db.session.add(mailbox)
    for name, value in values.items():
        setattr(mailbox, name, value)
    if password:  # a password typed replaces an OAuth2 sign-in
        mailbox.password_encrypted = encrypt(password)
        oauth.forget_grant(mailbox=mailbox)
    db.session.flush()
    sentcopy.make_due(mailbox)
    db.session.commit()
    return mailbox


def link_oauth_mailbox(user, provider_key, account, token):
    """Link ``user``'s mailbox to sign in with OAuth2: the provider's IMAP server, the
    account signed in as its login, the grant's tokens (no password). Commits."""
    provider = oauth_providers.provider(provider_key)
    mailbox = mailbox_for(user)
    values = imap.validate_mailbox_fields(
        provider["imap_host"],
        provider["imap_port"],
        provider["imap_security"],
        account,
        mailbox.sent_folder if mailbox is not None else "",
    )
    if mailbox is None:
        mailbox = Mailbox(user_id=user.id)
        db.session.add(mailbox)
    for name, value in values.items():
        setattr(mailbox, name, value)
    mailbox.password_encrypted = ""
    db.session.flush()
    oauth.save_grant(token, provider=provider_key, account=account, mailbox=mailbox)
    sentcopy.make_due(mailbox)
    db.session.commit()
    return mailbox


def unlink_mailbox(user):
    """Forget ``user``'s mailbox and its copies (waiting ones are dropped); False if none."""
    mailbox = mailbox_for(user)
    if mailbox is None:
        return False
    sentcopy.forget_copies(mailbox)
    replies.forget_mailbox(mailbox)
    oauth.forget_grant(mailbox=mailbox)
    db.session.delete(mailbox)
    db.session.commit()
    return True


def check_mailbox(mailbox):
    """Log in and find the Sent folder: a sentence for the user, or ``MailboxError``."""
    conn = imap.connect(mailbox, timeout=CHECK_TIMEOUT)
    try:
        folder = imap.find_sent_folder(conn, mailbox.sent_folder)
        exists = imap.folder_exists(conn, folder)
    finally:
        imap.close(conn)
    if exists:
        return _("Connected; copies go to the folder “%(folder)s”.", folder=folder)
    return _(
        "Connected; copies go to the folder “%(folder)s”, created with the first copy.",
        folder=folder,
    )
