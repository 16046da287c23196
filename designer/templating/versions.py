"""Saving templates: every save validates, compiles and adds an immutable version.

Nothing is written when validation fails; callers get ``TemplateInvalid``
with the line at fault.
"""

import difflib
import re
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.extensions import db
from designer.templating import text_parts
from designer.templating.compiler import (
    TEXT_LATER,
    TemplateInvalid,
    check_syntax,
    compile_source,
    normalise_newlines,
)
from designer.templating.models import SOURCE_TYPES, Template, TemplateVersion
from designer.templating.purpose import checked_purpose

SUFFIX_TYPES = {".mjml": "mjml", ".html": "html", ".htm": "html"}
#: Longest template source accepted, in characters (pages, API and imports alike).
MAX_SOURCE_CHARS = 2_000_000


def create_template(
    name,
    source,
    *,
    source_type="mjml",
    subject="",
    module="contact",
    language="en",
    kind="email",
    user=None,
    purpose="marketing",
):
    """Create a template with its first version; raise ``TemplateInvalid`` on bad input.

    ``purpose`` says whether its mail is marketing or transactional
    (``designer.templating.purpose``)."""
    checked_purpose(purpose)
    if source_type not in SOURCE_TYPES:
        raise TemplateInvalid(_("unknown source type %(type)s", type=repr(source_type)))
    if not (name or "").strip():
        raise TemplateInvalid(_("the template needs a name"))
    template = Template(
        name=name.strip(),
        kind=kind,
        source_type=source_type,
        module=module,
        language=language,
        purpose=purpose,
    )
    version = _build_version(template, 1, source, subject, "", user)
    db.session.add_all([template, version])
    db.session.commit()
    text_parts.queue_pending(version)
    return template


def duplicate_template(template, user=None):
    """A new template whose first version is ``template``'s current one: "Copy of …", with
    the same kind, format, module, language, purpose, tracking, attached PDFs, page set-up
    and labels. Its language variants and its history stay with the original."""
    current = template.current
    copy = Template(
        name=f"Copy of {template.name}"[:200],
        kind=template.kind,
        source_type=template.source_type,
        module=template.module,
        language=template.language,
        description=template.description,
        tracking=template.tracking,
        purpose=template.purpose,
        attach_pdf_ids=list(template.attach_pdf_ids or []),
        page_setup=dict(template.page_setup or {}),
        labels=dict(template.labels or {}),
    )
    version = _build_version(
        copy,
        1,
        current.source,
        current.subject,
        current.preheader,
        user,
        current.text_override,
    )
    db.session.add_all([copy, version])
    db.session.commit()
    text_parts.queue_pending(version)
    return copy


def add_version(template, source, *, subject=None, preheader=None, text_override=None, user=None):
    """Save a new version of ``template``; the earlier ones stay as they were.

    ``None`` keeps the current version's subject, preheader and text override.
    """
    current = template.current
    subject = _keep(subject, current.subject if current else "")
    preheader = _keep(preheader, current.preheader if current else "")
    text_override = _keep(text_override, current.text_override if current else "")
    number = (current.number if current else 0) + 1
    version = _build_version(template, number, source, subject, preheader, user, text_override)
    template.updated_at = utcnow()
    db.session.add(version)
    db.session.commit()
    text_parts.queue_pending(version)
    return version


def one_off_version(version, *, subject, source, user=None, attempts=3):
    """A version with one message's own ``subject`` and ``source``, edited from ``version``.

    The template is not changed: a one-off is never its current version and not in its
    history (``Template.versions`` leaves it out); its number is below zero. Raises
    ``TemplateInvalid`` as a save would. The body edited, the text part is derived from it
    (a hand-written one belongs to the template's text)."""
    template = version.template
    source = normalise_newlines(source)
    keeps_text = source == version.source
    for attempt in range(attempts):
        lowest = db.session.scalar(
            db.select(db.func.min(TemplateVersion.number)).where(
                TemplateVersion.template_id == template.id
            )
        )
        one_off = _build_version(
            template,
            min(lowest or 0, 0) - 1,
            source,
            subject,
            version.preheader,
            user,
            version.text_override if keeps_text else "",
            one_off_of=version,
        )
        db.session.add(one_off)
        try:
            db.session.commit()
        except IntegrityError:  # another one-off took the number meanwhile
            db.session.rollback()
            if attempt == attempts - 1:
                raise
            continue
        text_parts.queue_pending(one_off)
        return one_off


