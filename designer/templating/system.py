"""Built-in templates: the mail the product sends itself (e.g. set-password links).

A part defines one as a ``SystemTemplate`` (name, subject, MJML source, and a
``merge`` function for what only the product may put into the mail) and
registers it. Its ``Template`` row is created on first use, with tracking off,
and gets a new version whenever the source in the code changes. Such
templates carry a ``system_key``: no list shows them and ``get_template``
does not find them, so nobody edits them, sends them to other records or
attaches them; their mail goes through the ledger like any other.

Their messages carry ``SYSTEM_MAIL_HEADER``, by which the local outbox knows
to show them to administrators only.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from designer.extensions import db
from designer.templating.models import Template
from designer.templating.versions import _build_version, add_version

#: Names the built-in template a message was made from.
SYSTEM_MAIL_HEADER = "X-Designer-System-Mail"


@dataclass(frozen=True)
class SystemTemplate:
    """One built-in e-mail; ``merge(message)`` gives its extra merge values, ``text`` its
    plain-text part (derived from the HTML when empty)."""

    key: str
    name: str
    module: str
    subject: str
    source: str
    merge: Callable[[object], dict]
    text: str = ""


_registry = {}


def register(definition):
    """Make ``definition`` known (parts call this when they are imported)."""
    _registry[definition.key] = definition
    return definition


def current_version(key):
    """The version to send of built-in template ``key``, created or updated from the code."""
    definition = _registry[key]
    template = _find(key) or _create(definition)
    current = template.current
    stored = (current.source, current.subject, current.text_override.strip())
    if stored != (definition.source, definition.subject, definition.text.strip()):
        return add_version(
            template, definition.source, subject=definition.subject, text_override=definition.text
        )
    return current


def _find(key):
    return db.session.scalar(db.select(Template).where(Template.system_key == key))


def _create(definition):
    template = Template(
        name=definition.name,
        kind="email",
        source_type="mjml",
        module=definition.module,
        language="en",
        tracking=False,
        purpose="transactional",
        system_key=definition.key,
    )
    version = _build_version(
        template, 1, definition.source, definition.subject, "", None, definition.text
    )
    db.session.add_all([template, version])
    try:
        db.session.commit()
    except IntegrityError:  # created at the same moment by another request
        db.session.rollback()
        return _find(definition.key)
    return template


def is_system(template):
    return template is not None and template.system_key is not None


def merge_values(message):
    """What the built-in template of ``message`` adds to its merge data ({} for others)."""
    template = message.template_version.template
    if not is_system(template):
        return {}
    return _registry[template.system_key].merge(message)


def mail_headers(template):
    """Headers of mail from a built-in template: automatic mail (RFC 3834, so no
    auto-replies), and which built-in template it is. None for other templates."""
    if not is_system(template):
        return None
    return {"Auto-Submitted": "auto-generated", SYSTEM_MAIL_HEADER: template.system_key}
