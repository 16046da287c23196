"""View in browser: the message one recipient got, shown at ``/v/<token>``.

Every message carries ``{{ webview_url }}``: ``<PUBLIC_URL>/v/<message token>.<signature>``,
signed like the pixel (``designer.mail.links``) with a MAC of its own kind.

How "the very message" is reproduced: it is merged again from its ledger
row, not stored. The row pins everything the merge reads that can differ
between recipients or over time: the template version (versions are
immutable), the record, the sending user, the locale, and the moment
(``now`` is the time the message was sent, so a date printed from ``now``
is the date of the mail). The record, the sender's user record and the
company details are read as they are now. Storing each message's merge data
or HTML would keep a copy of every recipient's personal data in the ledger
for as long as the ledger lives (kilobytes a row, times every recipient of
every campaign), out of reach of a correction or an erasure in the CRM; the
re-merge shows a corrected name corrected, and a deleted record has no web
view at all (404). It is what the message page shows the marketer, too.

What the page shows, and why:

* no open pixel, and the links go straight to their targets rather than
  through ``/c/``: looking at the web view counts no open and no click (a
  person reading it has usually opened the mail already, and the counts
  stay those of the mail itself);
* the unsubscribe link and the preference page's work as in the mail
  (``{{ unsubscribe_url }}``, ``{{ preferences_url }}``);
* only sent mail has a web view; mail the product sends itself (a
  set-password link) never has one: its link is for the mailbox only.
"""

from flask import current_app

from designer.extensions import db
from designer.mail import suppression
from designer.mail.delivery import BatchContext, message_context
from designer.mail.links import signer_for
from designer.mail.models import Message
from designer.templating import render_email
from designer.templating.system import is_system


class NoWebView(LookupError):
    """The token names no message that has a web view."""


def webview_url(message_token):
    """Where the message with ``message_token`` can be seen in a browser."""
    return signer_for(current_app).webview_url(message_token)


def message_for(token):
    """The sent message a web view token names; raises ``NoWebView`` otherwise."""
    message_token = signer_for(current_app).parse_webview(token)
    if message_token is None:
        raise NoWebView("the link is not one of ours")
    message = db.session.scalar(db.select(Message).where(Message.token == message_token))
    if message is None or message.state != "sent":
        raise NoWebView("no sent message has this link")
    if is_system(message.template_version.template):
        raise NoWebView("mail of the product itself has no web view")
    return message


def render_webview(message):
    """The HTML of ``message`` as its recipient got it, untracked (see the module's text).

    Raises ``MergeError`` or ``RecordNotFound`` when it can no longer be merged.
    """
    context = BatchContext()
    data = message_context(message, context.sender(message.sender), context)
    data["now"] = message.sent_at or message.created_at
    data["unsubscribe_url"] = suppression.unsubscribe_url(message.token)
    data["webview_url"] = webview_url(message.token)
    data["preferences_url"] = signer_for(current_app).preferences_url(message.token)
    return render_email(message.template_version, data).html
