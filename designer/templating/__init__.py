"""Templates: versions, compilation (MJML / HTML), the sandbox and merging.

Other parts call these functions; none of them reads the template tables.
"""

from designer.extensions import db
from designer.templating.archive import TemplateInUse, archive_template, restore_template
from designer.templating.compiler import TemplateInvalid, compile_source
from designer.templating.models import Template, TemplateVersion
from designer.templating.purpose import purpose_of, set_purpose
from designer.templating.render import (
    RenderedEmail,
    build_context,
    choose_locale,
    render_email,
)
from designer.templating.sandbox import MergeError
from designer.templating.versions import (
    add_version,
    create_template,
    create_variant,
    diff_versions,
    duplicate_template,
    get_version,
    import_file,
    lint,
    one_off_version,
    restore_version,
    version_for,
)

__all__ = [
    "MergeError",
    "RenderedEmail",
    "Template",
    "TemplateInUse",
    "TemplateInvalid",
    "TemplateNotFound",
    "TemplateVersion",
    "add_version",
    "archive_template",
    "build_context",
    "choose_locale",
    "compile_source",
    "create_template",
    "create_variant",
    "diff_versions",
    "duplicate_template",
    "get_template",
    "get_version",
    "import_file",
    "lint",
    "list_templates",
    "one_off_version",
    "purpose_of",
    "render_email",
    "restore_template",
    "restore_version",
    "set_purpose",
    "template_languages",
    "version_for",
]


class TemplateNotFound(LookupError):
    """No template with that id."""


def get_template(template_id):
    """Return the template or raise ``TemplateNotFound`` (also for the built-in ones of
    ``designer.templating.system``, which nobody opens, edits or sends by id)."""
    template = db.session.get(Template, template_id)
    if template is None or template.system_key is not None:
        raise TemplateNotFound(f"no template with id {template_id}")
    return template


def template_languages():
    """The languages main templates are written in, for the list's filter."""
    query = (
        db.select(Template.language)
        .where(Template.variant_of_id.is_(None), Template.system_key.is_(None))
        .distinct()
    )
    return sorted(db.session.scalars(query))


def list_templates(kind=None, module=None, language=None, search=None, archived=False):
    """All main templates (language variants hang off them), most recently changed first;
    only those of ``kind``, ``module`` and ``language`` when given, and whose name contains
    ``search`` (any case). Archived ones are left out, or (``archived``) the only ones."""
    query = db.select(Template).where(
        Template.variant_of_id.is_(None),
        Template.system_key.is_(None),
        Template.archived_at.is_not(None) if archived else Template.archived_at.is_(None),
    )
    query = query.order_by(Template.updated_at.desc(), Template.id.desc())
    if kind:
        query = query.where(Template.kind == kind)
    if module:
        query = query.where(Template.module == module)
    if language:
        query = query.where(Template.language == language)
    if search:
        query = query.where(db.func.lower(Template.name).contains(search.lower(), autoescape=True))
    return db.session.scalars(query).all()
