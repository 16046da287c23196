"""Helpers of the PDF tests: the text of a PDF, demo invoices by language, page images."""

import subprocess

from PIL import Image, ImageChops

from designer.extensions import db
from designer.records import Document, recipient_of


def pdf_text(pdf):
    """The PDF's text as ``pdftotext`` extracts it, every run of white space as one space
    (table cells wrap; no-break spaces in amounts become spaces too)."""
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def invoice_in(language, currency="EUR"):
    """The first demo invoice whose recipient reads ``language`` and that is in ``currency``."""
    query = db.select(Document).where(Document.kind == "invoice").order_by(Document.id)
    for document in db.session.scalars(query):
        if document.currency == currency and recipient_of("invoice", document).language == language:
            return document
    raise AssertionError(f"the demo has no {currency} invoice in {language}")


def page_image(pdf, tmp_path, page=1, dpi=50):
    """Page ``page`` of the PDF as ``pdftoppm`` draws it (RGB, ``dpi``)."""
    source = tmp_path / "page.pdf"
    source.write_bytes(pdf)
    prefix = tmp_path / "page"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(source),
            str(prefix),
        ],
        check=True,
    )
    with Image.open(f"{prefix}.png") as image:
        return image.convert("RGB")


def difference(image, reference):
    """``(mean absolute difference 0..255, share of pixels off by more than 64)``."""
    assert image.size == reference.size, (image.size, reference.size)
    diff = ImageChops.difference(image, reference).convert("L")
    histogram = diff.histogram()
    pixels = image.size[0] * image.size[1]
    mean = sum(level * count for level, count in enumerate(histogram)) / pixels
    return mean, sum(histogram[65:]) / pixels
