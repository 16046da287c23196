"""The template library: every entry compiles, saves and merges for demo records in
English, Dutch and German; PDF templates render with WeasyPrint; thumbnails are PNGs
and rendering them fetches nothing but ``data:`` URIs."""

import base64
import io
import json
import re
import urllib.request

import pypdfium2
import pytest
import weasyprint
from babel.numbers import format_currency
from markupsafe import escape
from PIL import Image

from designer import ROOT, settings
from designer.extensions import db
from designer.records import Contact, Document, Organisation, User, merge_data
from designer.records.merge import user_data
from designer.templating import Template, build_context, compile_source, create_template
from designer.templating.render import render_email
from designer.templating.thumbnails import (
    DataOnlyFetcher,
    library_thumbnails,
    manifest,
    render_thumbnail,
    slug_of,
)

LIBRARY = ROOT / "templates_lib"
ENTRIES = manifest(LIBRARY)
IDS = [slug_of(entry) for entry in ENTRIES]
LANGUAGES = ("en", "nl", "de")
#: What a renderer would fetch from another host: images, stylesheets, fonts.
REMOTE_LOAD = re.compile(
    r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import|<link\b|<mj-font\b""",
    re.IGNORECASE,
)
#: Any absolute URL in an attribute (PDF templates have no links either).
REMOTE_URL = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def source_of(entry):
    return (LIBRARY / entry["file"]).read_text(encoding="utf-8")


def test_manifest_describes_twelve_templates_with_their_files_and_thumbnails():
    assert len(ENTRIES) == 12
    assert len({entry["name"] for entry in ENTRIES}) == 12
    assert len(set(IDS)) == 12
    for entry in ENTRIES:
        assert (LIBRARY / entry["file"]).is_file(), entry["file"]
        assert entry["kind"] in ("email", "pdf") and entry["description"]
        assert entry["source_type"] == ("mjml" if entry["kind"] == "email" else "html")
        assert entry["module"] in ("contact", "invoice", "quote")
        assert bool(entry.get("subject")) == (entry["kind"] == "email")
        assert entry["thumbnail"] == f"thumbnails/{slug_of(entry)}.png"
        thumbnail = LIBRARY / entry["thumbnail"]
        assert thumbnail.read_bytes().startswith(b"\x89PNG")
        with Image.open(thumbnail) as image:
            assert image.width == 300
    kinds = [(entry["kind"], entry["module"]) for entry in ENTRIES]
    assert kinds.count(("pdf", "invoice")) == 2 and ("pdf", "quote") in kinds
    assert ("email", "invoice") in kinds and ("email", "quote") in kinds


#: An image whose source is neither a data: URI nor the logo the app stores and serves.
OTHER_IMAGE = re.compile(
    r"<(?:img|mj-image)\b(?![^>]*\bsrc=[\"'](?:data:|\{\{ company\.logo_url \}\}))", re.IGNORECASE
)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_compiles_and_loads_nothing_remote(entry):
    source = source_of(entry)
    compiled = compile_source(entry["source_type"], source, entry["kind"])
    assert compiled.html
    assert "mj-include" not in source.lower()
    assert not REMOTE_LOAD.search(source), REMOTE_LOAD.search(source)
    assert not REMOTE_LOAD.search(compiled.html), REMOTE_LOAD.search(compiled.html)
    # images only from data: URIs, or the company logo the app itself stores and serves
    assert not OTHER_IMAGE.search(source), OTHER_IMAGE.search(source)
    if entry["kind"] == "pdf":
        assert not REMOTE_URL.search(source), REMOTE_URL.search(source)
        assert "size: A4" in source and 'font-family: "DejaVu Sans", sans-serif' in source


def pick_record(module, language):
    """The first demo record of ``module`` whose recipient reads ``language``."""
    if module == "contact":
        query = (
            db.select(Contact)
            .join(Contact.organisation)
            .where(Contact.language == language, Organisation.language == language)
            .order_by(Contact.id)
        )
    else:
        query = (
            db.select(Document)
            .join(Document.organisation)
            .where(Document.kind == module, Organisation.language == language)
            .order_by(Document.id)
        )
    record = db.session.scalars(query.limit(1)).first()
    assert record is not None, f"no demo {module} in {language}"
    return record


def merge(version, module, record, language, admin):
    data = build_context(
        merge_data(module, record),
        sender=user_data(admin),
        company=settings.company(),
        locale=language,
        currency=getattr(record, "currency", None),
    )
    return render_email(version, data)


def pdf_page_texts(html):
    pdf = pypdfium2.PdfDocument(
        weasyprint.HTML(string=html, url_fetcher=DataOnlyFetcher()).write_pdf()
    )
    try:
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


def expected_names(module, record):
    if module == "contact":
        return [record.first_name, record.last_name]
    return [record.number]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_saves_and_merges_demo_records_in_every_language(app, demo, entry):
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    module = entry["module"]
    template = create_template(
        f"{entry['name']} (library test)",
        source_of(entry),
        source_type=entry["source_type"],
        subject=entry.get("subject", ""),
        module=module,
        language="en",
        kind=entry["kind"],
        user=admin,
    )
    version = template.current
    for language in LANGUAGES:
        record = pick_record(module, language)
        merged = merge(version, module, record, language, admin)
        for part in (merged.html, merged.text, merged.subject):
            assert "{{" not in part and "{%" not in part, (language, part[:300])
        names = expected_names(module, record)
        assert any(str(escape(name)) in merged.html for name in names), (language, names)
        if module != "contact":
            total = format_currency(record.total, record.currency, locale=language)
            assert total in merged.html, (language, total)
            assert re.search(r",\d\d\b" if language != "en" else r"\.\d\d\b", total)
        if entry["kind"] == "email":
            assert merged.subject and merged.text.strip()
        else:
            texts = pdf_page_texts(merged.html)
            assert any(name in texts[0] for name in names), (language, texts[0][:500])


def test_demo_imports_every_library_template_once(app, demo):
    templates = {t.name: t for t in db.session.scalars(db.select(Template))}
    for entry in ENTRIES:
        template = templates[entry["name"]]
        assert (template.kind, template.source_type, template.module, template.language) == (
            entry["kind"],
            entry["source_type"],
            entry["module"],
            "en",
        )
        assert template.current.subject == entry.get("subject", "")
    assert demo["templates"] == len(ENTRIES)


def test_pdf_invoice_shows_draft_watermark_only_for_drafts(app, demo):
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    entry = next(e for e in ENTRIES if e["file"] == "pdf/invoice.html")
    version = db.session.scalar(db.select(Template).where(Template.name == entry["name"])).current
    invoices = db.session.scalars(db.select(Document).where(Document.kind == "invoice")).all()
    draft = next(i for i in invoices if i.status == "draft")
    paid = next(i for i in invoices if i.status == "paid")
    for invoice, shown in ((draft, True), (paid, False)):
        html = merge(version, "invoice", invoice, invoice.organisation.language, admin).html
        assert ('class="watermark"' in html) is shown
        texts = pdf_page_texts(html)
        assert ("DRAFT" in texts[0]) is shown
        assert f"Page 1 of {len(texts)}" in texts[0]


def test_render_thumbnail_is_a_png_of_the_requested_width():
    png = render_thumbnail("<h1>Hello</h1><p>A thumbnail of an e-mail.</p>", width=120)
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as image:
        assert image.width == 120 and image.height == round(120 * 900 / 640)
    a4 = render_thumbnail("<style>@page { size: A4 }</style><p>A letter.</p>", width=200)
    with Image.open(io.BytesIO(a4)) as image:
        assert image.width == 200 and abs(image.height - 283) <= 1


def solid_png(colour, size=40):
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_thumbnail_fetches_data_uris_only(tmp_path, monkeypatch):
    red = tmp_path / "red.png"
    red.write_bytes(solid_png((255, 0, 0)))
    opened = []
    original = urllib.request.FileHandler.open_local_file

    def spy(handler, request):
        opened.append(request.full_url)
        return original(handler, request)

    monkeypatch.setattr(urllib.request.FileHandler, "open_local_file", spy)
    blue = base64.b64encode(solid_png((0, 0, 255))).decode()
    html = (
        '<img src="file:///etc/passwd">'
        f'<img src="{red.as_uri()}" style="width:300px;height:300px">'
        f'<link rel="stylesheet" href="{red.as_uri()}">'
        f'<img src="data:image/png;base64,{blue}" style="width:300px;height:300px">'
    )
    png = render_thumbnail(html, width=100)
    assert png.startswith(b"\x89PNG")
    assert opened == []
    with Image.open(io.BytesIO(png)) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(100 * 141)}
    assert not any(r > 200 and g < 80 and b < 80 for r, g, b in colours)  # the file: image
    assert any(b > 200 and r < 80 and g < 80 for r, g, b in colours)  # the data: image


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "https://example.com/x.png",
        "http://127.0.0.1:6379/",
        "ftp://example.com/a",
    ],
)
def test_data_only_fetcher_refuses_other_urls(url):
    with pytest.raises(ValueError):
        DataOnlyFetcher().fetch(url)


def test_library_thumbnails_writes_one_png_per_entry(tmp_path):
    library = tmp_path / "library"
    picked = [next(e for e in ENTRIES if e["kind"] == kind) for kind in ("email", "pdf")]
    for entry in picked:
        target = library / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source_of(entry), encoding="utf-8")
    (library / "manifest.json").write_text(json.dumps(picked), encoding="utf-8")
    paths = library_thumbnails(tmp_path / "out", library=library, width=150)
    assert [p.name for p in paths] == [f"{slug_of(e)}.png" for e in picked]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width == 150