def _keep(value, current):
    return current if value is None else value


def _build_version(
    template, number, source, subject, preheader, user, text_override="", one_off_of=None
):
    source = normalise_newlines(source)
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateInvalid(
            _(
                "the template is %(length)s characters long; at most %(max)s are accepted: "
                "put large images in the image library rather than in the source",
                length=f"{len(source):,}",
                max=f"{MAX_SOURCE_CHARS:,}",
            )
        )
    text_override = normalise_newlines(text_override).strip()
    compiled = compile_source(template.source_type, source, template.kind, TEXT_LATER)
    check_syntax(subject, "subject")
    check_syntax(preheader, "preheader")
    check_syntax(text_override, "plain-text part")
    # A one-off names its template by id only: it must not join the template's versions.
    owner = {"template": template} if one_off_of is None else {"template_id": template.id}
    return TemplateVersion(
        **owner,
        one_off_of=one_off_of,
        number=number,
        source=source,
        subject=subject,
        preheader=preheader,
        compiled_html=compiled.html,
        text_template=compiled.text or "",
        text_pending=compiled.text is None,
        text_override=text_override + "\n" if text_override else "",
        links=list(compiled.links),
        created_by_id=user.id if user else None,
    )


def lint(template, source, subject="", preheader=""):
    """Merge fields the template's module does not have, with suggestions, and vtiger
    tokens that would print as they are (warnings)."""
    from designer.templating.catalogue import unknown_fields
    from designer.templating.vtiger import unconverted_in

    text = "\n".join([source, subject or "", preheader or ""])
    return unknown_fields(template.module, text) + unconverted_in(text)


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
    return create_template(
        name or path.stem.replace("-", " ").replace("_", " ").title(),
        source,
        source_type=source_type,
        subject=subject,
        user=user,
    )


def _subject_of(source):
    """Take the subject from ``<mj-title>`` or ``<title>`` when the source has one."""
    found = re.search(r"<(mj-title|title)>(.*?)</\1>", source, re.DOTALL | re.IGNORECASE)
    return found.group(2).strip() if found else ""


def restore_version(template, number, user=None):
    """Save an old version's content as the newest version."""
    old = get_version(template, number)
    return add_version(
        template,
        old.source,
        subject=old.subject,
        preheader=old.preheader,
        text_override=old.text_override,
        user=user,
    )


def get_version(template, number):
    """Version ``number`` of ``template``; ``LookupError`` when it has none by that number."""
    for version in template.versions:
        if version.number == number:
            return version
    raise LookupError(f"template {template.id} has no version {number}")


def diff_versions(template, a, b):
    """Line diff of two versions' sources (subject first) as ``(kind, text)`` rows."""
    old, new = get_version(template, a), get_version(template, b)
    before = [f"Subject: {old.subject}", *old.source.splitlines()]
    after = [f"Subject: {new.subject}", *new.source.splitlines()]
    rows = []
    for line in difflib.unified_diff(before, after, f"version {a}", f"version {b}", lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        kind = {"@": "hunk", "+": "add", "-": "del"}.get(line[:1], "ctx")
        rows.append((kind, line))
    return rows


def create_variant(template, language, user=None):
    """A language variant of ``template``, starting as a copy of its current version."""
    language = (language or "").strip().lower()
    if not language:
        raise TemplateInvalid(_("a variant needs a language"))
    main = template.variant_of or template
    if language == main.language or any(v.language == language for v in main.variants):
        raise TemplateInvalid(
            _("%(name)s already has a %(language)s version", name=main.name, language=language)
        )
    current = main.current
    variant = create_template(
        f"{main.name} ({language})",
        current.source,
        source_type=main.source_type,
        subject=current.subject,
        module=main.module,
        language=language,
        kind=main.kind,
        user=user,
    )
    variant.variant_of = main
    db.session.commit()
    return variant


def version_for(template, language):
    """The current version of the variant in ``language``, else of the main template."""
    main = template.variant_of or template
    for variant in main.variants:
        if language and variant.language == language and variant.current is not None:
            return variant.current
    return main.current
