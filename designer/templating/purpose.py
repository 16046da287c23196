"""What an e-mail template's mail is for: marketing or transactional.

Marketing mail (newsletters, invitations, offers) is held back for anyone on
the suppression list; transactional mail (invoices, reminders, password
links) is what a person needs because of something they did or owe, and is
held back only for an address that does not exist (a hard bounce).

A language variant follows its main template. The product's own templates
are transactional. PDF templates are not mail: they carry the column like
every template but nothing reads it; a PDF attached to a mail goes with that
mail's purpose.
"""

from flask_babel import gettext as _

from designer.clock import utcnow
from designer.extensions import db
from designer.templating.compiler import TemplateInvalid
from designer.templating.models import PURPOSES

MARKETING, TRANSACTIONAL = PURPOSES
#: What the editor and the list say about each purpose.
LABELS = {MARKETING: "Marketing", TRANSACTIONAL: "Transactional"}


def purpose_of(template):
    """The purpose of ``template``'s mail: its main template's, transactional for the
    product's own."""
    if template.system_key is not None:
        return TRANSACTIONAL
    main = template.variant_of or template
    return main.purpose if main.purpose in PURPOSES else MARKETING


def checked_purpose(value):
    """``value`` when it is a purpose, else ``TemplateInvalid`` saying which there are."""
    if value not in PURPOSES:
        raise TemplateInvalid(
            _(
                "a template is for marketing or transactional mail, not %(value)s",
                value=repr(str(value)[:40]),
            )
        )
    return value


def set_purpose(template, purpose):
    """Make ``template`` (its main template, for a variant) marketing or transactional."""
    main = template.variant_of or template
    main.purpose = checked_purpose(purpose)
    main.updated_at = utcnow()
    db.session.commit()
    return main
