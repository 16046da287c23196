"""Reading vtiger templates from files: EMAIL Maker / PDF Maker XML exports, ``.html``, zips.

Exports (``parse_export``) are XML as PDF Maker and EMAIL Maker write them::

    <?xml version='1.0'?>
    <export>
      <template>
        <type>PDFMaker</type>                        (EMAILMaker: an e-mail template)
        <templatename><![CDATA[Invoice]]></templatename>   (or <name>)
        <subject>…</subject>                         (EMAIL Maker)
        <description>…</description>
        <module>Invoice</module>     (Contacts, Accounts, Invoice, Quotes, SalesOrder, …)
        <settings>                                   (PDF Maker)
          <format>A4</format><orientation>portrait</orientation>
          <margins><top>2</top><bottom>2</bottom><left>1.5</left><right>1.5</right></margins>
          <decimals><point>,</point><decimals>2</decimals><thousands>.</thousands></decimals>
        </settings>
        <header>…</header><body>…</body><footer>…</footer>
      </template>
      …
    </export>

Any root element is accepted; every element named ``template`` (or
``emailtemplate``) is one template, tag names are matched case-insensitively.
Text may be CDATA or escaped; the makers' own CDATA escape (``<|!|[%|CDATA|[%|``
and ``|%]|]|>``) is undone; a body with ``encoding="base64"`` (or one that is
plainly base64-encoded HTML) is decoded; a body holding only entity-escaped
HTML (``&lt;p&gt;``) is unescaped. Files with a DOCTYPE or ENTITY declaration
are refused outright (no entity expansion, no external entities). A zip may
hold many exports and ``.html`` templates (bounded in count and size).
"""

import base64
import binascii
import codecs
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET

from designer.templating import vtiger_fields
from designer.templating.compiler import TemplateInvalid
from designer.templating.vtiger_convert import TOKEN

