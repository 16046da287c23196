"""The page scripts' texts come with every page, in the page's language.

``designer/js_strings.py`` lists them; ``templates/_ui_strings.html`` writes them as
inert JSON (``#ui-strings``: ``{english: translated}``) for ``static/js/i18n.js`` and
the bundled front end to look up. Every text a script looks up must be listed there,
or it would stay English in every language.
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from designer.js_strings import ENGLISH

ROOT = Path(__file__).resolve().parents[1]
DUTCH = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}
ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9"}
#: A text a script looks up: t("…") or designerText("…"), the first argument a literal.
LOOKUP = re.compile(r"""(?<![.\w$])(?:t|designerText)\(\s*"((?:[^"\\]|\\.)*)\"""")


class ScriptBlocks(HTMLParser):
    """The page's <script> elements: their attributes and their text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = {"attrs": dict(attrs), "text": ""}
            self.scripts.append(self._open)

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data


def ui_strings(page):
    parser = ScriptBlocks()
    parser.feed(page)
    found = [s for s in parser.scripts if s["attrs"].get("id") == "ui-strings"]
    assert len(found) == 1, "no #ui-strings on the page"
    assert found[0]["attrs"].get("type") == "application/json"  # inert under the CSP
    return json.loads(found[0]["text"]), parser.scripts


def test_a_signed_in_page_carries_the_scripts_texts_in_english(marketer_client):
    page = marketer_client.get("/templates", headers=ENGLISH_BROWSER)
    assert page.status_code == 200 and '<html lang="en">' in page.text
    strings, scripts = ui_strings(page.text)
    assert set(strings) == set(ENGLISH)
    assert all(strings[english] == english for english in ENGLISH)
    sources = [s["attrs"].get("src", "") for s in scripts]
    lookup = next(i for i, src in enumerate(sources) if src.endswith("/static/js/i18n.js"))
    # The lookup runs before the scripts that use it, which are deferred or come later.
    assert "defer" not in scripts[lookup]["attrs"]
    assert lookup < sources.index(next(src for src in sources if src.endswith("js/guards.js")))


def test_a_dutch_browser_gets_them_in_dutch(marketer_client):
    page = marketer_client.get("/templates", headers=DUTCH)
    assert '<html lang="nl">' in page.text
    strings, _scripts = ui_strings(page.text)
    assert set(strings) == set(ENGLISH)
    assert strings["Restore them"] == "Terugzetten"
    assert strings["Saved as version %(number)s."] == "Opgeslagen als versie %(number)s."
    leaving = "Your changes to %(what)s are not saved. Leave this page and lose them?"
    assert strings[leaving] == (
        "Je wijzigingen aan %(what)s zijn niet opgeslagen. Deze pagina verlaten en ze kwijtraken?"
    )


def test_the_login_page_has_them_too(client):
    strings, _scripts = ui_strings(client.get("/login", headers=ENGLISH_BROWSER).text)
    assert strings["Copied"] == "Copied"


def test_every_text_the_scripts_look_up_is_listed():
    listed = set(ENGLISH)
    missing = []
    scripts = sorted((ROOT / "static" / "js").glob("*.js")) + sorted(
        (ROOT / "static" / "src").glob("*.js")
    )
    looked_up = 0
    for path in scripts:
        for text in LOOKUP.findall(path.read_text(encoding="utf-8")):
            looked_up += 1
            if text not in listed:
                missing.append(f"{path.relative_to(ROOT)}: {text!r}")
    assert looked_up > 50
    assert not missing, "texts not in designer/js_strings.py:\n" + "\n".join(missing)


def test_the_code_editors_own_phrases_are_listed():
    source = (ROOT / "static" / "src" / "editor.js").read_text(encoding="utf-8")
    array = re.search(r"const PHRASES = \[(.*?)\];", source, re.S).group(1)
    phrases = re.findall(r'"([^"]+)"', array)
    assert "Find" in phrases and "replaced $ matches" in phrases
    assert not set(phrases) - set(ENGLISH)
