"""Templates and their immutable versions.

A template is a name, a kind (e-mail or PDF), a source type (MJML or HTML),
the module whose records it merges and a default language. Every save adds a
``TemplateVersion`` holding the source and what was compiled from it once:
the HTML body and the text part, both still Jinja templates merged per
recipient.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from designer.clock import utcnow
from designer.extensions import db

SOURCE_TYPES = ("mjml", "html")
KINDS = ("email", "pdf")
#: What an e-mail template's mail is for (``designer.templating.purpose``).
PURPOSES = ("marketing", "transactional")


class Template(db.Model):
    """A named e-mail or PDF template; its content lives in its versions."""

    __tablename__ = "templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="email")
    source_type: Mapped[str] = mapped_column(String(10), default="mjml")
    module: Mapped[str] = mapped_column(String(30), default="contact")
    language: Mapped[str] = mapped_column(String(10), default="en")
    description: Mapped[str] = mapped_column(Text, default="")
    #: The template this one is a language variant of (None for a main template).
    variant_of_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"), index=True)
    #: Insert the open pixel and rewrite links for click tracking.
    tracking: Mapped[bool] = mapped_column(default=True)
    #: "marketing" or "transactional" (a main template's; its variants follow it).
    purpose: Mapped[str] = mapped_column(String(15), default="marketing")
    #: E-mail templates: ids of the PDF templates rendered for the same record and attached.
    attach_pdf_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: PDF templates: size, orientation, margins (``designer.pdf.page_setup``); {} = the CSS's.
    page_setup: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Fixed wording per language, ``{"en": {"Qty": "Quantity"}}`` (``templating.labels``).
    labels: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Set on the product's own built-in templates (``designer.templating.system``),
    #: which no list shows and no one edits.
    system_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when archived (``designer.templating.archive``): kept with its versions for the
    #: messages that used it, but offered nowhere for new mail.
    archived_at: Mapped[datetime | None]

    #: The saved versions (one-off versions of single messages are not among them).
    versions: Mapped[list["TemplateVersion"]] = relationship(
        back_populates="template",
        primaryjoin="and_(Template.id == TemplateVersion.template_id, "
        "TemplateVersion.one_off_of_id.is_(None))",
        order_by="TemplateVersion.number",
    )
    variant_of: Mapped["Template | None"] = relationship(
        remote_side="Template.id", back_populates="variants"
    )
    variants: Mapped[list["Template"]] = relationship(back_populates="variant_of")

    @property
    def current(self):
        return self.versions[-1] if self.versions else None


class TemplateVersion(db.Model):
    """One saved state of a template, never changed after it is written (but for a
    large one's text part, derived just after: ``text_parts``)."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"), index=True)
    number: Mapped[int]
    subject: Mapped[str] = mapped_column(String(500), default="")
    preheader: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(Text)
    compiled_html: Mapped[str] = mapped_column(Text)
    text_template: Mapped[str] = mapped_column(Text, default="")
    #: The text part of large HTML is derived just after saving (``text_parts``).
    text_pending: Mapped[bool] = mapped_column(default=False)
    #: A hand-written text part; when set, it replaces the one derived from the HTML.
    text_override: Mapped[str] = mapped_column(Text, default="")
    #: Tracked links of the compiled HTML, in order: [{"url": ..., "name": ...}] (versions
    #: saved before links were named have no "name": ``link_names``).
    links: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set on a one-off version (one message's own subject and body, written on the compose
    #: page): the version it was edited from. A one-off is never the template's current
    #: version and not in its history; its number is below zero.
    one_off_of_id: Mapped[int | None] = mapped_column(ForeignKey("template_versions.id"))

    template: Mapped[Template] = relationship(
        back_populates="versions", primaryjoin="Template.id == TemplateVersion.template_id"
    )
    one_off_of: Mapped["TemplateVersion | None"] = relationship(remote_side="TemplateVersion.id")

    @property
    def labels(self):
        """The template's label dictionary (labels are the template's, not a version's)."""
        template = self.template
        main = template.variant_of
        return template.labels or (main.labels if main is not None else None) or {}


class SavedBlock(db.Model):
    """A section saved from the visual builder, offered in the block manager of every template."""

    __tablename__ = "saved_blocks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: One ``<mj-section>`` or ``<mj-wrapper>`` element (see ``designer.templating.saved_blocks``).
    mjml: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
