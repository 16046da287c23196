"""PDF attachments of e-mail templates: which PDF templates go along with the mail.

An e-mail template can name PDF templates of its own module (an invoice
e-mail attaching the invoice PDF); each is rendered for the same record as
the mail, in the mail's locale, when the message is built.
"""

from flask_babel import gettext as _

from designer.extensions import db
from designer.templating.models import Template


class AttachmentInvalid(ValueError):
    """The chosen PDF template cannot be attached to this e-mail template (says why)."""


def attachable(template):
    """The PDF templates that may be attached to ``template``: same module."""
    return db.session.scalars(
        db.select(Template)
        .where(Template.kind == "pdf", Template.module == template.module)
        .where(Template.archived_at.is_(None))
        .order_by(Template.name)
    ).all()


def set_attachments(template, pdf_template_ids):
    """Attach these PDF templates (in this order) to the e-mail ``template``."""
    if template.kind != "email":
        raise AttachmentInvalid(_("only e-mail templates carry attachments"))
    ids = []
    for value in pdf_template_ids:
        pdf = db.session.get(Template, _int(value))
        if pdf is None or pdf.kind != "pdf":
            raise AttachmentInvalid(_("there is no PDF template with id %(id)s", id=value))
        if pdf.module != template.module:
            raise AttachmentInvalid(
                _(
                    "“%(name)s” is made for %(pdf_module)s records, this e-mail for "
                    "%(module)s records: both must be for the same record",
                    name=pdf.name,
                    pdf_module=pdf.module,
                    module=template.module,
                )
            )
        if pdf.id not in ids:
            ids.append(pdf.id)
    template.attach_pdf_ids = ids
    db.session.commit()
    return ids


def attached(template, extra_ids=()):
    """The PDF templates attached to ``template`` (then ``extra_ids``, chosen for one
    message by a workflow), in order, each once, deleted ones left out."""
    ids = list(dict.fromkeys([*(template.attach_pdf_ids or []), *(extra_ids or [])]))
    found = {
        t.id: t
        for t in db.session.scalars(
            db.select(Template).where(Template.id.in_(ids), Template.kind == "pdf")
        )
    }
    return [found[i] for i in ids if i in found]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AttachmentInvalid(_("“%(value)s” is not a template id", value=value)) from None
