"""The arrows between parts point one way: an import graph of ``designer/`` (function-level
imports included) must keep to the table below.

Layers, bottom up:

- **core** (``designer/<module>.py`` below): extensions, configuration, keys, queues, the
  clock, child processes. Imports no part.
- **parts**: each may import core and the parts ``ALLOWED`` names, through their
  public modules; never ``workers``, the app (factory, CLI, serving) or any part's pages.
- **pages** (the web layer and the command line): every ``views.py``, ``*_views.py``,
  ``pages.py`` and ``commands.py`` module, and the REST API (``designer/api``). A page
  may combine any parts' public functions and use the app's error pages; nothing
  below imports a page.
- **the app** (``designer/__init__``, CLI, serving, error pages): may import anything.

``workers`` sits beside the app: jobs call parts' functions; parts name jobs only
through ``designer.broker``.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGNER = ROOT / "designer"

CORE = {
    "broker",
    "clock",
    "config",
    "crypto",
    "csvexport",
    "embedded",
    "extensions",
    "i18n",
    "instance",
    "isolation",
    "js_strings",
    "keyset",
    "memo",
    "netguard",
    "networks",
    "processes",
    "request_limits",
    "signing",
    "threads",
}
APP = {
    "__init__",
    "__main__",
    "cli",
    "commands",
    "serve",
    "wsgi",
    "health",
    "errors",
    "security",
    "proxies",
    "navigation",
    "demo",
}

#: Which parts each part may import (besides core). Read it as "records is the ground
#: floor; templating and pdf use records; mail uses templating and pdf; tracking,
#: campaigns and workflows use mail; the CRM connection sits on top". Outbound webhooks
#: sit low so that every part that has news (sent, opened, unsubscribed…) can emit it.
ALLOWED = {
    "records": set(),
    "assets": set(),
    "webhooks": {"records", "settings"},
    "settings": {"assets"},
    "templating": {"records", "settings", "assets"},
    "pdf": {"templating", "records", "settings", "assets"},
    "mail": {"pdf", "templating", "records", "settings", "assets", "webhooks"},
    "tracking": {"mail", "templating", "records", "settings", "webhooks"},
    "campaigns": {"mail", "tracking", "templating", "records", "settings", "webhooks"},
    "workflows": {"mail", "pdf", "templating", "records", "settings", "webhooks"},
    "auth": {"mail", "templating", "records", "settings"},
    "crm": {"workflows", "tracking", "mail", "templating", "records", "settings", "webhooks"},
}


def layer(module):
    """``("core"|"app"|"page"|"part"|"workers"|None, part name)`` of a dotted module name."""
    bits = module.split(".")
    if bits[0] == "workers":
        return "workers", None
    if bits[0] != "designer":
        return None, None
    if len(bits) == 1 or bits[1] in APP:
        return "app", None
    if bits[1] == "api":
        return "page", None
    if bits[1] in CORE:
        return "core", None
    if bits[1] in ALLOWED:
        if bits[-1] in ("views", "pages", "commands") or bits[-1].endswith("_views"):
            return "page", bits[1]
        return "part", bits[1]
    return "unknown", bits[1]


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """``(line, imported module)`` for every import in a file, nested ones included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # ``from designer import mail``
                yield node.lineno, f"{node.module}.{alias.name}"


def violation(source, target):
    """Why ``source`` may not import ``target``, or None."""
    (kind, part), (target_kind, target_part) = layer(source), layer(target)
    if target_kind is None or target == "designer" or kind in ("app", "workers", None):
        return None
    if kind == "page":
        return "pages never import workers" if target_kind == "workers" else None
    if kind == "unknown" or target_kind == "unknown":
        return "unknown module: add it to a layer in this test"
    if target_kind in ("app", "workers"):
        return f"{kind}s never import {target_kind}"
    if target_kind == "page" and kind != "page":
        return "nothing but a page imports a page"
    if kind == "core" and target_kind == "part":
        return "core imports no part"
    if (
        kind == "part"
        and target_kind == "part"
        and target_part != part
        and target_part not in ALLOWED[part]
    ):
        return f"{part} may not import {target_part}"
    return None


def test_imports_keep_to_the_allowed_arrows():
    found = []
    for path in sorted(DESIGNER.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = module_name(path)
        for line, target in imports(path):
            why = violation(source, target)
            if why:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}: {why}")
    assert not found, "\n".join(sorted(set(found)))


def test_the_table_itself_points_one_way():
    """No two parts may import each other, even through others."""

    def reachable(part, seen=()):
        for other in ALLOWED[part]:
            if other not in seen:
                yield other
                yield from reachable(other, (*seen, other))

    for part in ALLOWED:
        assert part not in set(reachable(part)), f"{part} can reach itself"


def test_the_checker_catches_what_it_should():
    assert violation("designer.mail.delivery", "designer.campaigns.lifecycle")
    assert violation("designer.records.models", "designer.mail")
    assert violation("designer.pdf.exports", "workers.queues")
    assert violation("designer.mail.ledger", "designer.records.views")
    assert violation("designer.signing", "designer.mail")
    assert not violation("designer.campaigns.lifecycle", "designer.mail.ledger")
    assert not violation("designer.records.views", "designer.mail")
    assert not violation("designer.api.messages", "designer.tracking")
