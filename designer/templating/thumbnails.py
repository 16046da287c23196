"""Thumbnails: small PNG pictures of templates for the template library.

A template is merged for a fixed sample context, rendered to PDF with
WeasyPrint and its first page rasterised with pypdfium2, then scaled with
Pillow. WeasyPrint never fetches anything while rendering: only ``data:``
URIs are allowed, so a template cannot make the server read local files or
call other hosts. PDF templates are drawn on their own ``@page``; e-mail HTML
is laid out 640 px wide, as a desktop mail client shows it, and the top
640 x 900 px of it is kept.
"""

import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pypdfium2
import weasyprint
from PIL import Image
from weasyprint.urls import URLFetcher

from designer.templating.compiler import compile_source
from designer.templating.render import VersionRenderer

LIBRARY = Path(__file__).resolve().parents[2] / "templates_lib"
#: The part of an e-mail a thumbnail shows, in CSS px.
EMAIL_SIZE = (640, 900)
#: E-mail page: twice as tall as shown, so a section that does not fit in the
#: first 900 px is cut off instead of moved to page 2 (MJML sections are table
#: rows, which WeasyPrint keeps whole). MJML centres buttons with ``align``.
EMAIL_PAGE_CSS = f"""
@page {{ size: {EMAIL_SIZE[0]}px {EMAIL_SIZE[1] * 2}px; margin: 0 }}
td[align=center] > table {{ margin-left: auto; margin-right: auto }}
"""
#: ``@media ... (min-width: 480px) {`` as MJML writes it for desktop clients.
DESKTOP_MEDIA = re.compile(r"@media[^{]*\(\s*min-width\s*:\s*\d+px\s*\)[^{]*\{", re.IGNORECASE)
#: Rasterise at this multiple of the target size, then scale down (smoother text).
OVERSAMPLE = 2
CENT = Decimal("0.01")


class DataOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that refuses every URL except ``data:`` URIs."""

    def __init__(self):
        super().__init__(allowed_protocols=("data",), allow_redirects=False)

    def fetch(self, url, headers=None):
        if not url.lower().startswith("data:"):
            raise ValueError(f"fetching {url[:80]!r} is not allowed in templates")
        return super().fetch(url, headers)


def render_pdf(html, stylesheets=(), email=False):
    """HTML to PDF bytes with WeasyPrint, fetching nothing but ``data:`` URIs.

    E-mail HTML is rendered as a screen shows it, with the HTML attributes
    MJML relies on (``width="100%"``, ``align``, ``bgcolor``) applied.
    """
    document = weasyprint.HTML(
        string=html, url_fetcher=DataOnlyFetcher(), media_type="screen" if email else "print"
    )
    return document.write_pdf(stylesheets=list(stylesheets), presentational_hints=email)


def rasterise_first_page(pdf_bytes, width, aspect=None):
    """Page 1 of a PDF as a Pillow image ``width`` px wide, cut to ``aspect`` (h / w)."""
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        page = pdf[0]
        image = page.render(scale=OVERSAMPLE * width / page.get_width()).to_pil()
        page.close()
    finally:
        pdf.close()
    image = image.convert("RGB")
    if aspect:
        image = image.crop((0, 0, image.width, min(image.height, round(image.width * aspect))))
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def png_bytes(image):
    """An image as a small PNG: 256-colour palette, optimised."""
    buffer = io.BytesIO()
    image.quantize(colors=256).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def desktop_rules(html):
    """The rules inside the HTML's ``min-width`` media queries, unwrapped.

    WeasyPrint ignores media features, so MJML's desktop layout (columns side
    by side from 480 px) would never apply; the thumbnail is 640 px wide, so it does.
    """
    rules = []
    for found in DESKTOP_MEDIA.finditer(html):
        depth, start = 1, found.end()
        for index in range(start, len(html)):
            depth += {"{": 1, "}": -1}.get(html[index], 0)
            if depth == 0:
                rules.append(html[start:index])
                break
    return "\n".join(rules)


def render_thumbnail(html, width=300, email=None):
    """PNG bytes of the first page of ``html``, ``width`` pixels wide.

    ``email`` says whether ``html`` is an e-mail (default: when it has no
    ``@page`` rule); e-mails are drawn 640 px wide and cut at 900 px.
    """
    if email is None:
        email = "@page" not in html
    if not email:
        return png_bytes(rasterise_first_page(render_pdf(html), width))
    css = weasyprint.CSS(string=EMAIL_PAGE_CSS + desktop_rules(html))
    pdf = render_pdf(html, [css], email=True)
    return png_bytes(rasterise_first_page(pdf, width, EMAIL_SIZE[1] / EMAIL_SIZE[0]))


SAMPLE_ORGANISATION = {
    "name": "Harrington Engineering Ltd",
    "industry": "Manufacturing",
    "email": "hello@harrington-eng.example",
    "phone": "+44 161 496 0321",
    "website": "https://www.harrington-eng.example",
    "street": "42 Canal Street",
    "postal_code": "M1 3HE",
    "city": "Manchester",
    "country": "United Kingdom",
    "language": "en",
}
SAMPLE_CONTACT = {
    "salutation": "Ms",
    "first_name": "Charlotte",
    "last_name": "Evans",
    "full_name": "Charlotte Evans",
    "email": "charlotte.evans@harrington-eng.example",
    "phone": "+44 7700 900123",
    "title": "Purchasing Manager",
    "language": "en",
    "birthday": date(1986, 5, 14),
}
SAMPLE_SENDER = {
    "name": "Ada Admin",
    "email": "admin@example.com",
    "title": "Customer Success Director",
    "phone": "+44 20 7946 0101",
    "language": "en",
    "timezone": "Europe/London",
    "currency": "GBP",
}
SAMPLE_COMPANY = {
    "name": "Northwind Relations BV",
    "address": "Keizersgracht 123, 1015 CJ Amsterdam, Netherlands",
    "email": "hello@northwind.example",
    "phone": "+31 20 555 0100",
    "website": "https://northwind.example",
    "vat_number": "NL001234567B01",
}
# sku, name, description, quantity, unit price, discount %, tax %
SAMPLE_LINES = (
    (
        "DSG-PRO-1Y",
        "Designer Pro licence (12 months)",
        "Annual licence for the campaign designer, including updates.",
        "1",
        "1200.00",
        "0",
        "20",
    ),
    (
        "DSG-SEAT",
        "Additional user seat (12 months)",
        "One extra named user for a year.",
        "5",
        "180.00",
        "10",
        "20",
    ),
    (
        "SRV-ONBOARD",
        "Onboarding workshop (1 day)",
        "On-site workshop for up to 8 participants.",
        "1",
        "950.00",
        "0",
        "20",
    ),
    (
        "TRN-HANDBOOK",
        "Handbook: Campaign e-mail that works",
        "Printed handbook, 212 pages.",
        "10",
        "34.50",
        "0",
        "0",
    ),
)
# module: number, status, notes
SAMPLE_DOCUMENTS = {
    "invoice": ("INV-2026-0042", "sent", "Please pay within 30 days, quoting the invoice number."),
    "quote": ("QUO-2026-0017", "sent", "This quote is valid for 30 days."),
}


def sample_context(module="contact"):
    """Merge data for thumbnails, shaped as ``records.merge_data`` plus ``build_context``.

    For ``invoice`` and ``quote`` a sample document is added, under the module's
    name and as ``document``.
    """
    organisation = dict(SAMPLE_ORGANISATION)
    contact = dict(SAMPLE_CONTACT, organisation=organisation)
    data = {
        "contact": contact,
        "organisation": organisation,
        "sender": dict(SAMPLE_SENDER),
        "company": dict(SAMPLE_COMPANY),
        "locale": "en",
        "currency": "GBP",
    }
    if module in SAMPLE_DOCUMENTS:
        document = _sample_document(module, organisation, contact)
        data.update({"document": document, module: document})
    return data


def _sample_document(kind, organisation, contact):
    number, status, notes = SAMPLE_DOCUMENTS[kind]
    lines = [_sample_line(position, *spec) for position, spec in enumerate(SAMPLE_LINES, 1)]
    subtotal = sum((line["net"] for line in lines), Decimal(0))
    tax_total = sum((line["tax"] for line in lines), Decimal(0))
    return {
        "kind": kind,
        "number": number,
        "subject": "Licence renewal 2026",
        "status": status,
        "issue_date": date(2026, 3, 2),
        "due_date": date(2026, 4, 1),
        "currency": "GBP",
        "notes": notes,
        "subtotal": subtotal,
        "tax_total": tax_total,
        "total": subtotal + tax_total,
        "lines": lines,
        "organisation": organisation,
        "contact": contact,
        "owner": dict(SAMPLE_SENDER),
    }


def _sample_line(position, sku, name, description, quantity, price, discount, tax_rate):
    quantity, price, discount, tax_rate = map(Decimal, (quantity, price, discount, tax_rate))
    net = (quantity * price * (100 - discount) / 100).quantize(CENT)
    product = {
        "sku": sku,
        "name": name,
        "description": description,
        "unit_price": price,
        "tax_rate": tax_rate,
    }
    return {
        "position": position,
        "description": name,
        "quantity": quantity,
        "unit_price": price,
        "discount_percent": discount,
        "tax_rate": tax_rate,
        "net": net,
        "tax": (net * tax_rate / 100).quantize(CENT),
        "product": product,
        "name": name,
    }


def merge_sample(entry, source):
    """A library template (a manifest ``entry`` and its source) merged for the sample."""
    compiled = compile_source(entry["source_type"], source, entry["kind"])
    version = SimpleNamespace(
        id=None,
        compiled_html=compiled.html,
        text_template=compiled.text,
        subject=entry.get("subject", ""),
        preheader="",
        links=list(getattr(compiled, "links", ())),
    )
    return VersionRenderer(version).render(sample_context(entry.get("module", "contact"))).html


def manifest(library=LIBRARY):
    """The entries of the library's ``manifest.json``."""
    return json.loads((Path(library) / "manifest.json").read_text(encoding="utf-8"))


def slug_of(entry):
    """``email/invoice-reminder.mjml`` gives ``invoice-reminder``."""
    return Path(entry["file"]).stem


def library_thumbnail(name, library=LIBRARY):
    """The PNG of the library template called ``name`` (a starter template imported by its
    name), or None when there is none."""
    for entry in manifest(library):
        if entry["name"] == name and entry.get("thumbnail"):
            path = Path(library) / entry["thumbnail"]
            return path if path.is_file() else None
    return None


def library_thumbnails(out_dir, library=LIBRARY, width=300, entries=None):
    """Write ``out_dir/<slug>.png`` (or the name the entry's ``thumbnail`` gives) for every
    library template, or for ``entries``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for entry in manifest(library) if entries is None else entries:
        source = (Path(library) / entry["file"]).read_text(encoding="utf-8")
        html = merge_sample(entry, source)
        name = Path(entry["thumbnail"]).name if entry.get("thumbnail") else f"{slug_of(entry)}.png"
        path = out_dir / name
        path.write_bytes(render_thumbnail(html, width, email=entry["kind"] == "email"))
        paths.append(path)
    return paths
