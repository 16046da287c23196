"""Saving templates: every save validates, compiles and adds an immutable version.

Nothing is written when validation fails; callers get ``TemplateInvalid``
with the line at fault.
"""

import re
from pathlib import Path

from designer.clock import utcnow
from designer.extensions import db
from designer.templating.compiler import (
    TemplateInvalid,
    check_syntax,
    compile_source,
    normalise_newlines,
)
from designer.templating.models import SOURCE_TYPES, Template, TemplateVersion

SUFFIX_TYPES = {".mjml": "mjml", ".html": "html", ".htm": "html"}


def create_template(name, source, *, source_type="mjml", subject="", module="contact",
                    language="en", kind="email", user=None):
    """Create a template with its first version; raise ``TemplateInvalid`` on bad input."""
    if source_type not in SOURCE_TYPES:
        raise TemplateInvalid(f"unknown source type {source_type!r}")
    if not (name or "").strip():
        raise TemplateInvalid("the template needs a name")
    template = Template(name=name.strip(), kind=kind, source_type=source_type,
                        module=module, language=language)
    version = _build_version(template, 1, source, subject, "", user)
    db.session.add_all([template, version])
    db.session.commit()
    return template


def add_version(template, source, *, subject=None, preheader=None, user=None):
    """Save a new version of ``template``; the earlier ones stay as they were."""
    current = template.current
    subject = current.subject if subject is None and current else (subject or "")
    preheader = current.preheader if preheader is None and current else (preheader or "")
    number = (current.number if current else 0) + 1
    version = _build_version(template, number, source, subject, preheader, user)
    template.updated_at = utcnow()
    db.session.add(version)
    db.session.commit()
    return version


def _build_version(template, number, source, subject, preheader, user):
    source = normalise_newlines(source)
    compiled = compile_source(template.source_type, source, template.kind)
    check_syntax(subject, "subject")
    check_syntax(preheader, "preheader")
    return TemplateVersion(
        template=template, number=number, source=source, subject=subject,
        preheader=preheader, compiled_html=compiled.html, text_template=compiled.text,
        created_by_id=user.id if user else None,
    )


def import_file(path, name=None, user=None):
    """Create a template from an ``.mjml`` or ``.html`` file."""
    path = Path(path)
    source_type = SUFFIX_TYPES.get(path.suffix.lower())
    if source_type is None:
        raise TemplateInvalid(f"cannot import {path.name}: expected a .mjml or .html file")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateInvalid(f"cannot read {path}: {exc}") from exc
    subject = _subject_of(source)
    return create_template(name or path.stem.replace("-", " ").replace("_", " ").title(),
                           source, source_type=source_type, subject=subject, user=user)


def _subject_of(source):
    """Take the subject from ``<mj-title>`` or ``<title>`` when the source has one."""
    found = re.search(r"<(mj-title|title)>(.*?)</\1>", source, re.DOTALL | re.IGNORECASE)
    return found.group(2).strip() if found else ""
