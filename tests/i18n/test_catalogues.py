"""The Dutch and German catalogues hold every string of the interface, translated.

The strings are extracted from the code as ``make catalogue`` does (``babel.cfg``):
a string wrapped for translation but missing from a catalogue, or left empty or
fuzzy there, fails here, naming it. Placeholders must survive translation.
"""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "designer"
LANGUAGES = ("nl", "de")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _method_map():
    methods = []
    for line in (ROOT / "babel.cfg").read_text().splitlines():
        found = re.fullmatch(r"\[(\w+): (.+)\]", line.strip())
        if found:
            methods.append((found.group(2), found.group(1)))
    return methods


@pytest.fixture(scope="module")
def source_strings():
    """``{msgid: where}`` of every string the code marks for translation."""
    found = {}
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    for path, lineno, message, _comments, context in extract_from_dir(
        str(PACKAGE), _method_map(), keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault((context, msgid), f"designer/{path}:{lineno}")
    return found


@pytest.fixture(scope="module", params=LANGUAGES)
def catalogue(request):
    path = PACKAGE / "translations" / request.param / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return request.param, read_po(handle)


def test_the_code_has_strings_to_translate(source_strings):
    assert len(source_strings) > 500
    assert (None, "Language and time zone") in source_strings


def test_every_string_is_translated(source_strings, catalogue):
    language, messages = catalogue
    missing = []
    for (context, msgid), where in sorted(source_strings.items(), key=lambda item: item[1]):
        message = messages.get(msgid, context=context)
        strings = (
            []
            if message is None
            else list(message.string)
            if message.pluralizable
            else [message.string]
        )
        if message is None or message.fuzzy or not all(strings):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, f"{len(missing)} untranslated in {language}:\n" + "\n".join(missing[:40])


def test_translations_keep_their_placeholders(catalogue):
    language, messages = catalogue
    broken = []
    for message in messages:
        if not message.id:
            continue
        ids = message.id if message.pluralizable else (message.id,)
        strings = message.string if message.pluralizable else (message.string,)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            if string and set(PLACEHOLDER.findall(string)) - wanted:
                broken.append(f"{message.id!r} -> {string!r}")
            if string and not message.pluralizable and set(PLACEHOLDER.findall(string)) != wanted:
                broken.append(f"{message.id!r} -> {string!r}")
    assert not broken, f"placeholders changed in {language}:\n" + "\n".join(broken[:20])


def test_compiled_catalogues_are_current(catalogue):
    """``make`` compiles each ``messages.po`` to the ``messages.mo`` Flask-Babel reads."""
    language, _messages = catalogue
    folder = PACKAGE / "translations" / language / "LC_MESSAGES"
    compiled = folder / "messages.mo"
    assert compiled.exists(), f"run `make translations`: no {compiled}"
    assert compiled.stat().st_mtime >= (folder / "messages.po").stat().st_mtime
