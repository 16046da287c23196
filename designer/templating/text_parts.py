"""Text parts of large templates, derived after the version is saved.

Deriving a text part from compiled HTML takes about 0.15 s per MB, so a
version whose compiled HTML is longer than ``compiler.TEXT_NOW_MAX`` is saved
without it (``text_pending``) and a job derives and stores it right after.
Until then whoever needs the text part derives it in memory (``text_of``):
no message ever goes out without one.
"""

from designer import broker
from designer.extensions import db
from designer.templating.compiler import text_part_of
from designer.templating.models import TemplateVersion


def queue_pending(version):
    """Queue the job that derives ``version``'s text part, when it is pending."""
    if version.text_pending:
        broker.enqueue(broker.EMAILS, broker.DERIVE_TEXT_PART, version.id)


def text_of(version):
    """The text-part template of ``version`` (a model or a plain copy of its fields)."""
    if getattr(version, "text_pending", False):
        return text_part_of(version.compiled_html)
    return version.text_template or ""


def derive_pending(version_id):
    """Derive and store the text part of version ``version_id`` if it is still pending."""
    version = db.session.get(TemplateVersion, version_id)
    if version is None or not version.text_pending:
        return False
    version.text_template = text_part_of(version.compiled_html)
    version.text_pending = False
    db.session.commit()
    return True
