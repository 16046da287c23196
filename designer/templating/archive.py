"""Archiving templates: out of the library and every picker, but kept with all their versions.

Messages keep pointing at the versions they were sent from, so a template that mail used
is archived rather than deleted, and its history stays readable. What still needs the
template (a scheduled or running campaign, a switched-on workflow) is found by the parts
that own those and handed in as ``uses``: while there is any, it cannot be archived.
"""

from flask_babel import gettext as _

from designer.clock import utcnow
from designer.extensions import db


class TemplateInUse(Exception):
    """The template cannot be archived: ``uses`` (words such as "campaign “Spring”") need it."""

    def __init__(self, template, uses):
        self.template = template
        self.uses = list(uses)
        super().__init__(
            _(
                "“%(name)s” is still used by %(uses)s; finish, cancel or switch those off "
                "(or choose another template there) first",
                name=template.name,
                uses=", ".join(self.uses),
            )
        )


def family_ids(template):
    """The ids of the main template and its language variants (they are archived together)."""
    main = template.variant_of or template
    return [main.id, *(variant.id for variant in main.variants)]


def archive_template(template, uses=()):
    """Archive ``template`` (its main template and language variants with it); raise
    ``TemplateInUse`` while ``uses`` names anything that still needs it."""
    if uses:
        raise TemplateInUse(template, uses)
    main = template.variant_of or template
    now = utcnow()
    for member in (main, *main.variants):
        member.archived_at = member.archived_at or now
    db.session.commit()
    return main


def restore_template(template):
    """Bring ``template`` (and its language variants) back into the library and the pickers."""
    main = template.variant_of or template
    for member in (main, *main.variants):
        member.archived_at = None
    db.session.commit()
    return main
