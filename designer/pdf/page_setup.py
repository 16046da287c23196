"""Page setup per PDF template: size, orientation and margins chosen in the editor.

Empty (the default) leaves the page to the template's own CSS (the starter
templates set A4 with their margins in ``@page``). A setup that is chosen is
added as the last style of the document, so it wins over the template's CSS.
"""

import re

from flask_babel import gettext as _

SIZES = {
    "A4": (210, 297),
    "A5": (148, 210),
    "A3": (297, 420),
    "Letter": (215.9, 279.4),
    "Legal": (215.9, 355.6),
}
ORIENTATIONS = ("portrait", "landscape")
HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)


class PageSetupInvalid(ValueError):
    """A page setup value is out of range (the message names it)."""


def validate(form):
    """A page setup dict from form values; ``{}`` means "as the template's CSS says"."""
    size = (form.get("size") or "").strip()
    if not size:
        return {}
    if size != "custom" and size not in SIZES:
        raise PageSetupInvalid(_("unknown page size “%(size)s”", size=size))
    setup = {"size": size, "orientation": form.get("orientation") or "portrait"}
    if setup["orientation"] not in ORIENTATIONS:
        raise PageSetupInvalid(_("the orientation must be portrait or landscape"))
    if size == "custom":
        setup["width_mm"] = _mm(form.get("width_mm"), _("page width"), 50, 1200)
        setup["height_mm"] = _mm(form.get("height_mm"), _("page height"), 50, 1200)
    margins = {
        "top": _("top margin"),
        "right": _("right margin"),
        "bottom": _("bottom margin"),
        "left": _("left margin"),
    }
    for side, what in margins.items():
        setup[f"margin_{side}_mm"] = _mm(form.get(f"margin_{side}_mm") or "15", what, 0, 100)
    return setup


def _mm(value, what, low, high):
    try:
        number = float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        raise PageSetupInvalid(
            _("the %(what)s must be a number of millimetres", what=what)
        ) from None
    if not low <= number <= high:
        raise PageSetupInvalid(
            _(
                "the %(what)s must be from %(low)s to %(high)s mm, not %(value)s",
                what=what,
                low=low,
                high=high,
                value=value,
            )
        )
    return round(number, 1)


def page_css(setup):
    """The ``@page`` rule of a setup ("" when the template's CSS decides)."""
    if not setup:
        return ""
    if setup["size"] == "custom":
        size = f"{setup['width_mm']}mm {setup['height_mm']}mm"
    else:
        size = f"{setup['size']} {setup['orientation']}"
    if setup["size"] == "custom" and setup["orientation"] == "landscape":
        size = f"{setup['height_mm']}mm {setup['width_mm']}mm"
    margins = " ".join(
        f"{setup[f'margin_{side}_mm']}mm" for side in ("top", "right", "bottom", "left")
    )
    return f"@page {{ size: {size}; margin: {margins}; }}"


def apply(html, setup):
    """``html`` with the setup's ``@page`` rule as its last style."""
    css = page_css(setup)
    if not css:
        return html
    style = f"<style>{css}</style>"
    if HEAD_END.search(html):
        return HEAD_END.sub(lambda match: style + match.group(0), html, count=1)
    return style + html
