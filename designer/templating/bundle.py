"""Template bundles: templates and the assets they use, as one zip, between installations.

A bundle holds ``manifest.json``, each template's current source and every
stored asset a source references by its URL path (``/assets/<id>/<filename>``)::

    manifest.json
    templates/1/source.mjml
    templates/2/source.html
    assets/<sha256>/<filename>

The manifest::

    {"format": "designer-templates", "version": 1, "templates": [
      {"name": ..., "kind": "email", "source_type": "mjml", "module": "contact",
       "language": "en", "description": ..., "tracking": true, "purpose": "marketing",
       "subject": ...,
       "preheader": ..., "text_override": ...,
       "source": "templates/1/source.mjml",
       "assets": [{"id": 7, "filename": "logo.png", "content_type": "image/png",
                   "path": "assets/<sha256>/logo.png"}]}]}

Importing checks the zip before anything is stored (entry count, total size,
no absolute or ``..`` names, a valid manifest, every template compiling), then
stores the assets (deduplicated by content), points each source's asset URLs
at the new ids and creates the templates. Only the current version of each
template travels; language-variant links do not.
"""

import hashlib
import io
import json
import re
import zipfile
from pathlib import PurePosixPath
from urllib.parse import quote, unquote

from designer.assets import (
    ALLOWED_TYPES,
    MAX_ASSET_BYTES,
    Asset,
    AssetRejected,
    get_asset,
    store_asset,
)
from designer.extensions import db
from designer.templating.catalogue import MODULES
from designer.templating.compiler import (
    TemplateInvalid,
    check_syntax,
    compile_source,
    normalise_newlines,
)
from designer.templating.models import KINDS, PURPOSES, SOURCE_TYPES
from designer.templating.versions import create_template

FORMAT = "designer-templates"
VERSION = 1
MANIFEST = "manifest.json"
#: Most entries and most uncompressed bytes a bundle may have.
MAX_ENTRIES = 200
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
#: An asset reference in a source: ``/assets/<id>/<filename>``.
ASSET_URL = re.compile(r"/assets/(?P<id>\d+)/(?P<name>[^\s\"'<>()?#\\{}]+)")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def export_bundle(templates):
    """A zip (bytes) of ``templates``' current versions and the stored assets they use."""
    buffer = io.BytesIO()
    entries, written = [], set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, template in enumerate(templates, start=1):
            version = template.current
            if version is None:
                raise TemplateInvalid(f"{template.name} has no saved version to export")
            source_path = f"templates/{number}/source.{template.source_type}"
            archive.writestr(source_path, version.source)
            assets = []
            for asset in _referenced_assets(version.source):
                path = f"assets/{asset.sha256}/{_zip_name(asset.filename)}"
                if path not in written:
                    archive.writestr(path, asset.data)
                    written.add(path)
                assets.append(
                    {
                        "id": asset.id,
                        "filename": asset.filename,
                        "content_type": asset.content_type,
                        "path": path,
                    }
                )
            entries.append(
                {
                    "name": template.name,
                    "kind": template.kind,
                    "source_type": template.source_type,
                    "module": template.module,
                    "language": template.language,
                    "description": template.description or "",
                    "tracking": bool(template.tracking),
                    "purpose": template.purpose,
                    "subject": version.subject or "",
                    "preheader": version.preheader or "",
                    "text_override": version.text_override or "",
                    "source": source_path,
                    "assets": assets,
                }
            )
        manifest = {"format": FORMAT, "version": VERSION, "templates": entries}
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    return buffer.getvalue()


def _referenced_assets(source):
    """Stored assets ``source`` references, once each, in order of first use."""
    found = {}
    for match in ASSET_URL.finditer(source or ""):
        asset_id = int(match["id"])
        if asset_id in found:
            continue
        asset = get_asset(asset_id)
        if asset is not None and unquote(match["name"]) == asset.filename:
            found[asset_id] = asset
    return list(found.values())


def _zip_name(filename):
    name = re.sub(r"[/\\\x00-\x1f\x7f]", "_", filename).strip() or "asset"
    return "_" + name if name in (".", "..") else name


def import_bundle(data, user=None):
    """Create the templates of a bundle (bytes); return them. All or nothing.

    Raises ``TemplateInvalid`` naming the problem when the zip, its manifest,
    an asset or any template is invalid; nothing is stored then.
    """
    archive = _open(data)
    with archive:
        members = _check_members(archive)
        manifest = _manifest(archive, members)
        prepared = [
            _prepare(archive, members, entry, number)
            for number, entry in enumerate(manifest["templates"], start=1)
        ]
    return _create(prepared, user)