#: Largest export file read, in bytes.
MAX_EXPORT_BYTES = 20 * 1024 * 1024
#: Most files and most uncompressed bytes a zip of templates may hold.
MAX_ZIP_ENTRIES = 500
MAX_ZIP_BYTES = 100 * 1024 * 1024
_FORBIDDEN_XML = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml\b[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
#: Encodings an export may declare (others could hide a DOCTYPE from the check).
XML_ENCODINGS = {
    "utf-8",
    "utf8",
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "latin-1",
    "latin1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
}
_MAKER_CDATA = (("<|!|[%|CDATA|[%|", "<![CDATA["), ("|%]|]|>", "]]>"))
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")


@dataclass(frozen=True)
class VtigerTemplate:
    """One template read from a file; ``module`` is ours, ``vtiger_module`` vtiger's."""

    name: str
    subject: str
    body: str
    module: str
    description: str = ""
    kind: str = "email"
    header: str = ""
    footer: str = ""
    vtiger_module: str = ""
    settings: dict = field(default_factory=dict, hash=False, compare=False)
    source: str = ""


def parse_export(path_or_bytes, source=""):
    """Read a PDF Maker / EMAIL Maker XML export (a path or its bytes) into ``VtigerTemplate``s."""
    text = _xml_text(_read_bytes(path_or_bytes))
    if _FORBIDDEN_XML.search(text):
        raise TemplateInvalid(
            "the XML file declares a DOCTYPE or ENTITY, which is refused "
            "(exports do not need them and they can expand without bound)"
        )
    try:
        # defusedxml refuses entity declarations and external references itself too.
        root = DefusedET.fromstring(_XML_DECLARATION.sub("", text, count=1))
    except DefusedXmlException as exc:
        raise TemplateInvalid(f"the XML file is refused: {exc}") from exc
    except ElementTree.ParseError as exc:
        raise TemplateInvalid(f"the export is not well-formed XML: {exc}") from exc
    elements = [el for el in root.iter() if _tag(el) in ("template", "emailtemplate")]
    templates = [_template_of(el, number, source) for number, el in enumerate(elements, start=1)]
    if not templates:
        raise TemplateInvalid("the export holds no <template> elements")
    return templates


def _read_bytes(path_or_bytes):
    if isinstance(path_or_bytes, bytes | bytearray):
        raw = bytes(path_or_bytes)
    else:
        path = Path(path_or_bytes)
        try:
            if path.stat().st_size > MAX_EXPORT_BYTES:
                raise TemplateInvalid(
                    f"{path.name} is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB"
                )
            raw = path.read_bytes()
        except OSError as exc:
            raise TemplateInvalid(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_EXPORT_BYTES:
        raise TemplateInvalid(f"the export is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB")
    return raw


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


def _xml_text(raw):
    """The export as text, decoded by its byte-order mark or declared encoding."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    if encoding is None:
        declared = _DECLARED_ENCODING.match(raw)
        encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
        if encoding not in XML_ENCODINGS:
            raise TemplateInvalid(
                f"the export is encoded as {encoding}; save it as UTF-8 and import it again"
            )
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TemplateInvalid(f"the export is not valid {encoding} text: {exc}") from exc


def _tag(element):
    return element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""


def _child(element, *names):
    for name in names:
        for child in element:
            if _tag(child) == name:
                return child
    return None


def _text(element, *names):
    child = _child(element, *names)
    if child is None:
        return ""
    text = child.text or ""
    for encoded, plain in _MAKER_CDATA:
        text = text.replace(encoded, plain)
    return text


def _template_of(element, number, source=""):
    kind = "pdf" if _text(element, "type").strip().lower() == "pdfmaker" else "email"
    body = _decode_body(
        _child(element, "body", "templatebody", "content"),
        _text(element, "body", "templatebody", "content"),
    )
    vtiger_module = _text(element, "module", "modulename").strip()
    name = " ".join(_text(element, "templatename", "name", "title").split())
    return VtigerTemplate(
        name=name or f"vtiger template {number}",
        subject=" ".join(_text(element, "subject").split()),
        body=body,
        module=module_for(vtiger_module, body),
        description=_text(element, "description").strip(),
        kind=kind,
        header=_text(element, "header").strip() if kind == "pdf" else "",
        footer=_text(element, "footer").strip() if kind == "pdf" else "",
        vtiger_module=vtiger_module,
        settings=_settings(_child(element, "settings")),
        source=source,
    )


def _settings(element):
    """PDF Maker's page and number settings: format, orientation, margins (cm), decimals."""
    if element is None:
        return {}
    found = {
        "format": _text(element, "format").strip(),
        "orientation": _text(element, "orientation").strip().lower(),
    }
    margins = _child(element, "margins")
    if margins is not None:
        for side in ("top", "bottom", "left", "right"):
            found[f"margin_{side}"] = _text(margins, side).strip()
    decimals = _child(element, "decimals")
    if decimals is not None:
        found["decimal_point"] = _text(decimals, "point")
        found["decimals"] = _text(decimals, "decimals").strip()
        found["thousands"] = _text(decimals, "thousands")
    return {key: value for key, value in found.items() if value != ""}


def _decode_body(element, text):
    declared = element is not None and element.get("encoding", "").lower() == "base64"
    stripped = text.strip()
    if declared or (stripped and "<" not in stripped and _BASE64.fullmatch(stripped)):
        try:
            decoded = base64.b64decode("".join(stripped.split()), validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            if declared:
                raise TemplateInvalid(f"a template body is not valid base64: {exc}") from exc
        else:
            if declared or "<" in decoded:
                text = decoded
    if "<" not in text and "&lt;" in text:
        text = html.unescape(text)
    return text


def module_for(vtiger_module, text):
    """Our module for a template made for ``vtiger_module`` (guessed from ``text`` when unset)."""
    return vtiger_fields.MODULES.get(vtiger_module.strip().lower()) or guess_module(text)


_GUESSES = (
    (("invoice", "salesorder", "purchaseorder"), "invoice"),
    (("quotes",), "quote"),
    (("contacts", "leads"), "contact"),
    (("accounts",), "organisation"),
)


def guess_vtiger_module(text):
    """The vtiger module a template's variables name most plainly ("" when none)."""
    used = set()
    for found in TOKEN.finditer(text or ""):
        token = found.group(0)
        if token in ("#PRODUCTBLOC_START#", "#INVENTORY_BLOCK_START#", "#VATBLOCK_START#"):
            used.add("invoice")
        if found["variable"]:
            name = token.strip("$").lower()
            for prefix in ("s-", "r-", "r_"):
                name = name.removeprefix(prefix)
            used.add(re.split(r"[-_:]", name, maxsplit=1)[0])
    for modules, _ours in _GUESSES:
        for module in modules:
            if module in used:
                return module
    return ""


def guess_module(text):
    """Our module for a template by the vtiger variables it uses; ``contact`` by default."""
    vtiger = guess_vtiger_module(text)
    return vtiger_fields.MODULES.get(vtiger, "contact")


def read_html(raw, filename, *, name=None, kind="email"):
    """One vtiger ``.html`` template (its ``<title>`` is the subject)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    found = re.search(r"<title>(.*?)</title>", text, re.DOTALL | re.IGNORECASE)
    subject = " ".join(html.unescape(found.group(1)).split()) if found else ""
    stem = PurePosixPath(filename).stem
    vtiger = guess_vtiger_module(text)
    return VtigerTemplate(
        name=name or stem.replace("-", " ").replace("_", " ").title(),
        subject=subject if kind == "email" else "",
        body=text,
        module=module_for(vtiger, text),
        kind=kind,
        vtiger_module=vtiger,
        source=filename,
    )


def read_templates(path, *, name=None, kind="email"):
    """The vtiger templates in the file at ``path``: ``.xml``, ``.html`` or a ``.zip`` of them."""
    path = Path(path)
    suffix = path.suffix.lower()
    raw = _read_bytes(path)
    if suffix == ".xml":
        return parse_export(raw, source=path.name)
    if suffix in (".html", ".htm"):
        return [read_html(raw, path.name, name=name, kind=kind)]
    if suffix == ".zip":
        return read_zip(raw, kind=kind)
    raise TemplateInvalid(
        f"cannot import {path.name}: expected a vtiger .xml export, an .html template or a .zip"
    )


def read_zip(raw, *, kind="email"):
    """Every ``.xml`` export and ``.html`` template in a zip (folders and other files skipped)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise TemplateInvalid(f"the file is not a valid zip: {exc}") from exc
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_ZIP_ENTRIES:
        raise TemplateInvalid(f"the zip holds more than {MAX_ZIP_ENTRIES} files")
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise TemplateInvalid(f"the zip unpacks to more than {MAX_ZIP_BYTES // 2**20} MB")
    found = []
    for member in sorted(members, key=lambda m: m.filename):
        path = PurePosixPath(member.filename)
        if "__MACOSX" in path.parts or path.name.startswith("."):
            continue
        suffix = path.suffix.lower()
        if suffix not in (".xml", ".html", ".htm"):
            continue
        if member.file_size > MAX_EXPORT_BYTES:
            raise TemplateInvalid(f"{member.filename} is larger than 20 MB")
        data = archive.read(member)
        try:
            if suffix == ".xml":
                found.extend(parse_export(data, source=member.filename))
            else:
                found.append(read_html(data, member.filename, kind=kind))
        except TemplateInvalid as exc:
            raise TemplateInvalid(f"{member.filename}: {exc.message}", exc.line) from exc
    if not found:
        raise TemplateInvalid("the zip holds no .xml exports or .html templates")
    return found
