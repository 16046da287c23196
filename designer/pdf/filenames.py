"""Download names of rendered PDFs and the ``Content-Disposition`` header that carries them.

Documents are named after what they are (``Invoice-2026-0042.pdf``), other
records after the template and the record. Names never hold path separators,
quotes or control characters; the header gives an ASCII ``filename`` for old
clients and, when the name is not ASCII, the exact one as ``filename*``
(RFC 6266, RFC 5987).
"""

import re
import unicodedata
from urllib.parse import quote

#: What a document of each kind is called at the start of its file name.
DOCUMENT_TITLES = {"invoice": "Invoice", "quote": "Quote", "sales_order": "Sales-order"}
#: A number prefix that repeats the kind (``INV-2026-0042``): left out after the title.
KIND_PREFIX = re.compile(r"^[A-Za-z]{1,5}[-_ ](?=\d)")
#: Characters that never appear in a file name: separators, quotes, controls, reserved.
UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\"\'<>:|?*;%`]+')
SPACES = re.compile(r"[\s-]+")
#: File names are cut to this many characters before ``.pdf``.
MAX_STEM = 120


def pdf_filename(template_name, module, record):
    """``Invoice-2026-0042.pdf`` for documents, else ``<template>-<module>-<id>.pdf``."""
    title = DOCUMENT_TITLES.get(getattr(record, "kind", None) or "")
    number = str(getattr(record, "number", "") or "")
    if module in ("invoice", "quote") and title and number:
        stem = f"{title}-{KIND_PREFIX.sub('', number)}"
    else:
        stem = f"{template_name}-{module}-{record.id}"
    return safe_stem(stem) + ".pdf"


def safe_stem(text):
    """``text`` fit for a file name: no separators, quotes or controls; never empty."""
    text = unicodedata.normalize("NFC", text)
    text = SPACES.sub("-", UNSAFE.sub("-", text)).strip("-.")
    return text[:MAX_STEM].rstrip("-.") or "document"


def ascii_fallback(filename):
    """``filename`` in ASCII: accents dropped, other characters replaced by ``-``."""
    decomposed = unicodedata.normalize("NFKD", filename)
    text = "".join(
        c if ord(c) < 128 else ("" if unicodedata.combining(c) else "-") for c in decomposed
    )
    stem, dot, suffix = text.rpartition(".")
    return (safe_stem(stem) + dot + suffix) if dot else safe_stem(text)


def content_disposition(filename):
    """``attachment; filename="…"`` (plus ``filename*`` when the name is not ASCII)."""
    fallback = ascii_fallback(filename)
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
