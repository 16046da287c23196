"""Starters: the templates a new one can begin from, shown as a gallery on "New template".

The starters are the library's templates (``templates_lib/manifest.json``, the same ones
the demo loads) and a blank e-mail and a blank PDF (``templates_lib/blank/``). Each has a
thumbnail drawn from the template itself (``designer template thumbnails``).
"""

from pathlib import Path

from designer.templating.thumbnails import LIBRARY, manifest
from designer.templating.versions import create_template

BLANKS = (
    {
        "file": "blank/email.mjml",
        "name": "Blank e-mail",
        "kind": "email",
        "source_type": "mjml",
        "module": "contact",
        "subject": "",
        "description": "One white section with a greeting, a line of text and a button, "
        "to build your own e-mail from.",
        "thumbnail": "thumbnails/blank-email.png",
    },
    {
        "file": "blank/pdf.html",
        "name": "Blank PDF",
        "kind": "pdf",
        "source_type": "html",
        "module": "contact",
        "description": "An A4 page with the company's name and address, a title and a "
        "salutation, to write your own document on.",
        "thumbnail": "thumbnails/blank-pdf.png",
    },
)


class StarterNotFound(LookupError):
    """No starter of that name."""


def starters(kind=None, library=LIBRARY):
    """The starters (manifest entries, with a ``slug``), the blank ones last; only those of
    ``kind`` when given."""
    entries = [*manifest(library), *BLANKS]
    return [
        dict(entry, slug=_slug(entry)) for entry in entries if kind is None or entry["kind"] == kind
    ]


def _slug(entry):
    """``email/newsletter.mjml`` gives ``newsletter``; the blanks ``blank-email``, ``blank-pdf``."""
    path = Path(entry["file"])
    return f"blank-{path.stem}" if path.parent.name == "blank" else path.stem


def get_starter(slug, library=LIBRARY):
    """The starter called ``slug``, or ``StarterNotFound``."""
    for entry in starters(library=library):
        if entry["slug"] == slug:
            return entry
    raise StarterNotFound(f"no starter called {slug[:80]!r}")


def starter_source(entry, library=LIBRARY):
    return (Path(library) / entry["file"]).read_text(encoding="utf-8")


def thumbnail_path(entry, library=LIBRARY):
    """The starter's PNG, or None when it has none."""
    path = Path(library) / entry["thumbnail"] if entry.get("thumbnail") else None
    return path if path is not None and path.is_file() else None


def create_from_starter(entry, name=None, user=None, library=LIBRARY):
    """A new template with the starter's content, subject, kind, module and purpose, named
    ``name`` (default: the starter's own name); ``TemplateInvalid`` as any save."""
    return create_template(
        (name or "").strip() or entry["name"],
        starter_source(entry, library),
        source_type=entry.get("source_type", "mjml"),
        subject=entry.get("subject", ""),
        module=entry.get("module", "contact"),
        language="en",
        kind=entry.get("kind", "email"),
        user=user,
        purpose=entry.get("purpose", "marketing"),
    )
