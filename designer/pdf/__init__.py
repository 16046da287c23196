"""PDF rendering of user-written templates: safe, bounded, with nothing fetched.

This package owns turning merged template HTML into PDF bytes with WeasyPrint:
which URLs a template may load (``data:`` URIs and the app's stored assets,
read through a lookup callable, never over the network or from files), the
time limit on a render and the size limit on its output.
"""

from designer.pdf.fetcher import (
    MAX_RESOURCE_BYTES,
    AssetFetcher,
    Refused,
    prefetch_assets,
    stored_asset,
)
from designer.pdf.render import PdfRenderError, render_pdf

__all__ = [
    "MAX_RESOURCE_BYTES",
    "AssetFetcher",
    "PdfRenderError",
    "Refused",
    "prefetch_assets",
    "render_pdf",
    "stored_asset",
]
