"""The words the page scripts show, in the interface's language.

The scripts in ``static/js`` and the bundled front end in ``static/src`` (the code
editor, the visual builder) write texts of their own into pages: confirmations,
status messages, button labels, labels for screen readers. They are listed here,
marked for translation like the rest of the interface, so that ``make catalogue``
extracts them into the same catalogues. Every page carries them as inert JSON
(``templates/_ui_strings.html``: ``{english: translated}`` for the request's
language, in ``<script type="application/json" id="ui-strings">``), and the scripts
look their texts up there (``window.designerText`` of ``static/js/i18n.js``, the
``t`` of ``static/src/i18n.js``), falling back to the English.

Texts with values in them use named placeholders (``%(name)s``), which the scripts
fill in after the lookup; a script's text is listed here exactly as it passes it.
The visual builder's own panels (GrapesJS and grapesjs-mjml) are translated by the
locale files those packages ship.
"""

from flask_babel import gettext

from designer.i18n import _l

#: Every text the page scripts look up, in English (the lookup's keys).
JS_STRINGS = (
    # guards.js: confirmations before leaving, the copy buttons
    _l("(empty)"),
    _l("this page"),
    _l("Your changes to %(what)s are not saved. Leave this page and lose them?"),
    _l("Selected: press Ctrl+C"),
    _l("Copied"),
    # drafts.js: changes kept in the browser
    _l("earlier"),
    _l("today at %(time)s"),
    _l("%(date)s at %(time)s"),
    _l("this form"),
    _l("Changes to %(what)s from %(when)s were not saved; they are kept in this browser."),
    _l("They were made on %(base)s; this page shows %(current)s."),
    _l("Restore them"),
    _l("Discard them"),
    # record-picker.js: the searchable record picker
    _l("Records"),
    _l("1 match; use the arrow keys to choose."),
    _l("%(count)s matches; use the arrow keys to choose."),
    _l("Nothing matches."),
    _l("%(label)s chosen."),
    # scroll-regions.js: boxes that scroll sideways
    _l("(scrolls sideways)"),
    # editor.js and pdf-preview.js: the live previews, the merge-field picker
    _l("Subject:"),
    _l("(no subject)"),
    _l("Language used for dates and amounts"),
    _l("Line %(line)s: %(message)s"),
    _l("The preview failed."),
    _l("The preview failed (HTTP %(status)s)."),
    _l("Your session token expired. Reload the page and try again."),
    _l("You are logged out. Reload the page and log in again."),
    _l("Could not reach the server for a preview. Check your connection."),
    _l("Could not reach the server for a preview."),
    _l("Insert %(snippet)s"),
    _l("e.g. %(example)s"),
    _l("No merge field matches “%(query)s”."),
    _l("Loading merge fields…"),
    _l("Could not load the merge fields. Reload the page to try again."),
    _l("Page %(page)s of %(pages)s"),
    _l("Page %(page)s of %(pages)s of the PDF"),
    # export.js: the states of a PDF export
    _l("queued"),
    _l("running"),
    _l("packing"),
    _l("done"),
    # static/src: the visual builder and its saved blocks
    _l("The request failed (HTTP %(status)s)."),
    _l("the template"),
    _l("Code (locked)"),
    _l("Merge field"),
    _l("Code, kept as written · edit it in Code mode"),
    _l("Code, kept as written (%(reason)s) · edit it in Code mode"),
    _l("Show only when"),
    _l("Repeat for each"),
    _l("Outlines"),
    _l("Hide panels"),
    _l("Full screen"),
    _l("Style"),
    _l("Settings"),
    _l("Layers"),
    _l("Blocks"),
    _l("Layout"),
    _l("Section"),
    _l("Button section"),
    _l("4 Columns"),
    _l("View in browser"),
    _l("Saving…"),
    _l("Saved as version %(number)s."),
    _l("Check: %(warnings)s"),
    _l("Not saved: %(error)s"),
    _l("Inserted %(field)s."),
    _l("Select a text or button block first, then pick the field."),
    _l("Could not load the merge fields."),
    _l("Saved blocks"),
    _l("Delete the saved block “%(name)s”"),
    _l("Delete the saved block “%(name)s” for every template?"),
    _l("Deleted the saved block “%(name)s”."),
    _l("The block was not deleted: %(error)s"),
    _l("Could not load the saved blocks."),
    _l("Select a section (or something in it) first, then save it as a block."),
    _l("Saved the section as the block “%(name)s” (under %(category)s)."),
    # static/src/editor.js: the code editor's own phrases (CodeMirror's search panel, folding,
    # announcements), keyed by CodeMirror's English; "$" is CodeMirror's placeholder
    _l("Find"),
    _l("next"),
    _l("previous"),
    _l("all"),
    _l("match case"),
    _l("regexp"),
    _l("by word"),
    _l("Replace"),
    _l("replace"),
    _l("replace all"),
    _l("close"),
    _l("current match"),
    _l("on line"),
    _l("replaced match on line $"),
    _l("replaced $ matches"),
    _l("Go to line"),
    _l("go"),
    _l("Folded lines"),
    _l("Unfolded lines"),
    _l("to"),
    _l("folded code"),
    _l("unfold"),
    _l("Fold line"),
    _l("Unfold line"),
    _l("Selection deleted"),
    _l("Control character"),
    _l("Completions"),
)


def _msgid(text):
    """The English of a lazy string: its msgid, which ``lazy_gettext`` keeps as the first
    argument of the ``gettext`` call it defers (the same in every language and request)."""
    return text._args[0]


#: The lookup's keys: the English of ``JS_STRINGS``.
ENGLISH = tuple(_msgid(text) for text in JS_STRINGS)


def ui_strings():
    """``{english: translated}`` of every script text, in the current request's language.

    Placeholders stay as they are (``%(name)s``): the scripts fill them in.
    """
    return {english: gettext(english) for english in ENGLISH}


__all__ = ["ENGLISH", "JS_STRINGS", "ui_strings"]
