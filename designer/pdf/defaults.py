"""Which PDF template a record gets: an explicit choice, the default for its module and
language, else any PDF template of its module.

Defaults are an installation setting, ``pdf_defaults``: ``{"invoice:nl": 12,
"invoice": 7}``; a key without a language applies to every language.
"""

from designer.extensions import db
from designer.settings import get_setting, set_setting
from designer.templating import Template, TemplateNotFound, get_template

#: The settings key holding the default PDF template per module and language.
DEFAULTS_SETTING = "pdf_defaults"


def default_key(module, language=None):
    """``invoice:nl``, or ``invoice`` for every language."""
    return f"{module}:{language}" if language else module


def set_default_template(template, language=None):
    """Make ``template`` the default PDF of its module (for ``language``, else for all)."""
    if template.kind != "pdf":
        raise ValueError(f"{template.name} is not a PDF template")
    main = template.variant_of or template
    defaults = dict(get_setting(DEFAULTS_SETTING, {}) or {})
    defaults[default_key(main.module, language)] = main.id
    set_setting(DEFAULTS_SETTING, defaults)


def default_templates():
    """The ``pdf_defaults`` setting: ``{"invoice:nl": template_id, ...}``."""
    return dict(get_setting(DEFAULTS_SETTING, {}) or {})


def pdf_template_for(module, *, template_id=None, language=None):
    """The PDF template for a record of ``module``; ``TemplateNotFound`` when there is none.

    An explicit ``template_id`` must be a PDF template of that module.
    """
    if template_id is not None:
        template = get_template(template_id)
        if template.kind != "pdf" or (template.variant_of or template).module != module:
            raise TemplateNotFound(f"template {template_id} is not a PDF template for {module}")
        return template
    defaults = default_templates()
    for key in (default_key(module, language), default_key(module)):
        template = db.session.get(Template, defaults[key]) if key in defaults else None
        if template is not None and template.kind == "pdf" and template.module == module:
            return template
    query = (
        db.select(Template)
        .where(Template.kind == "pdf", Template.module == module, Template.variant_of_id.is_(None))
        .where(Template.archived_at.is_(None))
        .order_by(Template.id)
        .limit(1)
    )
    template = db.session.scalars(query).first()
    if template is None:
        raise TemplateNotFound(f"there is no PDF template for {module} records")
    return template
