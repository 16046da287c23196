"""Share of vtiger / EMAIL Maker / PDF Maker tokens converted, and that none is silent.

Reads every template of the corpus (``bench/migration_corpus`` and the vtiger
fixtures of the tests: PDF Maker exports with product, inventory and tax
blocks, EMAIL Maker exports, vtiger core ``.html``; all written for this
project), converts each as ``designer template import`` would and counts the
tokens. A token is *silent* when the converted template still holds it but
the report does not name it (as not converted, or inside a token that is).

    python bench/migration.py [--verbose]

Last line: ``RESULT templates=<n> tokens=<n> converted_share=<s> silent=<n>``.
"""

import argparse
from pathlib import Path

from designer.templating.vtiger import migrate
from designer.templating.vtiger_convert import leftovers
from designer.templating.vtiger_export import read_templates

ROOT = Path(__file__).resolve().parent.parent
CORPUS = (ROOT / "bench" / "migration_corpus", ROOT / "tests" / "fixtures" / "vtiger")
SUFFIXES = (".xml", ".html", ".htm", ".zip")


def corpus_files():
    return sorted(p for folder in CORPUS for p in folder.iterdir() if p.suffix in SUFFIXES)


def silent_tokens(migration):
    """Tokens left in the converted template that its report does not name."""
    reported = [entry.token for entry in migration.report.unconverted]
    left = leftovers(migration.source) + leftovers(migration.subject)
    return [token for token, _ in left if not any(token in named for named in reported)]


def measure(verbose=False):
    templates = tokens = converted = silent = 0
    for path in corpus_files():
        kind = "pdf" if "invoice" in path.name and path.suffix == ".html" else "email"
        for template in read_templates(path, kind=kind):
            migration = migrate(template)
            report = migration.report
            templates += 1
            tokens += len(report.entries)
            converted += len(report.converted)
            quiet = silent_tokens(migration)
            silent += len(quiet)
            if verbose:
                print(
                    f"{path.name}: {template.name}: {len(report.converted)}/"
                    f"{len(report.entries)} converted, silent {quiet}"
                )
    return templates, tokens, converted, silent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="one line per template")
    args = parser.parse_args()
    templates, tokens, converted, silent = measure(args.verbose)
    share = converted / tokens if tokens else 0.0
    print(
        f"RESULT templates={templates} tokens={tokens} converted_share={share:.3f} silent={silent}"
    )


if __name__ == "__main__":
    main()
