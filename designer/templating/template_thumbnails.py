"""Thumbnails of saved templates for the library's gallery: rendered once per version.

A version is merged for the fixed sample of ``designer.templating.thumbnails`` (no real
customer's data on a picture) and drawn by WeasyPrint to a PNG, in a child process with a
time limit, as previews are. Versions never change, so each picture is kept on disk under
its version id and served from there afterwards.

Why a server-drawn picture rather than the mail itself in an ``<iframe srcdoc>``: the
picture runs no script and fetches nothing (WeasyPrint is given ``data:`` URIs only, so a
template's remote images and tracking pixels are never requested, by the server or by the
browser); it is one small same-origin image under the pages' CSP (``img-src 'self'``),
where a srcdoc frame inherits that CSP and would lose the mail's inline styles; and a
gallery of pictures costs a phone far less than a gallery of live documents.
"""

import os
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

from designer import isolation
from designer.templating.labels import labels_for
from designer.templating.render import MERGE_TIMEOUT, plain_version, render_email
from designer.templating.sandbox import MergeError
from designer.templating.thumbnails import png_bytes, render_thumbnail, sample_context

#: Width of a library thumbnail in px (the starters' are drawn at the same width).
WIDTH = 300
#: Seconds one thumbnail may take to merge and draw.
DRAW_TIMEOUT = MERGE_TIMEOUT


def version_thumbnail(version, cache_dir):
    """PNG bytes of ``version`` merged for the sample; drawn once, then read from
    ``cache_dir``. A version that cannot be merged or drawn gets a plain placeholder."""
    path = Path(cache_dir) / f"{version.id}-{WIDTH}.png"
    if path.is_file():
        return path.read_bytes()
    png = _draw(version) or placeholder()
    _store(path, png)
    return png


def _draw(version):
    template = version.template
    main = template.variant_of or template
    data = dict(sample_context(template.module))
    data["labels"] = labels_for(main.labels, template.language)
    try:
        return isolation.run(
            _render,
            plain_version(version),
            data,
            template.kind == "email",
            timeout=DRAW_TIMEOUT,
            what="the thumbnail",
        )
    except (MergeError, isolation.IsolatedFailure, ValueError):
        return None


def _render(version, data, email):
    return render_thumbnail(render_email(version, data).html, WIDTH, email=email)


def placeholder():
    """A light grey card with a dashed frame: "no picture of this one"."""
    image = Image.new("RGB", (WIDTH, round(WIDTH * 1.4)), "#f4f4f5")
    ImageDraw.Draw(image).rectangle(
        (12, 12, image.width - 13, image.height - 13), outline="#c4c4cc", width=2
    )
    return png_bytes(image)


def _store(path, png):
    """Write atomically: a request reading the cache never sees half a picture."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.write(png)
    os.replace(temporary, path)
