"""Previews: a template merged for a chosen record without sending anything.

The editor previews unsaved source too: it is compiled and validated exactly
as a save would, but nothing is stored. Preview HTML is served with a
Content-Security-Policy sandbox, so a template's script cannot act with the
marketer's session.
"""

from types import SimpleNamespace

from designer import isolation, settings
from designer.records import merge_data, recipient_of
from designer.records.merge import sender_data
from designer.templating.compiler import check_syntax, compile_source
from designer.templating.labels import labels_for
from designer.templating.render import (
    MERGE_TIMEOUT,
    build_context,
    choose_locale,
    plain_version,
    render_email,
)
from designer.templating.sandbox import MergeError

PREVIEW_CSP = (
    "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src * data:"
)


def _draft_version(source_type, kind, source, subject, text_part=True):
    """An unsaved version object for previewing edited source."""
    compiled = compile_source(source_type, source, kind, text_part)
    check_syntax(subject or "", "subject")
    return SimpleNamespace(
        id=None,
        compiled_html=compiled.html,
        text_template=compiled.text,
        subject=subject or "",
        preheader="",
        links=list(compiled.links),
        text_override="",
    )


def _merge(version, draft, data):
    """Compile the draft (``(source_type, kind, source, subject, text_part)``) when there
    is one, then merge: one piece of work, in one child process for a request."""
    if draft is not None:
        version = _draft_version(*draft)
    return render_email(version, data)


def preview_html(template, record, user, source=None, subject=None, text_part=True):
    """Merge ``template`` (or unsaved ``source``) for ``record`` as ``user`` would send it.

    ``record`` is of the template's module; links keep their own URLs (no
    tracking) and there is no open pixel, so previews never count.
    ``text_part=False`` leaves the text part of unsaved source out (the
    editor shows the HTML): a large template previews in half the time.
    """
    version = plain_version(template.current) if source is None else None
    draft = None
    if source is not None:
        draft = (template.source_type, template.kind, source, subject or "", text_part)
    recipient = recipient_of(template.module, record)
    locale = choose_locale(recipient.language, template.language, user.language)
    data = build_context(
        merge_data(template.module, record),
        sender=sender_data(user),
        company=settings.company(),
        locale=locale,
        currency=getattr(record, "currency", None),
    )
    data["labels"] = labels_for((template.variant_of or template).labels, locale)
    try:
        return isolation.run(
            _merge, version, draft, data, timeout=MERGE_TIMEOUT, what="the preview"
        )
    except isolation.IsolatedFailure as exc:
        raise MergeError(str(exc)) from exc
