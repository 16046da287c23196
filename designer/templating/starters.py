"""Starters: the templates a new one can begin from, shown as a gallery on "New template".

The starters are the library's templates (``templates_lib/manifest.json``, the same ones
the demo loads) and a blank e-mail and a blank PDF (``templates_lib/blank/``). Each has a
thumbnail drawn from the template itself (``designer template thumbnails``).
"""

from pathlib import Path

from designer.i18n import _l
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


#: The gallery's words for each starter (by its name in the manifest): the name and the
#: description in the user's language. The template made from a starter keeps the English name.
SHOWN = {
    "Welcome": (
        _l("Welcome"),
        _l(
            "Greets a new customer contact, lists three first steps and introduces the "
            "sender as their point of contact."
        ),
    ),
    "Monthly newsletter": (
        _l("Monthly newsletter"),
        _l(
            "A monthly newsletter with a header, an introduction and three article blocks, "
            "each with a read-more button."
        ),
    ),
    "Event invitation": (
        _l("Event invitation"),
        _l(
            "Invitation to a customer event with date, time and venue, the programme and an "
            "RSVP button."
        ),
    ),
    "Plain announcement": (
        _l("Plain announcement"),
        _l(
            "A simple one-column, letter-style announcement with a personal salutation and "
            "signature."
        ),
    ),
    "Invoice reminder": (
        _l("Invoice reminder"),
        _l(
            "A friendly payment reminder with the invoice number, issue and due dates, the "
            "amount due and a table of the invoice lines with subtotal, tax and total."
        ),
    ),
    "Quote follow-up": (
        _l("Quote follow-up"),
        _l(
            "Follows up on a sent quote: its number, total and valid-until date, a short "
            "summary table and a reply button to accept or ask a question."
        ),
    ),
    "Birthday greeting": (
        _l("Birthday greeting"),
        _l(
            "A cheerful birthday message from the account owner with a small present (a "
            "gift code) and a button to claim it."
        ),
    ),
    "We miss you": (
        _l("We miss you"),
        _l(
            "A re-engagement e-mail for contacts who have gone quiet: what is new, in two "
            "feature blocks, and an invitation to a free catch-up call."
        ),
    ),
    "Invoice (PDF)": (
        _l("Invoice (PDF)"),
        _l(
            "A4 invoice on company letterhead: addressee, invoice number and dates, line "
            "items with quantity, unit price, discount and tax, tax per rate, totals and "
            "payment instructions. Shows a DRAFT watermark for draft invoices."
        ),
    ),
    "Quotation (PDF)": (
        _l("Quotation (PDF)"),
        _l(
            "A4 quotation on company letterhead with quote number, date and valid-until "
            "date, line items, tax per rate and totals, terms and a signature block for "
            "acceptance. Shows a DRAFT watermark for draft quotes."
        ),
    ),
    "Sales order (PDF)": (
        _l("Sales order (PDF)"),
        _l(
            "A4 sales order confirmation with order number, order and delivery dates, line "
            "items and totals, delivery and invoicing terms and signature blocks for both "
            "parties. Shows a DRAFT watermark for drafts."
        ),
    ),
    "Business letter (PDF)": (
        _l("Business letter (PDF)"),
        _l(
            "An A4 business letter on company letterhead with an address block for window "
            "envelopes, a contact box for the sender and a footer with the company details; "
            "invites the contact to an annual account review."
        ),
    ),
    "Blank e-mail": (
        _l("Blank e-mail"),
        _l(
            "One white section with a greeting, a line of text and a button, to build your "
            "own e-mail from."
        ),
    ),
    "Blank PDF": (
        _l("Blank PDF"),
        _l(
            "An A4 page with the company's name and address, a title and a salutation, to "
            "write your own document on."
        ),
    ),
}


def shown(entry):
    """``entry`` with ``title`` and ``summary``: its name and description as the gallery
    shows them, in the user's language."""
    title, summary = SHOWN.get(entry["name"], (entry["name"], entry.get("description", "")))
    return dict(entry, title=str(title), summary=str(summary))


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
