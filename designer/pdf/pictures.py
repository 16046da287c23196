"""Pages of a rendered PDF as pictures: the editor's preview and the page count.

Pages are rasterised with pypdfium2 (PDFium), in memory, at a given width.
"""

import io

import pypdfium2

#: Width of a preview page in pixels.
PREVIEW_WIDTH = 800


def page_count(pdf_bytes):
    """How many pages the PDF has."""
    document = pypdfium2.PdfDocument(pdf_bytes)
    try:
        return len(document)
    finally:
        document.close()


def page_png(pdf_bytes, number, width=PREVIEW_WIDTH):
    """``(png_bytes, page_count)`` of page ``number`` (1-based, clamped to the document)."""
    document = pypdfium2.PdfDocument(pdf_bytes)
    try:
        count = len(document)
        page = document[min(max(number, 1), count) - 1]
        image = page.render(scale=width / page.get_width()).to_pil().convert("RGB")
        page.close()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue(), count
