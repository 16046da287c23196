"""Saved blocks: sections a user saved from the visual builder, offered in every template.

A saved block is one top-level ``<mj-section>`` or ``<mj-wrapper>`` the
builder can edit (see ``designer.templating.blocks``) that compiles as MJML
with valid Jinja; the builder shows it under "Saved blocks" and drops it as
that section.
"""

from designer.extensions import db
from designer.templating.blocks import BlocksUnavailable, builder_markup, split_blocks
from designer.templating.compiler import TemplateInvalid, compile_source
from designer.templating.models import SavedBlock

#: Longest name, in characters (the column's size).
MAX_NAME = 100
#: Largest saved section, in characters of MJML.
MAX_MJML = 64_000
SAVABLE_TAGS = ("mj-section", "mj-wrapper")


class BlockInvalid(ValueError):
    """The block cannot be saved; ``field`` is ``name`` or ``mjml``."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def list_blocks():
    """Every saved block, oldest first."""
    return db.session.scalars(db.select(SavedBlock).order_by(SavedBlock.id)).all()


def create_block(name, mjml, user=None):
    """Save ``mjml`` (one section) as a block called ``name``; raise ``BlockInvalid``."""
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise BlockInvalid("name", "give the block a name")
    if len(name) > MAX_NAME:
        raise BlockInvalid("name", f"the name is longer than {MAX_NAME} characters")
    mjml = check_section(mjml)
    block = SavedBlock(name=name, mjml=mjml, created_by_id=user.id if user else None)
    db.session.add(block)
    db.session.commit()
    return block


def delete_block(block_id):
    """Delete a saved block; False when there is none with that id."""
    block = db.session.get(SavedBlock, block_id)
    if block is None:
        return False
    db.session.delete(block)
    db.session.commit()
    return True


def check_section(mjml):
    """``mjml`` stripped, when it is one section the builder can edit and that compiles."""
    if not isinstance(mjml, str) or not mjml.strip():
        raise BlockInvalid("mjml", "send the section's MJML")
    if len(mjml) > MAX_MJML:
        raise BlockInvalid("mjml", f"the section is larger than {MAX_MJML:,} characters")
    mjml = mjml.strip()
    document = f"<mjml><mj-body>{mjml}</mj-body></mjml>"
    try:
        pieces = [b for b in split_blocks(document)[1:-1] if b.kind != "space"]
    except BlocksUnavailable as exc:
        raise BlockInvalid("mjml", f"not a section: {exc}") from None
    if len(pieces) != 1 or pieces[0].tag not in SAVABLE_TAGS:
        raise BlockInvalid("mjml", "save exactly one <mj-section> or <mj-wrapper>")
    if not pieces[0].editable:
        raise BlockInvalid("mjml", f"the builder cannot edit this section: {pieces[0].reason}")
    try:
        compile_source("mjml", document)
    except TemplateInvalid as exc:
        raise BlockInvalid("mjml", f"the section does not compile: {exc.message}") from None
    return mjml


def block_json(block):
    """What the builder needs: the MJML and the markup its block manager drops."""
    return {
        "id": block.id,
        "name": block.name,
        "mjml": block.mjml,
        "markup": builder_markup(block.mjml),
    }
