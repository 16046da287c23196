"""The mail that carries a set-password link: an invitation or a password reset.

Both are built-in templates (``designer.templating.system``) sent through the
ledger like any other mail: one ``Message`` row, queued, sent by a worker,
retried on a 4xx. Tracking is off. The link is merged in only while a worker
sends the message (state ``sending``); anywhere else (the message page, a
re-render) the mail shows ``hidden_url()`` instead, and the message and its
copy in the local outbox are shown to administrators only. A message whose
link was used or replaced before it went out fails rather than carry a dead link.

The mail comes from the system (the central address, else the company's
e-mail) and, when neither is set, from the administrator who asked for it.
"""

from flask import current_app

from designer import mail
from designer.auth.links import create_link, url_for_link, usable
from designer.auth.models import PasswordLink
from designer.extensions import db
from designer.mail.sender import NoSystemAddress
from designer.records.models import User
from designer.templating import MergeError
from designer.templating.system import SystemTemplate, current_version, register

DEDUPE_PREFIX = "password-link:"
KEYS = {"invite": "account-invite", "reset": "password-reset"}

_FOOTER = """
        <mj-text font-size="13px" color="#555555">The link works once, until
          {{ link_expires }}. If the button does not work, copy this address into your
          browser: {{ set_password_url }}</mj-text>
        <mj-text font-size="13px" color="#555555">Not expecting this? You can ignore this
          e-mail: nothing changes until the link is used.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""

INVITE_SOURCE = (
    """<mjml>
  <mj-body background-color="#f4f5f7">
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column>
        <mj-text font-size="18px" font-weight="bold">Hello {{ user.name }},</mj-text>
        <mj-text>{{ requested_by }} created an account for you ({{ user.email }}) in
          Designer, where {{ company.name or "your company" }} designs its e-mail and PDF
          templates. Choose your password to start.</mj-text>
        <mj-button href="{{ set_password_url }}">Choose your password</mj-button>
"""
    + _FOOTER
)

INVITE_TEXT = """Hello {{ user.name }},

{{ requested_by }} created an account for you ({{ user.email }}) in Designer, where
{{ company.name or "your company" }} designs its e-mail and PDF templates.
Choose your password to start:

{{ set_password_url }}

The link works once, until {{ link_expires }}.

Not expecting this? You can ignore this e-mail: nothing changes until the
link is used.
"""

RESET_SOURCE = (
    """<mjml>
  <mj-body background-color="#f4f5f7">
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column>
        <mj-text font-size="18px" font-weight="bold">Hello {{ user.name }},</mj-text>
        <mj-text>{{ requested_by }} sent you this link to choose a new password for your
          Designer account ({{ user.email }}).</mj-text>
        <mj-button href="{{ set_password_url }}">Choose a new password</mj-button>
"""
    + _FOOTER
)

RESET_TEXT = """Hello {{ user.name }},

{{ requested_by }} sent you this link to choose a new password for your Designer
account ({{ user.email }}):

{{ set_password_url }}

The link works once, until {{ link_expires }}.

Not expecting this? You can ignore this e-mail: nothing changes until the
link is used.
"""


def _link_of(message):
    key = message.dedupe_key or ""
    if not key.startswith(DEDUPE_PREFIX):
        raise MergeError("this message carries no set-password link")
    return db.session.get(PasswordLink, int(key.removeprefix(DEDUPE_PREFIX)))


def hidden_url():
    """What the mail shows for the link anywhere but on its way to the recipient."""
    return f"{current_app.config['PUBLIC_URL']}/account/password/hidden"


def link_merge_values(message):
    """The merge values of a set-password mail (see the module's docstring)."""
    link = _link_of(message)
    if link is None:
        raise MergeError("the set-password link of this message no longer exists")
    sending = message.state == "sending"
    if sending and not usable(link):
        raise MergeError(
            "the set-password link was used, replaced or expired before the mail went out"
        )
    creator = db.session.get(User, link.created_by_id) if link.created_by_id else None
    return {
        "set_password_url": url_for_link(link) if sending else hidden_url(),
        "link_expires": f"{link.expires_at:%Y-%m-%d %H:%M} UTC",
        "requested_by": creator.name if creator else "An administrator",
    }


register(
    SystemTemplate(
        key=KEYS["invite"],
        name="Account invitation",
        module="user",
        subject="Your Designer account: choose a password",
        source=INVITE_SOURCE,
        text=INVITE_TEXT,
        merge=link_merge_values,
    )
)
register(
    SystemTemplate(
        key=KEYS["reset"],
        name="Password reset",
        module="user",
        subject="Choose a new password for Designer",
        source=RESET_SOURCE,
        text=RESET_TEXT,
        merge=link_merge_values,
    )
)


class MailUnsendable(ValueError):
    """No address to send the link from (the message says what to set)."""


def sending_user(requested_by):
    """None (the system) when it has an address, else the administrator asking."""
    try:
        mail.resolve_sender(None)
        return None
    except NoSystemAddress:
        if requested_by is None:
            raise MailUnsendable(
                "mail from the system needs a central address (Settings → "
                "Sending) or the company's e-mail (Settings → Company)"
            ) from None
        return requested_by


def prepare(purpose, requested_by=None):
    """The template version and the sender of a link mail; ``MailUnsendable`` when there
    is no address to send from. Call it before writing anything else: creating the
    built-in template on first use commits."""
    return current_version(KEYS[purpose]), sending_user(requested_by)


def send_link(user, purpose, requested_by=None, prepared=None):
    """Make a new link for ``user`` and queue the mail that carries it; return the message
    (the link, the user's pending changes and the message are committed together)."""
    version, sender = prepared or prepare(purpose, requested_by)
    link = create_link(user, purpose, requested_by)
    return mail.queue_message(
        version,
        module="user",
        record=user,
        sender_user=sender,
        dedupe_key=f"{DEDUPE_PREFIX}{link.id}",
    )