def _open(data):
    if not isinstance(data, bytes | bytearray):
        raise TemplateInvalid("a bundle is given as the bytes of a zip file")
    if len(data) > MAX_UNCOMPRESSED_BYTES:
        raise TemplateInvalid(
            f"the bundle is larger than {MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB"
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise TemplateInvalid(f"the bundle is not a readable zip file: {exc}") from exc


def _check_members(archive):
    """Entry names and sizes, before anything is read; return {name: ZipInfo}."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise TemplateInvalid(
            f"the bundle has {len(infos)} entries; at most {MAX_ENTRIES} are accepted"
        )
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise TemplateInvalid(
            f"the bundle unpacks to more than {MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB"
        )
    members = {}
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            raise TemplateInvalid(
                f"the bundle entry {name!r} has an absolute path or '..'; refused"
            )
        if name in members:
            raise TemplateInvalid(f"the bundle has the entry {name!r} twice")
        if info.flag_bits & 0x1:
            raise TemplateInvalid(f"the bundle entry {name!r} is encrypted")
        members[name] = info
    return members


def _unsafe_name(name):
    normal = name.replace("\\", "/")
    return (
        not name
        or normal.startswith("/")
        or bool(_DRIVE.match(normal))
        or ".." in PurePosixPath(normal).parts
        or bool(_CONTROL.search(name))
    )


def _read(archive, members, name, what):
    info = members.get(name) if isinstance(name, str) else None
    if info is None or info.is_dir():
        raise TemplateInvalid(f"{what}: the bundle has no entry {name!r}")
    try:
        with archive.open(info) as handle:
            content = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
        raise TemplateInvalid(f"{what}: cannot unpack {name!r}: {exc}") from exc
    if len(content) != info.file_size:
        raise TemplateInvalid(f"{what}: the entry {name!r} is damaged")
    return content


def _manifest(archive, members):
    if MANIFEST not in members:
        raise TemplateInvalid("the bundle has no manifest.json: is it a template bundle?")
    try:
        manifest = json.loads(_read(archive, members, MANIFEST, "manifest").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TemplateInvalid(f"manifest.json is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise TemplateInvalid("manifest.json does not describe a designer template bundle")
    version = manifest.get("version")
    if version != VERSION:
        raise TemplateInvalid(
            f"bundle format version {version!r} is not supported "
            f"(this installation reads version {VERSION})"
        )
    templates = manifest.get("templates")
    if not isinstance(templates, list) or not templates:
        raise TemplateInvalid("manifest.json lists no templates")
    if not all(isinstance(entry, dict) for entry in templates):
        raise TemplateInvalid("manifest.json: every template must be an object")
    return manifest


def _text(entry, key, what, default=""):
    value = entry.get(key, default)
    if not isinstance(value, str):
        raise TemplateInvalid(f"{what}: {key} must be text")
    return value


def _choice(entry, key, choices, default, what):
    value = entry.get(key, default)
    if value not in choices:
        raise TemplateInvalid(f"{what}: {key} {value!r} is not one of {', '.join(choices)}")
    return value


def _prepare(archive, members, entry, number):
    """Read, check and compile one template of the manifest; store nothing."""
    name = " ".join(_text(entry, "name", f"template {number}").split())
    what = f"template {number} ({name})" if name else f"template {number}"
    if not name:
        raise TemplateInvalid(f"{what}: the template needs a name")
    source_type = _choice(entry, "source_type", SOURCE_TYPES, None, what)
    kind = _choice(entry, "kind", KINDS, "email", what)
    module = _choice(entry, "module", MODULES, "contact", what)
    purpose = _choice(entry, "purpose", PURPOSES, "marketing", what)
    tracking = entry.get("tracking", True)
    if not isinstance(tracking, bool):
        raise TemplateInvalid(f"{what}: tracking must be true or false")
    try:
        source = _read(archive, members, entry.get("source"), what).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateInvalid(f"{what}: the source is not UTF-8 text") from exc
    prepared = {
        "name": name,
        "kind": kind,
        "source_type": source_type,
        "module": module,
        "language": _text(entry, "language", what, "en").strip() or "en",
        "description": _text(entry, "description", what),
        "tracking": tracking,
        "purpose": purpose,
        "subject": _text(entry, "subject", what),
        "preheader": _text(entry, "preheader", what),
        "text_override": _text(entry, "text_override", what),
        "source": source,
        "assets": _assets(archive, members, entry.get("assets", []), what),
    }
    try:
        compile_source(source_type, source, kind)
        check_syntax(prepared["subject"], "subject")
        check_syntax(prepared["preheader"], "preheader")
        check_syntax(prepared["text_override"], "text part")
    except TemplateInvalid as exc:
        raise TemplateInvalid(f"{what}: {exc.message}", exc.line) from exc
    return prepared


def _assets(archive, members, entries, what):
    if not isinstance(entries, list):
        raise TemplateInvalid(f"{what}: assets must be a list")
    assets = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise TemplateInvalid(f"{what}: every asset must be an object")
        old_id = entry.get("id")
        filename = entry.get("filename")
        content_type = entry.get("content_type")
        if not isinstance(old_id, int) or isinstance(old_id, bool):
            raise TemplateInvalid(f"{what}: an asset has no numeric id")
        if (
            not isinstance(filename, str)
            or not filename
            or len(filename) > 255
            or "/" in filename
            or "\\" in filename
            or _CONTROL.search(filename)
        ):
            raise TemplateInvalid(f"{what}: asset {old_id} has an unusable file name")
        if content_type not in ALLOWED_TYPES:
            raise TemplateInvalid(
                f"{what}: {filename}: files of type {content_type} are not accepted"
            )
        content = _read(archive, members, entry.get("path"), f"{what}: asset {filename}")
        if len(content) > MAX_ASSET_BYTES:
            raise TemplateInvalid(
                f"{what}: {filename} is larger than {MAX_ASSET_BYTES // (1024 * 1024)} MB"
            )
        digest = entry["path"].split("/")[1] if entry["path"].count("/") == 2 else ""
        if _SHA256.fullmatch(digest) and hashlib.sha256(content).hexdigest() != digest:
            raise TemplateInvalid(f"{what}: {filename} does not match its checksum")
        assets.append(
            {"id": old_id, "filename": filename, "content_type": content_type, "data": content}
        )
    return assets


def _create(prepared, user):
    """Store the assets, rewrite the sources and create the templates; undo on failure."""
    created, new_assets = [], []
    try:
        for item in prepared:
            moved = {}
            for asset in item["assets"]:
                existed = _existing_asset_id(asset["data"])
                stored = store_asset(asset["filename"], asset["content_type"], asset["data"])
                if existed is None:
                    new_assets.append(stored)
                moved[asset["id"]] = (asset["filename"], stored)
            source = rewrite_asset_urls(item["source"], moved)
            template = create_template(
                item["name"],
                source,
                source_type=item["source_type"],
                subject=item["subject"],
                module=item["module"],
                language=item["language"],
                kind=item["kind"],
                user=user,
                purpose=item["purpose"],
            )
            created.append(template)
            template.description = item["description"]
            template.tracking = item["tracking"]
            template.current.preheader = item["preheader"]
            text_override = normalise_newlines(item["text_override"]).strip()
            template.current.text_override = text_override + "\n" if text_override else ""
            db.session.commit()
    except (TemplateInvalid, AssetRejected) as exc:
        _undo(created, new_assets)
        raise TemplateInvalid(f"{item['name']}: {exc}") from exc
    except Exception:
        _undo(created, new_assets)
        raise
    return created


def _existing_asset_id(content):
    digest = hashlib.sha256(content).hexdigest()
    return db.session.scalar(db.select(Asset.id).where(Asset.sha256 == digest))


def rewrite_asset_urls(source, moved):
    """Point asset URLs at their new ids in one pass.

    ``moved`` maps an old id to ``(old filename, new Asset)``; a URL is
    rewritten only when its id and file name both match.
    """

    def replace(match):
        old_filename, asset = moved.get(int(match["id"]), (None, None))
        if asset is None or unquote(match["name"]) != old_filename:
            return match.group(0)
        return f"/assets/{asset.id}/{quote(asset.filename)}"

    return ASSET_URL.sub(replace, source)


def _undo(templates, assets):
    db.session.rollback()
    for template in templates:
        for version in list(template.versions):
            db.session.delete(version)
        db.session.delete(template)
    for asset in assets:
        db.session.delete(asset)
    db.session.commit()
